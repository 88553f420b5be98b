// plan() without root and without loop devices: imagined Flatcar disks (what `kindling plan`
// shows without --disk), image files (--disk DEVICE=IMAGE), and Ignition's partition matrix on
// synthetic tables. Also: the plan is deterministic and JSON-serialisable.
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync, statSync, readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disksStage } from '../../stages/disks/index.js';
import { localContext } from '../../src/engine/context.js';
import { parseConfig } from '../../src/config/index.js';
import { KindlingError } from '../../src/errors.js';
import { createFlatcarImage, imaginedFlatcarDisk } from '../../src/disk/flatcar-layout.js';
import { planDiskTable } from '../../stages/disks/plan-partitions.js';
import type { DiskInfo } from '../../src/disk/probe.js';
import type { Disk } from '../../src/config/types.js';

const dir = mkdtempSync(join(tmpdir(), 'kindling-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ctxFor(text: string, options: Record<string, unknown>) {
  return localContext({ config: parseConfig(text).config, root: dir, options: { dryRun: true, stateDir: join(dir, 'state'), ...options } });
}

const flatcarNode = readFileSync('examples/flatcar-node.ign', 'utf8');

describe('dry-run plans', () => {
  it('a bigger disk: moves the backup GPT, resizes ROOT as configured, adds DATA in the rest, makes xfs, grows ROOT ext4', async () => {
    const plan = await disksStage.plan(ctxFor(flatcarNode, { disks: [{ device: '/dev/vda', sizeBytes: 16 * 1024 ** 3 }] }));
    const kinds = plan.ops.map((o) => `${o.kind} ${o.pointer}`);
    expect(kinds).toEqual([
      'disk.relocate-backup-gpt /storage/disks/0',
      'partition.resize /storage/disks/0/partitions/0',
      'partition.create /storage/disks/0/partitions/1',
      'partition.commit /storage/disks/0',
      'filesystem.create /storage/filesystems/0',
      'filesystem.grow ',
    ]);
    const commit = plan.ops.find((o) => o.kind === 'partition.commit')!.details as { expect: Array<{ number: number; start: number; size: number; label: string }> };
    const p9 = commit.expect.find((p) => p.number === 9)!;
    const p10 = commit.expect.find((p) => p.number === 10)!;
    expect(p9.size).toBe(6144 * 2048);
    expect(p10.start).toBe(p9.start + p9.size);
    expect(p10.start + p10.size - 1).toBe(16 * 1024 ** 3 / 512 - 34);
    expect(p10.label).toBe('DATA');
    // plain data, and the same every time
    const again = await disksStage.plan(ctxFor(flatcarNode, { disks: [{ device: '/dev/vda', sizeBytes: 16 * 1024 ** 3 }] }));
    expect(JSON.stringify(again)).toBe(JSON.stringify(plan));
  });

  it('the stock 8 GiB disk cannot hold a 6 GiB ROOT: refused with the pointer', async () => {
    const err = await disksStage.plan(ctxFor(flatcarNode, { assumeFlatcarLayout: true })).catch((e) => e);
    expect(err).toBeInstanceOf(KindlingError);
    expect(err.kind).toBe('disk');
    expect(err.location.pointer).toBe('/storage/disks/0/partitions/0');
  });

  it('Flatcar first boot without any disks in the config: ROOT grows into the rest of the disk', async () => {
    const plan = await disksStage.plan(ctxFor('{"ignition":{"version":"3.4.0"}}', { disks: [{ device: '/dev/vda', sizeBytes: 20 * 1024 ** 3 }] }));
    const resize = plan.ops.find((o) => o.kind === 'partition.resize')!;
    expect(resize.pointer).toBe('');
    expect(resize.summary).toMatch(/flatcar-resize/);
    const p = resize.details.partition as { start: number; size: number };
    expect(p.start + p.size - 1).toBe(20 * 1024 ** 3 / 512 - 34);
    expect(plan.ops.map((o) => o.kind)).toContain('filesystem.grow');
  });

  it('without --disk, a device outside the imagined disks is assumed empty, never probed', async () => {
    const cfg = '{"ignition":{"version":"3.4.0"},"storage":{"filesystems":[{"device":"/dev/loop0","format":"ext4","label":"x"}]}}';
    const plan = await disksStage.plan(ctxFor(cfg, { assumeFlatcarLayout: true }));
    const fs = plan.ops.find((o) => o.pointer === '/storage/filesystems/0')!;
    expect(fs.kind).toBe('filesystem.create');
    expect(fs.details.found).toEqual({ type: '', label: '', uuid: '', ambivalent: false });
  });

  it('growRoot: false leaves ROOT alone', async () => {
    const plan = await disksStage.plan(ctxFor('{"ignition":{"version":"3.4.0"}}', { disks: [{ device: '/dev/vda', sizeBytes: 20 * 1024 ** 3 }], growRoot: false }));
    expect(plan.ops.filter((o) => o.kind === 'partition.resize' || o.kind === 'filesystem.grow')).toEqual([]);
  });
});

describe('plans against an image file (no root, no loop device)', () => {
  let img = '';
  beforeAll(async () => {
    img = join(dir, 'fc.img');
    await createFlatcarImage(img, 9 * 1024 ** 3, { filesystems: ['ext4'] });
  });

  it('reuses ROOT ext4 when label matches, refuses xfs over it, and never writes the image', async () => {
    const head = (): string => {
      const fd = openSync(img, 'r');
      const b = Buffer.alloc(1 << 20);
      readSync(fd, b, 0, b.length, 0);
      closeSync(fd);
      return createHash('sha256').update(b).digest('hex');
    };
    const before = head();
    const mtime = statSync(img).mtimeMs;
    const reuse = `{"ignition":{"version":"3.4.0"},"storage":{"filesystems":[{"device":"/dev/disk/by-partlabel/ROOT","format":"ext4","label":"ROOT","wipeFilesystem":false}]}}`;
    const plan = await disksStage.plan(ctxFor(reuse, { disks: [{ device: '/dev/vda', image: img }] }));
    expect(plan.ops.find((o) => o.kind.startsWith('filesystem.') && o.pointer === '/storage/filesystems/0')!.kind).toBe('filesystem.reuse');
    const wrong = reuse.replace('"ext4"', '"xfs"');
    const err = await disksStage.plan(ctxFor(wrong, { disks: [{ device: '/dev/vda', image: img }] })).catch((e) => e);
    expect(err.location.pointer).toBe('/storage/filesystems/0/wipeFilesystem');
    expect(err.message).toMatch(/holds ext4 \(label "ROOT"/);
    expect(statSync(img).mtimeMs).toBe(mtime);
    expect(head()).toBe(before);
  });

  it('a partition recreated elsewhere is probed where it will be (old bytes there count, as in Ignition)', async () => {
    // Partition 10 created right after ROOT: that area is empty → "create" is planned.
    const cfg = `{"ignition":{"version":"3.4.0"},"storage":{"disks":[{"device":"/dev/vda","partitions":[{"number":10,"label":"D","sizeMiB":64}]}],"filesystems":[{"device":"/dev/disk/by-partlabel/D","format":"ext4"}]}}`;
    const plan = await disksStage.plan(ctxFor(cfg, { disks: [{ device: '/dev/vda', image: img }] }));
    const fs = plan.ops.find((o) => o.pointer === '/storage/filesystems/0')!;
    expect(fs.kind).toBe('filesystem.create');
    expect(fs.details.found).toEqual({ type: '', label: '', uuid: '', ambivalent: false });
  });
});

describe("Ignition's partition matrix (pure)", () => {
  const { info } = imaginedFlatcarDisk('/dev/vda', 16 * 1024 ** 3);
  const plan = (d: Partial<Disk>, i: DiskInfo = info) => planDiskTable({ device: '/dev/vda', ...d }, '/storage/disks/0', i);
  const refusal = (d: Partial<Disk>): { pointer?: string; message: string } => {
    try {
      plan(d);
    } catch (e) {
      return { pointer: (e as KindlingError).location?.pointer, message: (e as Error).message };
    }
    return { message: 'no error' };
  };

  it('keeps a matching partition, by number and label', () => {
    const p = plan({ partitions: [{ number: 9, label: 'ROOT' }] });
    expect(p.steps.map((s) => s.action)).toEqual(['keep']);
    expect(p.changes).toBe(false);
  });
  it('refuses a mismatch without wipePartitionEntry, recreates with it', () => {
    expect(refusal({ partitions: [{ number: 9, label: 'OTHER' }] })).toMatchObject({ pointer: '/storage/disks/0/partitions/0', message: expect.stringMatching(/label did not match/) });
    expect(plan({ partitions: [{ number: 9, label: 'OTHER', wipePartitionEntry: true }] }).steps[0]!.action).toBe('recreate');
  });
  it('deletes only with wipePartitionEntry', () => {
    expect(refusal({ partitions: [{ number: 7, shouldExist: false }] }).message).toMatch(/wipePartitionEntry is false/);
    expect(plan({ partitions: [{ number: 7, shouldExist: false, wipePartitionEntry: true }] }).table.map((p) => p.number)).toEqual([1, 2, 3, 4, 6, 9]);
    expect(plan({ partitions: [{ number: 5, shouldExist: false }] }).steps[0]!.action).toBe('absent');
  });
  it('number 0 partitions go last and take the lowest free numbers', () => {
    const p = plan({ partitions: [{ number: 0, label: 'A', sizeMiB: 10 }, { number: 12, label: 'B', sizeMiB: 10 }, { number: 0, label: 'C', sizeMiB: 10 }] });
    expect(p.steps.map((s) => [s.pointer, s.number])).toEqual([
      ['/storage/disks/0/partitions/1', 12],
      ['/storage/disks/0/partitions/0', 5],
      ['/storage/disks/0/partitions/2', 8],
    ]);
  });
  it('resize grows in place; sizeMiB 0 fills the free block after it', () => {
    const p = plan({ partitions: [{ number: 9, label: 'ROOT', resize: true, sizeMiB: 0 }] });
    const s = p.steps[0]!;
    expect(s.action).toBe('resize');
    expect(s.partition!.start).toBe(s.before!.start);
    expect(s.partition!.start + s.partition!.size - 1).toBe(p.lastUsable);
  });
  it('startMiB that does not match is an error even with resize', () => {
    // Ignition fails this already in its sgdisk --pretend run (the moved partition overlaps others).
    expect(refusal({ partitions: [{ number: 9, label: 'ROOT', resize: true, startMiB: 100 }] })).toMatchObject({ pointer: '/storage/disks/0/partitions/0', message: expect.stringMatching(/does not fit/) });
    // Where it would fit, the match rule speaks.
    const gap = refusal({ partitions: [{ number: 9, label: 'ROOT', resize: true, startMiB: 12000, sizeMiB: 100 }] });
    expect(gap.message).toMatch(/starting sector did not match/);
  });
  it('wipeTable plans on an empty table', () => {
    const p = plan({ wipeTable: true, partitions: [{ number: 1, label: 'only', sizeMiB: 0 }] });
    expect(p.table).toEqual([{ number: 1, start: 2048, size: p.lastUsable - 2048 + 1, label: 'only', typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' }]);
  });
  it('refuses to convert an MBR disk unless wipeTable', () => {
    const mbr: DiskInfo = { ...info, gpt: undefined, hasMbr: true };
    expect(() => plan({ partitions: [] }, mbr)).toThrow(/MBR/);
    expect(plan({ wipeTable: true, partitions: [] }, mbr).changes).toBe(true);
  });
});
