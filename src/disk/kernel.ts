// Make the kernel's view of a disk's partitions match its GPT without udev or a reboot. sgdisk only
// asks for a full re-read (BLKRRPART), which fails as soon as any partition is in use and does not
// happen at all for loop devices; partx (BLKPG) changes single partitions. We compare what sysfs
// shows with the table on disk and add, delete or resize exactly the partitions that differ.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { run } from '../system/exec.js';
import { probeDisk, partitionDevicePath } from './probe.js';
import { udevSettle } from './resolve.js';

interface KernelPart {
  number: number;
  start: number;
  size: number;
}

function kernelPartitions(diskName: string): KernelPart[] {
  const dir = `/sys/class/block/${diskName}`;
  const out: KernelPart[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(realpathSync(dir));
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.startsWith(diskName)) continue;
    const base = `${dir}/${e}`;
    if (!existsSync(`${base}/partition`)) continue;
    const rd = (f: string): number => Number(readFileSync(`${base}/${f}`, 'utf8').trim());
    out.push({ number: rd('partition'), start: rd('start'), size: rd('size') });
  }
  return out;
}

/** Sync the kernel's partitions of `disk` (a block device) with its GPT; wait for the nodes. */
export async function syncKernelPartitions(disk: string, timeoutMs = 10_000): Promise<void> {
  const real = realpathSync(disk);
  const name = basename(real);
  const info = probeDisk(real);
  // sysfs start/size are in 512-byte units whatever the logical sector size.
  const factor = info.sectorSize / 512;
  const want = new Map((info.gpt?.partitions ?? []).map((p) => [p.number, { start: p.startLba * factor, size: p.sizeSectors * factor }]));
  const have = new Map(kernelPartitions(name).map((p) => [p.number, p]));
  for (const [n, k] of have) {
    const w = want.get(n);
    if (!w || w.start !== k.start) await run('partx', ['-d', '--nr', String(n), real]);
  }
  const add: number[] = [];
  for (const [n, w] of want) {
    const k = have.get(n);
    if (!k || k.start !== w.start) add.push(n);
    else if (k.size !== w.size) await run('partx', ['-u', '--nr', String(n), real]);
  }
  // Consecutive numbers in one call (partx --nr M:N): one process instead of one per partition.
  add.sort((a, b) => a - b);
  for (let i = 0; i < add.length; ) {
    let j = i;
    while (j + 1 < add.length && add[j + 1] === add[j]! + 1) j++;
    await run('partx', ['-a', '--nr', `${add[i]}:${add[j]}`, real]);
    i = j + 1;
  }
  await udevSettle();
  const deadline = Date.now() + timeoutMs;
  for (const n of want.keys()) {
    const node = partitionDevicePath(real, n);
    while (!existsSync(node)) {
      if (Date.now() > deadline) throw new Error(`device node ${node} did not appear within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Wait for a device node to exist (RAID and LUKS devices, partitions created by others). */
export async function waitForDevice(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`device ${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
