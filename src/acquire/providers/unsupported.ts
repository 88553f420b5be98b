// Platforms Kindling names but cannot serve, with the reason, rather than a silent empty config:
//  - virtualbox: the guest property /Ignition/Config is read through the vboxguest driver's ioctl
//    interface (VbglR3), which needs native code.
import { KindlingError } from '../../errors.js';
import type { Provider } from './types.js';

function unsupported(name: string, why: string): Provider {
  return {
    name,
    source: `not supported: ${why}`,
    network: false,
    async fetch() {
      throw new KindlingError('platform', `the ${name} platform is not supported by Kindling yet: ${why}`);
    },
  };
}

export const virtualbox = unsupported('virtualbox', 'reading the guest property /Ignition/Config needs the vboxguest ioctl interface');
