// Provisioning a sparse disk image: create it with Flatcar's layout when missing, attach it to a
// loop device, then run disks, mount, files and umount exactly as the initrd would.
import { KindlingError } from '../errors.js';
import type { LoadedConfig } from './load-config.js';

export async function applyToImage(_loaded: LoadedConfig, _image: string, _size: string | undefined, _json: boolean): Promise<number> {
  throw new KindlingError('usage', 'kindling apply --image is not implemented yet');
}
