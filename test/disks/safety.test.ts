// Data safety of the disks stage, on real loop devices:
//  - Flatcar first boot on a disk bigger than the image: backup GPT moved to the end, ROOT grown
//    with its filesystem, every file on it intact; a second run plans nothing to write;
//  - a reused filesystem keeps every byte of its files and its metadata blocks;
//  - refusals happen before anything is written (image checksum unchanged) and name the pointer;
//  - kill -9 at random moments, then a rerun: the disk ends complete and consistent.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, openSync, readSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createFlatcarImage, FLATCAR_IMAGE_BYTES } from '../../src/disk/flatcar-layout.js';
import { writeGptFd } from '../../src/disk/gpt.js';
import { probeDisk } from '../../src/disk/probe.js';
import { filesystemBytes } from '../../stages/disks/filesystems.js';
import { LoopLab, sh, sfdiskJson, sgdiskVerify, blkid, partNode } from './loopdisk.js';

const lab = new LoopLab('kindling-safety-');
let runner = '';

beforeAll(() => {
  // The stage in a child process we can SIGKILL: bundle the runner (rolldown ships with vite).
  const out = join(lab.dir, 'runner');
  const r = spawnSync('npx', ['rolldown', 'test/disks/stage-runner.ts', '--platform', 'node', '--format', 'esm', '--dir', out], { cwd: process.cwd() });
  if (r.status !== 0) throw new Error(`bundling the runner failed: ${r.stderr}`);
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  runner = join(out, 'stage-runner.js');
});
afterAll(() => lab.cleanup());

