// `kindling apply --image`: a sparse Flatcar-layout image provisioned through a loop device. What
// the disks stage planned is what sfdisk then reads, the files landed in ROOT, no loop device is
// left attached, and planning the same config against the result finds nothing to change.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLE, isRoot, kindling } from './helpers.js';

interface Op {
  kind: string;
  pointer: string;
  details: Record<string, unknown>;
  noop?: boolean;
}
interface Doc {
  stages: Array<{ stage: string; ops: Op[]; error?: { message: string } }>;
}

const dir = mkdtempSync(join(tmpdir(), 'kindling-image-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loopsOf(image: string): string[] {
  return execFileSync('losetup', ['-j', image], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe.runIf(isRoot)('kindling apply --image (root, loop devices)', () => {
  const image = join(dir, 'node.img');

  it('provisions a 16 GiB sparse image as planned, and a second plan changes nothing', async () => {
    const r = await kindling(['apply', EXAMPLE, '--image', image, '--size', '16G', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(loopsOf(image)).toEqual([]);
    const st = statSync(image);
    expect(st.size).toBe(16 * 1024 ** 3);
    expect(st.blocks * 512).toBeLessThan(st.size / 4); // still sparse

    const doc = JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf('}') + 1)) as Doc;
    const disks = doc.stages.find((s) => s.stage === 'disks')!;
    const planned = disks.ops
      .filter((o) => o.kind === 'partition.create' || o.kind === 'partition.resize')
      .map((o) => o.details.partition as { number: number; start: number; size: number; label: string });
    expect(planned.map((p) => p.number).sort()).toEqual([10, 9]);

    // What the plan said is what is on the disk.
    const table = JSON.parse(execFileSync('sfdisk', ['--json', image], { encoding: 'utf8' })).partitiontable;
    for (const p of planned) {
      const onDisk = table.partitions.find((q: { node: string }) => q.node === `${image}${p.number}`);
      expect(onDisk, `partition ${p.number}`).toMatchObject({ start: p.start, size: p.size, name: p.label });
    }
    // The backup GPT moved to the end of the grown disk, and the table is clean.
    expect(table.lastlba).toBe(16 * 1024 * 2048 - 34);
    expect(execFileSync('sgdisk', ['-v', image], { encoding: 'utf8' })).toMatch(/No problems found/);

    // Planning the same config against the provisioned image: every disk operation is a no-op.
    const again = await kindling(['plan', EXAMPLE, '--disk', `/dev/vda=${image}`, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const replanned = (JSON.parse(again.stdout) as Doc).stages.find((s) => s.stage === 'disks')!;
    const kinds = replanned.ops.map((o) => o.kind);
    expect(kinds).not.toContain('partition.create');
    expect(kinds).not.toContain('partition.resize');
    expect(kinds).not.toContain('filesystem.create');
    expect(kinds).toContain('filesystem.reuse');
    expect(replanned.ops.filter((o) => !o.noop)).toEqual([]);
    const text = await kindling(['plan', EXAMPLE, '--disk', `/dev/vda=${image}`]);
    expect(text.stdout).toMatch(/^disks: nothing to do$/m);
    expect(loopsOf(image)).toEqual([]);
  });

  it('left the files in ROOT and the filesystems the config asked for', () => {
    const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
    const mnt = mkdtempSync(join(tmpdir(), 'kindling-image-mnt-'));
    try {
      spawnSync('partx', ['-d', loop]);
      execFileSync('partx', ['-a', loop]);
      const blk = (dev: string, tag: string): string => execFileSync('blkid', ['-o', 'value', '-s', tag, dev], { encoding: 'utf8' }).trim();
      expect(blk(`${loop}p10`, 'TYPE')).toBe('xfs');
      expect(blk(`${loop}p10`, 'LABEL')).toBe('DATA');
      expect(blk(`${loop}p9`, 'TYPE')).toBe('ext4');
      execFileSync('mount', ['-o', 'ro', `${loop}p9`, mnt]);
      try {
        // ROOT's filesystem grew with its partition (6 GiB).
        const blocks = execFileSync('stat', ['-f', '-c', '%b %S', mnt], { encoding: 'utf8' }).trim().split(' ').map(Number);
        expect(blocks[0]! * blocks[1]!).toBeGreaterThan(5.5 * 1024 ** 3);
        expect(execFileSync('cat', [join(mnt, 'etc/hostname')], { encoding: 'utf8' })).toBe('node-01.example.com\n');
        expect(execFileSync('grep', ['^deploy:', join(mnt, 'etc/passwd')], { encoding: 'utf8' })).toMatch(/^deploy:x:1500:/);
        expect(statSync(join(mnt, 'etc/.ignition-result.json')).mode & 0o777).toBe(0o600);
      } finally {
        execFileSync('umount', [mnt]);
      }
    } finally {
      // Partitions added with partx outlive a detach: drop them so the next user of this loop
      // device does not inherit them.
      spawnSync('partx', ['-d', loop]);
      execFileSync('losetup', ['-d', loop]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});
