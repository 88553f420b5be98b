// 4Kn disks: a loop device with 4096-byte logical sectors (losetup --sector-size 4096) carrying
// Flatcar's layout as a 4Kn disk sees it (same byte offsets, LBAs / 8). The disks stage must read
// the sector size from sysfs and plan in those sectors: the table's backup moved to the true end,
// ROOT resized to 4 GiB (its ext4 grown with it), a new 1 GiB partition aligned to 1 MiB (256 sectors), xfs on it, ext4 on ROOT grown.
// Checked with sgdisk -v and sfdisk --json against the plan. With KINDLING_ORACLE=1 the same
// partitioning is compared with Debian's Ignition 2.14 on a second 4Kn disk.
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { disksStage } from '../../stages/disks/index.js';
import { localContext } from '../../src/engine/context.js';
import { parseConfig } from '../../src/config/index.js';
import { createFlatcarImage, FLATCAR_IMAGE_BYTES } from '../../src/disk/flatcar-layout.js';
import { probeDisk } from '../../src/disk/probe.js';
import { startSystemdShim, type SystemdShim } from '../conformance/blackbox/systemd-shim.js';
import { LoopLab, partNode, sfdiskJson, sgdiskVerify, sh, spawnAsync } from './loopdisk.js';
import type { TablePartition } from '../../stages/disks/plan-partitions.js';

const lab = new LoopLab('kindling-4kn-');
afterAll(() => lab.cleanup());
const GiB = 1024 ** 3;
const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';

async function fourKnFlatcar(tag: string, bytes: number, tableBytes: number): Promise<string> {
  const img = join(lab.dir, `${tag}.img`);
  await createFlatcarImage(img, bytes, { sectorSize: 4096, filesystems: ['ext4'], tableBytes });
  const dev = lab.attach(img, 4096);
  expect(sh('blockdev', ['--getss', dev]).trim()).toBe('4096');
  return dev;
}

function table(dev: string): Array<{ n: number; start: number; size: number; type: string; name: string }> {
  return sfdiskJson(dev).partitions.map((p) => ({ n: Number(/(\d+)$/.exec(p.node)![1]), start: p.start, size: p.size, type: p.type, name: p.name ?? '' }));
}

