// Attach an image file to a loop device the way the disks stage needs it on a machine without
// udev: `losetup --find --show`, then `partx -a` so /dev/loopNpM exist at once. Detach removes
// the partition nodes first. Used by `kindling apply --image` and by tests and benchmarks.
import { existsSync } from 'node:fs';
import { run } from '../system/exec.js';
import { probeDisk, partitionDevicePath } from './probe.js';

export interface AttachedImage {
  image: string;
  device: string;
  detach(): Promise<void>;
}

export async function attachImage(image: string): Promise<AttachedImage> {
  let device = '';
  // --find races with concurrent attaches (EBUSY): retry a few times.
  for (let i = 0; ; i++) {
    const r = await run('losetup', ['--find', '--show', image], { allowFailure: true });
    if (r.exitCode === 0) {
      device = r.stdout.trim();
      break;
    }
    if (i >= 5) throw new Error(`losetup ${image}: ${r.stderr.trim()}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  try {
    const info = probeDisk(device);
    if (info.gpt?.partitions.length) {
      // Partitions a previous user of this loop device added (BLKPG) outlive its detach, and
      // `partx -a` would keep such a stale partition of another size in place: drop them all
      // first (the device is ours alone, just attached). Not `partx -u`: it stops at the second
      // gap in the numbering (Flatcar's layout has no partition 5).
      await run('partx', ['-d', device], { allowFailure: true });
      await run('partx', ['-a', device], { allowFailure: true });
      for (const p of info.gpt.partitions) {
        const node = partitionDevicePath(device, p.number);
        for (let t = 0; !existsSync(node) && t < 100; t++) await new Promise((res) => setTimeout(res, 50));
      }
    }
  } catch (e) {
    await run('losetup', ['-d', device], { allowFailure: true });
    throw e;
  }
  return {
    image,
    device,
    async detach() {
      await run('partx', ['-d', device], { allowFailure: true });
      await run('losetup', ['-d', device], { allowFailure: true });
    },
  };
}
