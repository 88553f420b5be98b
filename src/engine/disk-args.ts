// `--disk DEVICE=IMAGE_OR_SIZE`: which disk image (or which size of an imagined Flatcar disk)
// stands for a device the config names, e.g. --disk /dev/vda=node.img or --disk /dev/vda=16G.
import { KindlingError } from '../errors.js';

export interface DiskArg {
  device: string;
  image?: string;
  sizeBytes?: number;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "8G", "512M", "16GiB", "4096" (bytes) → bytes; undefined when the text is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
}

export function parseDiskArgs(args: readonly string[]): DiskArg[] {
  return args.map((a) => {
    const eq = a.indexOf('=');
    if (eq <= 0 || eq === a.length - 1) throw new KindlingError('usage', `--disk takes DEVICE=IMAGE_OR_SIZE, got "${a}"`);
    const device = a.slice(0, eq);
    const what = a.slice(eq + 1);
    const size = parseSize(what);
    return size !== undefined ? { device, sizeBytes: size } : { device, image: what };
  });
}