describe('4Kn disk (4096-byte logical sectors)', () => {
  it('grows ROOT, adds a partition and filesystems on Flatcar layout; sgdisk -v clean; sfdisk equals the plan; a rerun has nothing to do', async () => {
    // The stock 8 GiB image written to a 12 GiB 4Kn disk: its backup header is where the image ended.
    const dev = await fourKnFlatcar('grow', 12 * GiB, FLATCAR_IMAGE_BYTES);
    const info = probeDisk(dev);
    expect(info.sectorSize).toBe(4096);
    expect(info.totalSectors).toBe((12 * GiB) / 4096);
    expect(info.gpt?.backupMisplaced).toBe(true);
    expect(info.gpt?.partitions.find((p) => p.number === 9)?.startLba).toBe((4096 + 2097152 + 4096 + 2 * 4194304 + 2097152 + 131072) / 8);

    const config = parseConfig(
      JSON.stringify({
        ignition: { version: '3.4.0' },
        storage: {
          disks: [{ device: dev, partitions: [{ number: 9, label: 'ROOT', sizeMiB: 4096, resize: true }, { number: 10, label: 'DATA', sizeMiB: 1024 }] }],
          filesystems: [{ device: '/dev/disk/by-partlabel/DATA', format: 'xfs', label: 'DATA', wipeFilesystem: true }],
        },
      }),
    ).config;
    const ctx = localContext({ config, root: lab.dir, options: { stateDir: join(lab.dir, 'st'), candidateDisks: [dev] } });
    const plan = await disksStage.plan(ctx);
    expect(plan.ops.map((o) => o.kind)).toEqual(['disk.relocate-backup-gpt', 'partition.resize', 'partition.create', 'partition.commit', 'filesystem.create', 'filesystem.grow']);
    const commit = plan.ops.find((o) => o.kind === 'partition.commit')!;
    const expected = commit.details.expect as TablePartition[];
    const data = expected.find((p) => p.number === 10)!;
    const root = expected.find((p) => p.number === 9)!;
    // 1 GiB in 4096-byte sectors, aligned to 1 MiB (256 sectors), after ROOT's old end.
    expect(data.size).toBe(GiB / 4096);
    expect(data.start % 256).toBe(0);
    expect(data.start + data.size - 1).toBeLessThanOrEqual((12 * GiB) / 4096 - 6);
    expect(root.size).toBe((4 * GiB) / 4096);
    expect(data.start).toBe(Math.ceil((root.start + root.size) / 256) * 256);

    await disksStage.apply(ctx, plan);

    expect(sgdiskVerify(dev)).toMatch(/No problems found/);
    const sf = sfdiskJson(dev) as ReturnType<typeof sfdiskJson> & { sectorsize?: number };
    expect(sf.sectorsize).toBe(4096);
    expect(sf.lastlba).toBe((12 * GiB) / 4096 - 6);
    expect(table(dev).map(({ n, start, size, name }) => ({ n, start, size, name }))).toEqual(
      [...expected].sort((a, b) => a.number - b.number).map((p) => ({ n: p.number, start: p.start, size: p.size, name: p.label })),
    );
    expect(table(dev).map((p) => p.type)).toEqual([...expected].sort((a, b) => a.number - b.number).map((p) => p.typeGuid.toUpperCase()));
    // ROOT's ext4 fills its grown partition; DATA holds xfs.
    const dumpe2fs = sh('dumpe2fs', ['-h', partNode(dev, 9)]);
    const blocks = Number(/Block count:\s+(\d+)/.exec(dumpe2fs)![1]);
    const bsize = Number(/Block size:\s+(\d+)/.exec(dumpe2fs)![1]);
    expect(blocks * bsize).toBe(root.size * 4096);
    expect(sh('blkid', ['-p', '-s', 'TYPE', '-o', 'value', partNode(dev, 10)]).trim()).toBe('xfs');
    expect(sh('blkid', ['-p', '-s', 'LABEL', '-o', 'value', partNode(dev, 10)]).trim()).toBe('DATA');

    // Provisioned: the same config now plans as nothing to do.
    const again = await disksStage.plan(localContext({ config: parseConfig(JSON.stringify({ ignition: { version: '3.4.0' }, storage: { disks: [{ device: dev, partitions: [{ number: 9, label: 'ROOT', sizeMiB: 4096, resize: true }, { number: 10, label: 'DATA', sizeMiB: 1024 }] }], filesystems: [{ device: '/dev/disk/by-partlabel/DATA', format: 'xfs', label: 'DATA' }] } })).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st'), candidateDisks: [dev] } }));
    expect(again.ops.filter((o) => !o.noop).map((o) => o.kind)).toEqual([]);
  }, 180_000);
});

describe('4Kn: Flatcar\'s first-boot ROOT growth', () => {
  it('grows ROOT and its ext4 to the true end of a bigger 4Kn disk (no config entry)', async () => {
    const dev = await fourKnFlatcar('rule', 12 * GiB, FLATCAR_IMAGE_BYTES);
    const ctx = localContext({ config: parseConfig(JSON.stringify({ ignition: { version: '3.4.0' } })).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st-rule'), candidateDisks: [dev], rootDisk: dev } });
    const plan = await disksStage.plan(ctx);
    expect(plan.ops.map((o) => [o.kind, o.pointer])).toEqual([
      ['disk.relocate-backup-gpt', ''],
      ['partition.resize', ''],
      ['partition.commit', ''],
      ['filesystem.grow', ''],
    ]);
    const root = (plan.ops[2]!.details.expect as TablePartition[]).find((p) => p.number === 9)!;
    expect(root.start + root.size).toBe((12 * GiB) / 4096 - 6 + 1);
    await disksStage.apply(ctx, plan);
    expect(sgdiskVerify(dev)).toMatch(/No problems found/);
    expect(table(dev).find((p) => p.n === 9)).toMatchObject({ start: root.start, size: root.size, name: 'ROOT' });
    const dumpe2fs = sh('dumpe2fs', ['-h', partNode(dev, 9)]);
    expect(Number(/Block count:\s+(\d+)/.exec(dumpe2fs)![1]) * Number(/Block size:\s+(\d+)/.exec(dumpe2fs)![1])).toBe(root.size * 4096);
  }, 180_000);
});

// Ignition 2.14 on an identical 4Kn disk: the same tables for a config both read the same way
// (ROOT resized by the config, a new partition placed by sgdisk's rules).

describe.skipIf(!existsSync(IGNITION) || !process.env.KINDLING_ORACLE)('4Kn: Kindling vs Ignition 2.14', () => {
  let shim: SystemdShim | undefined;
  beforeAll(async () => {
    shim = await startSystemdShim();
  });
  afterAll(async () => {
    await shim?.close();
  });

  it('partitions a 4Kn Flatcar disk identically', async () => {
    const a = await fourKnFlatcar('oracle-k', 12 * GiB, 12 * GiB);
    const b = await fourKnFlatcar('oracle-i', 12 * GiB, 12 * GiB);
    const text = (dev: string) =>
      JSON.stringify({
        ignition: { version: '3.3.0' },
        storage: { disks: [{ device: dev, partitions: [{ number: 9, label: 'ROOT', sizeMiB: 4096, resize: true }, { number: 10, label: 'DATA', sizeMiB: 1024 }, { number: 0, label: 'REST', sizeMiB: 0 }] }] },
      });
    const ctx = localContext({ config: parseConfig(text(a)).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st-o'), candidateDisks: [a], growRoot: false } });
    await disksStage.apply(ctx, await disksStage.plan(ctx));

    const dir = join(lab.dir, 'ign');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.ign'), text(b));
    const common = ['-platform', 'file', '-config-cache', join(dir, 'cache.json'), '-state-file', join(dir, 'state'), '-log-to-stdout'];
    const f = await spawnAsync(IGNITION, ['-stage', 'fetch', ...common], { ...process.env, IGNITION_CONFIG_FILE: join(dir, 'config.ign') }, 60_000);
    expect(f.code, f.out).toBe(0);
    const d = await spawnAsync(IGNITION, ['-stage', 'disks', ...common], process.env, 120_000);
    expect(d.code, d.out.split('\n').filter((l) => /CRITICAL|failed/.test(l)).join(' | ')).toBe(0);

    expect(table(a)).toEqual(table(b));
    expect(table(a).find((p) => p.n === 10)!.size).toBe(GiB / 4096);
    expect(sgdiskVerify(a)).toMatch(/No problems found/);
  }, 240_000);
});