function runStage(config: unknown, options: Record<string, unknown>, tag: string): { code: number; stderr: string } {
  const c = join(lab.dir, `${tag}.ign`);
  const o = join(lab.dir, `${tag}.opts.json`);
  writeFileSync(c, JSON.stringify(config));
  writeFileSync(o, JSON.stringify(options));
  const r = spawnSync('node', [runner, c, o], { env: { ...process.env, KINDLING_LOG_LEVEL: 'silent' } });
  return { code: r.status ?? -1, stderr: r.stderr.toString() };
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function readRegion(dev: string, offset: number, len: number): Buffer {
  const fd = openSync(dev, 'r');
  try {
    const b = Buffer.alloc(len);
    readSync(fd, b, 0, len, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

const V = { ignition: { version: '3.4.0' } };

describe('Flatcar first boot', () => {
  it('moves the backup GPT to the end, grows ROOT and its ext4, keeps its files; a rerun changes nothing', () => {
    const img = join(lab.dir, 'flatcar.img');
    // A stock 8 GiB image written onto a 10 GiB disk.
    return createFlatcarImage(img, 10 * 1024 ** 3, { tableBytes: FLATCAR_IMAGE_BYTES, filesystems: ['ext4'] }).then(() => {
      const dev = lab.attach(img);
      const before = probeDisk(dev);
      expect(before.gpt!.backupMisplaced).toBe(true);
      const root = partNode(dev, 9);
      const mnt = join(lab.dir, 'm-flatcar');
      lab.mount(root, mnt);
      sh('dd', ['if=/dev/urandom', `of=${mnt}/payload`, 'bs=1M', 'count=4', 'status=none']);
      const sum = sha256(`${mnt}/payload`);
      sh('umount', [mnt]);

      const r = runStage(V, { rootDisk: dev, stateDir: join(lab.dir, 'st-flatcar'), candidateDisks: [dev] }, 'flatcar');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(sgdiskVerify(dev)).toMatch(/No problems found/);
      const t = sfdiskJson(dev);
      const p9 = t.partitions.find((p) => p.node === root)!;
      expect(p9.start + p9.size - 1).toBe(t.lastlba);
      expect(t.lastlba).toBe(10 * 1024 ** 3 / 512 - 34);
      // kernel sees the new size; filesystem fills the partition (within one 4 KiB block)
      expect(Number(readFileSync(`/sys/class/block/${root.slice(5)}/size`, 'utf8'))).toBe(p9.size);
      const fsBytes = filesystemBytes(root)!;
      expect(p9.size * 512 - fsBytes).toBeLessThan(4096);
      expect(sh('e2fsck', ['-f', '-n', root]).length).toBeGreaterThan(0);
      lab.mount(root, mnt);
      expect(sha256(`${mnt}/payload`)).toBe(sum);
      sh('umount', [mnt]);

      // Idempotent: the second run plans no write and no grow.
      const r2 = spawnSync('node', [runner, join(lab.dir, 'flatcar.ign'), join(lab.dir, 'flatcar.opts.json')], { env: { ...process.env, KINDLING_PRINT_PLAN: '1', KINDLING_LOG_LEVEL: 'silent' } });
      expect(r2.status).toBe(0);
      const plan = JSON.parse(r2.stdout.toString().split('\n')[0]!);
      const kinds = plan.ops.map((o: { kind: string }) => o.kind);
      expect(kinds).not.toContain('filesystem.grow');
      expect(plan.ops.find((o: { kind: string }) => o.kind === 'partition.commit').details.write).toBe(false);
    });
  }, 120_000);
});

describe('reuse and refusal', () => {
  function smallDisk(tag: string): { img: string; dev: string } {
    const img = lab.image(`${tag}.img`, 96 * 1024 ** 2);
    const fd = openSync(img, 'r+');
    writeGptFd(fd, 512, (96 * 1024 ** 2) / 512, {
      diskGuid: '0B0E5B0E-0000-4000-8000-000000000001',
      partitions: [{ number: 1, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: '0B0E5B0E-0000-4000-8000-000000000011', startLba: 2048, endLba: 2048 + 65536 - 1, label: 'data' }],
    });
    closeSync(fd);
    const dev = lab.attach(img);
    sh('mkfs.ext4', ['-q', '-F', '-L', 'data', partNode(dev, 1)]);
    const mnt = join(lab.dir, `m-${tag}`);
    lab.mount(partNode(dev, 1), mnt);
    sh('dd', ['if=/dev/urandom', `of=${mnt}/precious`, 'bs=1M', 'count=8', 'status=none']);
    sh('umount', [mnt]);
    return { img, dev };
  }

  it('reuses a matching filesystem without touching a byte of it', () => {
    const { dev } = smallDisk('reuse');
    const p1 = partNode(dev, 1);
    const mnt = join(lab.dir, 'm-reuse');
    lab.mount(p1, mnt);
    const sum = sha256(`${mnt}/precious`);
    sh('umount', [mnt]);
    // Metadata too: the first 4 MiB (superblock, group descriptors, bitmaps, inode table start).
    const head = createHash('sha256').update(readRegion(p1, 0, 4 * 1024 ** 2)).digest('hex');
    const config = {
      ...V,
      storage: {
        disks: [{ device: dev, partitions: [{ number: 1, label: 'data' }, { number: 2, label: 'scratch', sizeMiB: 16 }] }],
        filesystems: [
          { device: p1, format: 'ext4', label: 'data', wipeFilesystem: false },
          { device: `/dev/disk/by-partlabel/scratch`, format: 'ext4', label: 'scratch' },
        ],
      },
    };
    const r = runStage(config, { stateDir: join(lab.dir, 'st-reuse'), candidateDisks: [dev] }, 'reuse');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(createHash('sha256').update(readRegion(p1, 0, 4 * 1024 ** 2)).digest('hex')).toBe(head);
    lab.mount(p1, mnt);
    expect(sha256(`${mnt}/precious`)).toBe(sum);
    sh('umount', [mnt]);
    expect(blkid(partNode(dev, 2))).toMatchObject({ TYPE: 'ext4', LABEL: 'scratch' });
  });

  const refusals: Array<[string, (dev: string) => unknown, string, RegExp]> = [
    [
      'a filesystem of another format without wipeFilesystem (after a partition it would have created)',
      (dev) => ({ ...V, storage: { disks: [{ device: dev, partitions: [{ number: 2, label: 'new', sizeMiB: 16 }] }], filesystems: [{ device: partNode(dev, 1), format: 'xfs', wipeFilesystem: false }] } }),
      '/storage/filesystems/0/wipeFilesystem',
      /holds ext4/,
    ],
    [
      'a resize that would shrink a partition holding a filesystem',
      (dev) => ({ ...V, storage: { disks: [{ device: dev, partitions: [{ number: 1, label: 'data', sizeMiB: 16, resize: true }] }] } }),
      '/storage/disks/0/partitions/0',
      /shrink/,
    ],
    [
      'an existing partition that does not match, without wipePartitionEntry (Ignition)',
      (dev) => ({ ...V, storage: { disks: [{ device: dev, partitions: [{ number: 1, label: 'other' }] }] } }),
      '/storage/disks/0/partitions/0',
      /didn't match: label did not match/,
    ],
    [
      'deleting a partition without wipePartitionEntry (Ignition)',
      (dev) => ({ ...V, storage: { disks: [{ device: dev, partitions: [{ number: 1, shouldExist: false }] }] } }),
      '/storage/disks/0/partitions/0',
      /wipePartitionEntry is false/,
    ],
    [
      'LUKS over an existing filesystem without wipeVolume',
      (dev) => ({ ...V, storage: { luks: [{ name: 'secret', device: partNode(dev, 1) }] } }),
      '/storage/luks/0/wipeVolume',
      /holds ext4/,
    ],
  ];
  for (const [what, config, pointer, message] of refusals) {
    it(`refuses ${what} before writing anything`, () => {
      const tag = `refuse-${refusals.findIndex((x) => x[0] === what)}`;
      const { img, dev } = smallDisk(tag);
      spawnSync('sync');
      const before = sha256(img);
      const r = runStage(config(dev), { stateDir: join(lab.dir, `st-${tag}`), candidateDisks: [dev] }, tag);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().endsWith(`at ${pointer}`)).toBe(true);
      spawnSync('sync');
      expect(sha256(img)).toBe(before);
    });
  }
});

describe('kill -9 midway, then rerun', () => {
  // What each kill interrupted: did the first run leave work undone, and an intent in the journal?
  const interrupted: Array<{ delay: number | string; undone: boolean; journal: string[] }> = [];
  afterAll(() => {
    console.log('kill -9 outcomes:', JSON.stringify(interrupted));
    // The delays must really land mid-stage, or this test proves nothing.
    expect(interrupted.filter((x) => x.undone).length).toBeGreaterThanOrEqual(3);
  });
  const config = (dev: string): unknown => ({
    ...V,
    storage: {
      disks: [
        {
          device: dev,
          wipeTable: true,
          partitions: [
            { number: 1, label: 'one', sizeMiB: 64 },
            { number: 2, label: 'two', sizeMiB: 320 },
            { number: 3, label: 'three', sizeMiB: 0 },
          ],
        },
      ],
      filesystems: [
        // The old ext4 sits where partition 1 will start again: Ignition semantics demand a wipe.
        { device: partNode(dev, 1), format: 'ext4', label: 'one', wipeFilesystem: true },
        { device: partNode(dev, 2), format: 'xfs', label: 'two' },
        { device: partNode(dev, 3), format: 'btrfs', label: 'three' },
      ],
    },
  });
  // Kill at fractions of a measured uninterrupted run, so the kills land in every phase (start-up
  // and plan, table, the parallel mkfs runs, the tail) whatever the machine's speed.
  let fullMs = 0;
  const setup = (tag: string): { dev: string; c: string; o: string } => {
    const img = lab.image(`${tag}.img`, 640 * 1024 ** 2);
    // An old table and filesystem to be replaced (wipeTable) — the first run must not leave a mix.
    sh('sgdisk', ['-n', '1:2048:+300M', '-c', '1:old', img]);
    const dev = lab.attach(img);
    sh('mkfs.ext4', ['-q', '-F', '-L', 'old', partNode(dev, 1)]);
    const c = join(lab.dir, `${tag}.ign`);
    const o = join(lab.dir, `${tag}.opts.json`);
    writeFileSync(c, JSON.stringify(config(dev)));
    writeFileSync(o, JSON.stringify({ stateDir: join(lab.dir, `st-${tag}`), candidateDisks: [dev], growRoot: false }));
    return { dev, c, o };
  };
  it('runs to completion uninterrupted (calibration)', () => {
    // Twice, keeping the faster: a first run slowed by other test files starting in parallel
    // (cold caches) would put every kill after the end of the later, faster runs.
    fullMs = Infinity;
    for (const tag of ['kill-full', 'kill-full2']) {
      const { c, o } = setup(tag);
      const t0 = Date.now();
      const r = spawnSync('node', [runner, c, o]);
      fullMs = Math.min(fullMs, Date.now() - t0);
      expect(r.status).toBe(0);
    }
  });
  for (const fraction of [0.3, 0.5, 0.65, 0.8, 0.92]) {
    it(`completes after a SIGKILL at ${Math.round(fraction * 100)}% of a full run`, async () => {
      const delay = Math.round(fraction * fullMs);
      const tag = `kill-${Math.round(fraction * 100)}`;
      const { dev, c, o } = setup(tag);
      const child = spawn('node', [runner, c, o], { stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;
      const labels = [1, 2, 3].map((n) => (existsSync(partNode(dev, n)) ? blkid(partNode(dev, n)).LABEL : undefined));
      const jf = join(lab.dir, `st-${tag}`, 'journal.json');
      interrupted.push({ delay: fraction, undone: labels.join() !== 'one,two,three', journal: existsSync(jf) ? Object.values(JSON.parse(readFileSync(jf, 'utf8'))).map((e) => (e as { op: string; format?: string }).format ?? '') : [] });
      const again = spawnSync('node', [runner, c, o], { env: { ...process.env, KINDLING_LOG_LEVEL: 'silent' } });
      expect(again.stderr.toString()).toBe('');
      expect(again.status).toBe(0);
      expect(sgdiskVerify(dev)).toMatch(/No problems found/);
      const parts = sfdiskJson(dev).partitions;
      expect(parts.map((p) => [p.name, p.start, p.size])).toEqual([
        ['one', 2048, 131072],
        ['two', 133120, 655360],
        ['three', 788480, sfdiskJson(dev).lastlba - 788480 + 1],
      ]);
      expect(parts[2]!.start + parts[2]!.size - 1).toBe(sfdiskJson(dev).lastlba);
      expect(blkid(partNode(dev, 1))).toMatchObject({ TYPE: 'ext4', LABEL: 'one' });
      expect(blkid(partNode(dev, 2))).toMatchObject({ TYPE: 'xfs', LABEL: 'two' });
      expect(blkid(partNode(dev, 3))).toMatchObject({ TYPE: 'btrfs', LABEL: 'three' });
      // Each filesystem checks clean.
      expect(spawnSync('e2fsck', ['-f', '-n', partNode(dev, 1)]).status).toBe(0);
      expect(spawnSync('xfs_repair', ['-n', partNode(dev, 2)]).status).toBe(0);
      expect(spawnSync('btrfs', ['check', partNode(dev, 3)]).status).toBe(0);
      // The intent journal is empty again.
      const j = join(lab.dir, `st-${tag}`, 'journal.json');
      if (existsSync(j)) expect(JSON.parse(readFileSync(j, 'utf8'))).toEqual({});
    });
  }
});

