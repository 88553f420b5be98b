// The built-in Flatcar layout: the image we write must be a GPT that sgdisk calls clean, with the
// partitions, types and filesystems of Flatcar's disk_layout.json.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createFlatcarImage, FLATCAR_LAYOUT, imaginedFlatcarDisk } from '../../src/disk/flatcar-layout.js';
import { probeDisk } from '../../src/disk/probe.js';
import { attachImage } from '../../src/disk/loop.js';
import { existsSync } from 'node:fs';

const dir = mkdtempSync(join(tmpdir(), 'kindling-flatcar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createFlatcarImage', () => {
  it('writes a clean, sparse GPT with the stock partitions and filesystems', async () => {
    const img = join(dir, 'fc.img');
    await createFlatcarImage(img, 10 * 1024 ** 3);
    expect(execFileSync('sgdisk', ['-v', img]).toString()).toMatch(/No problems found/);
    const sf = JSON.parse(execFileSync('sfdisk', ['--json', img]).toString()).partitiontable;
    expect(sf.label).toBe('gpt');
    expect(sf.partitions.map((p: { name: string }) => p.name)).toEqual(FLATCAR_LAYOUT.map((p) => p.label));
    const root = sf.partitions.find((p: { name: string }) => p.name === 'ROOT');
    expect(root.type).toBe('3884DD41-8582-4404-B9A8-E9B84F2DF50E');
    expect(root.start).toBe(4096 + 2097152 + 4096 + 2 * 4194304 + 2097152 + 131072);
    expect(root.node).toMatch(/9$/);
    const info = probeDisk(img);
    expect(info.gpt?.primaryOk && info.gpt.backupOk).toBe(true);
    for (const [n, type, label] of [[9, 'ext4', 'ROOT'], [1, 'vfat', 'EFI-SYSTEM'], [6, 'btrfs', 'OEM']] as const) {
      const p = info.gpt!.partitions.find((x) => x.number === n)!;
      const out = execFileSync('blkid', ['-p', '-o', 'export', '-O', String(p.startLba * 512), '-S', String(p.sizeSectors * 512), img]).toString();
      expect(out).toContain(`TYPE=${type}`);
      expect(out).toContain(`LABEL=${label}`);
    }
    // sparse: far less allocated than the apparent size
    expect(statSync(img).blocks * 512).toBeLessThan(200 * 1024 ** 2);
  });

  it('attaches an image with its partition nodes and detaches it again', async () => {
    const img = join(dir, 'fc2.img');
    await createFlatcarImage(img, 9 * 1024 ** 3, { filesystems: false });
    const a = await attachImage(img);
    try {
      for (const n of [1, 2, 3, 4, 6, 7, 9]) expect(existsSync(`${a.device}p${n}`)).toBe(true);
      expect(existsSync(`${a.device}p5`)).toBe(false);
    } finally {
      await a.detach();
    }
    expect(existsSync(`${a.device}p9`)).toBe(false);
    expect(execFileSync('losetup', ['-a']).toString()).not.toContain(img);
  });

  it('gives the kernel this table even when the loop device kept a previous user\'s partitions', async () => {
    // Partitions added with partx outlive `losetup -d`. Leave some behind on the device the next
    // `losetup --find` hands out, with other sizes, then attach a Flatcar image there.
    const stale = join(dir, 'stale.img');
    execFileSync('truncate', ['-s', '9G', stale]);
    execFileSync('sgdisk', ['-n', '1:2048:+1G', '-n', '9:0:+3G', '-n', '12:0:+1G', stale], { stdio: 'ignore' });
    const prev = execFileSync('losetup', ['--find', '--show', stale]).toString().trim();
    execFileSync('partx', ['-a', prev]);
    execFileSync('losetup', ['-d', prev]);
    const img = join(dir, 'fc3.img');
    await createFlatcarImage(img, 9 * 1024 ** 3, { filesystems: false });
    const a = await attachImage(img);
    try {
      const base = a.device.slice('/dev/'.length);
      const parts = probeDisk(img).gpt!.partitions;
      for (const p of parts) {
        const sys = `/sys/class/block/${base}p${p.number}`;
        expect(Number(execFileSync('cat', [`${sys}/start`]).toString())).toBe(p.startLba);
        expect(Number(execFileSync('cat', [`${sys}/size`]).toString())).toBe(p.sizeSectors);
      }
      expect(existsSync(`${a.device}p12`)).toBe(false);
    } finally {
      await a.detach();
      // If another test took `prev` meanwhile, the stale partitions are still there: drop them.
      if (a.device !== prev) spawnSync('partx', ['-d', prev]);
    }
  });

  it('imagines the same table for dry-runs, with the backup header misplaced on a bigger disk', () => {
    const { info } = imaginedFlatcarDisk('/dev/vda', 16 * 1024 ** 3);
    expect(info.gpt!.backupMisplaced).toBe(true);
    expect(info.gpt!.partitions.map((p) => p.number)).toEqual([1, 2, 3, 4, 6, 7, 9]);
  });
});
