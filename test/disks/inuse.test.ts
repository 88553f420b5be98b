// Partitions and disks in use are not touched: a mounted partition (btrfs, whose mountinfo device
// number is anonymous, so the mount source must be matched too), an active swap partition and a
// mounted whole disk. Each refusal comes from plan(), names the JSON pointer, and nothing is
// written (the table's bytes are hashed before and after). An unrelated partition on the same
// disk can still be created, as Ignition allows.
import { describe, it, expect, afterAll } from 'vitest';
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { disksStage } from '../../stages/disks/index.js';
import { localContext } from '../../src/engine/context.js';
import { parseConfig } from '../../src/config/index.js';
import { writeGptFd } from '../../src/disk/gpt.js';
import { diskUsage, inUse } from '../../src/disk/inuse.js';
import { LoopLab, partNode, sfdiskJson, sgdiskVerify, sh } from './loopdisk.js';

const lab = new LoopLab('kindling-inuse-');
const swaps: string[] = [];
afterAll(() => {
  for (const s of swaps) spawnSync('swapoff', [s]);
  lab.cleanup();
});

const MiB = 1024 * 1024;
const DATA = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';

/** 512 MiB: p1 btrfs (160 MiB), p2 32 MiB, the rest free. */
function disk(tag: string): string {
  const img = lab.image(`${tag}.img`, 512 * MiB);
  const fd = openSync(img, 'r+');
  writeGptFd(fd, 512, (512 * MiB) / 512, {
    diskGuid: '0B0E5B0E-0000-4000-8000-0000000000CC',
    partitions: [
      { number: 1, typeGuid: DATA, guid: '0B0E5B0E-0000-4000-8000-0000000000C1', startLba: 2048, endLba: 2048 + 327680 - 1, label: 'busy' },
      { number: 2, typeGuid: DATA, guid: '0B0E5B0E-0000-4000-8000-0000000000C2', startLba: 329728, endLba: 329728 + 65536 - 1, label: 'swap' },
    ],
  });
  closeSync(fd);
  return lab.attach(img);
}

/** sha256 of the primary and backup GPT areas (first and last 34 sectors). */
function tableHash(dev: string): string {
  const fd = openSync(dev, 'r');
  try {
    const total = Number(sh('blockdev', ['--getsize64', dev]).trim());
    const a = Buffer.alloc(34 * 512);
    const b = Buffer.alloc(34 * 512);
    readSync(fd, a, 0, a.length, 0);
    readSync(fd, b, 0, b.length, total - b.length);
    return createHash('sha256').update(a).update(b).digest('hex');
  } finally {
    closeSync(fd);
  }
}

