// mount and umount stages on real loop devices: shallow paths first with the format as type and
// mountOptions applied; a path through a symlink refused; a failing mount leaves nothing mounted;
// umount unmounts deepest first and works from the config alone (e.g. in a later process).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { mountStage } from '../../stages/mount.js';
import { umountStage } from '../../stages/umount.js';
import { localContext } from '../../src/engine/context.js';
import { parseConfig } from '../../src/config/index.js';
import { writeGptFd } from '../../src/disk/gpt.js';
import { LoopLab, sh, partNode } from './loopdisk.js';
import { openSync, closeSync } from 'node:fs';

const lab = new LoopLab('kindling-mount-');
afterAll(() => lab.cleanup());

function mounts(): Array<{ target: string; type: string; opts: string }> {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      const sep = f.indexOf('-');
      return { target: f[4]!, opts: f[5]!, type: f[sep + 1]! };
    })
    .filter((m) => m.target.startsWith(lab.dir));
}

function disk(tag: string): string {
  const img = lab.image(`${tag}.img`, 300 * 1024 ** 2);
  const fd = openSync(img, 'r+');
  writeGptFd(fd, 512, (300 * 1024 ** 2) / 512, {
    diskGuid: '0B0E5B0E-0000-4000-8000-0000000000BB',
    partitions: [
      { number: 1, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: '0B0E5B0E-0000-4000-8000-0000000000B1', startLba: 2048, endLba: 2048 + 32768 - 1, label: 'outer' },
      { number: 2, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: '0B0E5B0E-0000-4000-8000-0000000000B2', startLba: 34816, endLba: 34816 + 262144 - 1, label: 'inner' },
    ],
  });
  closeSync(fd);
  const dev = lab.attach(img);
  sh('mkfs.ext4', ['-q', '-F', partNode(dev, 1)]);
  sh('mkfs.btrfs', ['-q', '-f', partNode(dev, 2)]);
  return dev;
}

describe('mount / umount', () => {
  it('mounts shallow first with type and options, unmounts deepest first', async () => {
    const dev = disk('order');
    const root = join(lab.dir, 'root1');
    mkdirSync(root);
    const config = parseConfig(
      JSON.stringify({
        ignition: { version: '3.4.0' },
        storage: {
          filesystems: [
            { device: partNode(dev, 2), format: 'btrfs', path: '/var/lib/inner', mountOptions: ['noexec', 'subvolid=5'] },
            { device: '/dev/disk/by-partlabel/outer', format: 'ext4', path: '/var', mountOptions: ['noatime'] },
            { device: partNode(dev, 1), format: 'swap' },
          ],
        },
      }),
    ).config;
    const ctx = localContext({ config, root, options: { candidateDisks: [dev] } });
    const plan = await mountStage.plan(ctx);
    expect(plan.ops.map((o) => o.details.path)).toEqual(['/var', '/var/lib/inner']);
    await mountStage.apply(ctx, plan);
    const m = mounts();
    expect(m.map((x) => [x.target, x.type])).toEqual([
      [join(root, 'var'), 'ext4'],
      [join(root, 'var/lib/inner'), 'btrfs'],
    ]);
    expect(m[0]!.opts).toMatch(/noatime/);
    expect(m[1]!.opts).toMatch(/noexec/);
    // umount from a fresh plan (as a later process would): deepest first, all gone.
    const u = await umountStage.plan(ctx);
    expect(u.ops.map((o) => o.details.path)).toEqual(['/var/lib/inner', '/var']);
    await umountStage.apply(ctx, u);
    expect(mounts()).toEqual([]);
  });

  it('refuses a mount path through a symlink in the root', async () => {
    const dev = disk('symlink');
    const root = join(lab.dir, 'root2');
    mkdirSync(root);
    symlinkSync('/', join(root, 'tmp0'));
    const config = parseConfig(JSON.stringify({ ignition: { version: '3.4.0' }, storage: { filesystems: [{ device: partNode(dev, 1), format: 'ext4', path: '/tmp0/x' }] } })).config;
    const err = await mountStage.plan(localContext({ config, root, options: {} })).catch((e) => e);
    expect(err.location.pointer).toBe('/storage/filesystems/0/path');
    expect(mounts()).toEqual([]);
  });

  it('after a failed mount nothing stays mounted', async () => {
    const dev = disk('fail');
    const root = join(lab.dir, 'root3');
    mkdirSync(root);
    const config = parseConfig(
      JSON.stringify({
        ignition: { version: '3.4.0' },
        storage: {
          filesystems: [
            { device: partNode(dev, 1), format: 'ext4', path: '/a' },
            { device: partNode(dev, 2), format: 'btrfs', path: '/a/b', mountOptions: ['doesnotexist'] },
          ],
        },
      }),
    ).config;
    const ctx = localContext({ config, root, options: {} });
    const err = await mountStage.apply(ctx, await mountStage.plan(ctx)).catch((e) => e);
    expect(err.location.pointer).toBe('/storage/filesystems/1');
    expect(mounts()).toEqual([]);
    // umount after the failure is a clean no-op
    await umountStage.apply(ctx, await umountStage.plan(ctx));
  });
});