async function plan(storage: unknown, dev: string): Promise<{ err?: { message: string; location?: { pointer: string } }; ops?: Array<{ kind: string }> }> {
  const ctx = localContext({ config: parseConfig(JSON.stringify({ ignition: { version: '3.4.0' }, storage })).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st'), candidateDisks: [dev], growRoot: false } });
  try {
    const p = await disksStage.plan(ctx);
    return { ops: p.ops };
  } catch (e) {
    return { err: e as { message: string; location?: { pointer: string } } };
  }
}

describe('in-use partitions and disks', () => {
  it('refuses to delete, resize, recreate or wipe a mounted partition and to wipe the table; creates an unrelated partition', async () => {
    const dev = disk('busy');
    const p1 = partNode(dev, 1);
    sh('mkfs.btrfs', ['-q', '-f', '-L', 'busy', p1]);
    lab.mount(p1, join(lab.dir, 'mnt'), 'btrfs');
    sh('sh', ['-c', `echo keep > ${join(lab.dir, 'mnt', 'data')}`]);
    const use = diskUsage(dev)!;
    expect(inUse(use.partitions.get(1))).toBe(true);
    expect(inUse(use.partitions.get(2))).toBe(false);
    const before = tableHash(dev);

    const cases: Array<[unknown, string, RegExp]> = [
      [{ disks: [{ device: dev, partitions: [{ number: 1, shouldExist: false, wipePartitionEntry: true }] }] }, '/storage/disks/0/partitions/0', /refusing to modify active partition 1 on .*mounted at .*mnt/],
      [{ disks: [{ device: dev, partitions: [{ number: 1, label: 'busy', sizeMiB: 100, resize: true }] }] }, '/storage/disks/0/partitions/0', /refusing to modify active partition 1/],
      [{ disks: [{ device: dev, partitions: [{ number: 1, label: 'other', wipePartitionEntry: true }] }] }, '/storage/disks/0/partitions/0', /refusing to modify active partition 1/],
      [{ disks: [{ device: dev, wipeTable: true, partitions: [{ number: 3, label: 'x' }] }] }, '/storage/disks/0/wipeTable', /refusing to wipe active disk/],
      [{ filesystems: [{ device: p1, format: 'ext4', wipeFilesystem: true }] }, '/storage/filesystems/0/device', /refusing to create a ext4 filesystem .* on active device .*mounted at/],
      [{ luks: [{ name: 'k-busy', device: p1, wipeVolume: true }] }, '/storage/luks/0/device', /refusing to format LUKS volume k-busy on active device/],
    ];
    for (const [storage, pointer, message] of cases) {
      const r = await plan(storage, dev);
      expect(r.err?.location?.pointer, JSON.stringify(storage)).toBe(pointer);
      expect(r.err?.message).toMatch(message);
    }
    expect(tableHash(dev)).toBe(before);

    // The btrfs filesystem is reused untouched when the config asks for what is there.
    const reuse = await plan({ filesystems: [{ device: p1, format: 'btrfs', label: 'busy' }] }, dev);
    expect(reuse.ops?.map((o) => o.kind)).toEqual(['filesystem.reuse']);

    // An unrelated partition in the free space: allowed, applied, the mounted one untouched.
    const storage = { disks: [{ device: dev, partitions: [{ number: 1, label: 'busy' }, { number: 3, label: 'new', sizeMiB: 64 }] }], filesystems: [{ device: partNode(dev, 3), format: 'ext4', label: 'NEW', wipeFilesystem: true }] };
    const ctx = localContext({ config: parseConfig(JSON.stringify({ ignition: { version: '3.4.0' }, storage })).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st'), candidateDisks: [dev], growRoot: false } });
    const p = await disksStage.plan(ctx);
    expect(p.ops.map((o) => o.kind)).toEqual(['partition.keep', 'partition.create', 'partition.commit', 'filesystem.create']);
    await disksStage.apply(ctx, p);
    const t = sfdiskJson(dev);
    expect(t.partitions.map((x) => [x.start, x.size, x.name])).toEqual([
      [2048, 327680, 'busy'],
      [329728, 65536, 'swap'],
      [395264, 131072, 'new'],
    ]);
    expect(sgdiskVerify(dev)).toMatch(/No problems found/);
    expect(sh('cat', [join(lab.dir, 'mnt', 'data')])).toBe('keep\n');
    expect(sh('blkid', ['-p', '-s', 'LABEL', '-o', 'value', partNode(dev, 3)]).trim()).toBe('NEW');
  }, 120_000);

  it('re-checks at apply: a partition mounted after the plan was made is not deleted', async () => {
    const dev = disk('late');
    const p2 = partNode(dev, 2);
    sh('mkfs.ext4', ['-q', '-F', p2]);
    const storage = { disks: [{ device: dev, partitions: [{ number: 2, shouldExist: false, wipePartitionEntry: true }] }] };
    const ctx = localContext({ config: parseConfig(JSON.stringify({ ignition: { version: '3.4.0' }, storage })).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st-late'), candidateDisks: [dev], growRoot: false } });
    const p = await disksStage.plan(ctx);
    expect(p.ops.map((o) => o.kind)).toEqual(['partition.delete', 'partition.commit']);
    lab.mount(p2, join(lab.dir, 'mnt-late'), 'ext4');
    const before = tableHash(dev);
    const err = await disksStage.apply(ctx, p).catch((e) => e);
    expect(err?.location?.pointer).toBe('/storage/disks/0');
    expect(String(err?.message)).toMatch(/refusing to modify active partition 2 .*mounted at .*mnt-late.*after the plan/);
    expect(tableHash(dev)).toBe(before);
  }, 60_000);

  it('refuses to touch an active swap partition', async () => {
    const dev = disk('swap');
    const p2 = partNode(dev, 2);
    sh('mkswap', ['-q', p2]);
    const on = spawnSync('swapon', [p2]);
    if (on.status !== 0) {
      // A kernel without swap support cannot have an active swap area to protect.
      expect(on.stderr.toString()).toMatch(/not supported|Invalid argument|Operation not permitted/);
      return;
    }
    swaps.push(p2);
    try {
      const before = tableHash(dev);
      const r = await plan({ disks: [{ device: dev, partitions: [{ number: 2, shouldExist: false, wipePartitionEntry: true }] }] }, dev);
      expect(r.err?.location?.pointer).toBe('/storage/disks/0/partitions/0');
      expect(r.err?.message).toMatch(/refusing to modify active partition 2 .*active swap/);
      const f = await plan({ filesystems: [{ device: p2, format: 'ext4', wipeFilesystem: true }] }, dev);
      expect(f.err?.location?.pointer).toBe('/storage/filesystems/0/device');
      expect(tableHash(dev)).toBe(before);
    } finally {
      spawnSync('swapoff', [p2]);
      swaps.splice(swaps.indexOf(p2), 1);
    }
  }, 60_000);

  it('refuses to operate on a directly active (mounted) disk', async () => {
    const img = lab.image('whole.img', 64 * MiB);
    const dev = lab.attach(img);
    sh('mkfs.ext4', ['-q', '-F', dev]);
    lab.mount(dev, join(lab.dir, 'whole'), 'ext4');
    const before = tableHash(dev);
    const r = await plan({ disks: [{ device: dev, partitions: [{ number: 1, label: 'x' }] }] }, dev);
    expect(r.err?.location?.pointer).toBe('/storage/disks/0');
    expect(r.err?.message).toMatch(/refusing to operate on directly active disk .*mounted at/);
    expect(tableHash(dev)).toBe(before);
  }, 60_000);
});
