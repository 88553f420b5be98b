// Roots that try to steer writes outside themselves: absolute symlinks naming host paths, ../
// chains, link chains, a symlink as the last component, a file where a directory is expected, an
// immutable directory. Each run must either fail with a clear error or land inside the root, and
// the directory outside the root must be byte-for-byte unchanged.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { resolveInRoot } from '../../src/root/resolve.js';
import { cleanupTemps, dataUrl, runFiles, snapshot, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const cfg = (storage: Config['storage'], extra: Partial<Config> = {}): Config => ({ ignition: { version: '3.6.0' }, storage, ...extra });

function setup() {
  const outside = tempDir('kindling-outside-');
  writeFileSync(path.join(outside, 'victim'), 'do not touch');
  mkdirSync(path.join(outside, 'sub'));
  const root = tempDir('kindling-hostile-');
  return { outside, root, before: snapshot(outside) };
}

describe('resolveInRoot', () => {
  it('follows absolute links from the root, clamps ../ chains and keeps the last component', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'real/dir'), { recursive: true });
    symlinkSync('/real', path.join(root, 'abs'));
    symlinkSync('../../../../../real', path.join(root, 'up'));
    symlinkSync('abs', path.join(root, 'chain'));
    symlinkSync('/real/dir', path.join(root, 'real/last'));
    expect(await resolveInRoot(root, '/abs/x')).toBe(path.join(root, 'real/x'));
    expect(await resolveInRoot(root, '/up/x')).toBe(path.join(root, 'real/x'));
    expect(await resolveInRoot(root, '/chain/dir/x')).toBe(path.join(root, 'real/dir/x'));
    // The last component is never followed.
    expect(await resolveInRoot(root, '/real/last')).toBe(path.join(root, 'real/last'));
    expect(await resolveInRoot(root, '/../../etc/x')).toBe(path.join(root, 'etc/x'));
  });

  it('reports link loops and files used as directories', async () => {
    const root = tempDir();
    symlinkSync('/loop2', path.join(root, 'loop1'));
    symlinkSync('/loop1', path.join(root, 'loop2'));
    writeFileSync(path.join(root, 'file'), '');
    await expect(resolveInRoot(root, '/loop1/x')).rejects.toThrow(/too many levels of symbolic links/);
    await expect(resolveInRoot(root, '/file/x/y')).rejects.toThrow(/\/file is not a directory/);
  });
});

describe('hostile roots', () => {
  it('an absolute link to a host directory leads inside the root', async () => {
    const { outside, root, before } = setup();
    symlinkSync(outside, path.join(root, 'etc'));
    await runFiles(cfg({ files: [{ path: '/etc/victim', overwrite: true, contents: { source: dataUrl('mine') } }, { path: '/etc/sub/new', contents: { source: dataUrl('n') } }] }), root);
    expect(readFileSync(path.join(root, outside, 'victim'), 'utf8')).toBe('mine');
    expect(readFileSync(path.join(root, outside, 'sub/new'), 'utf8')).toBe('n');
    expect(snapshot(outside)).toEqual(before);
  });

  it('a ../ chain and a chain of links stop at the root', async () => {
    const { outside, root, before } = setup();
    const rel = path.relative(root, outside); // "../kindling-outside-XXXX"
    symlinkSync(`../../../../../../${rel}`, path.join(root, 'up'));
    symlinkSync('/up', path.join(root, 'hop'));
    await runFiles(cfg({ directories: [{ path: '/hop/sub', mode: 0o700 }], links: [{ path: '/up/victim', target: '/x', overwrite: true }] }), root);
    expect(statSync(path.join(root, path.basename(outside), 'sub')).mode & 0o777).toBe(0o700);
    expect(lstatSync(path.join(root, path.basename(outside), 'victim')).isSymbolicLink()).toBe(true);
    expect(snapshot(outside)).toEqual(before);
  });

  it('a symlink as the last component is replaced (overwrite) or refused, never written through', async () => {
    const { outside, root, before } = setup();
    symlinkSync(path.join(outside, 'victim'), path.join(root, 'f'));
    await expect(runFiles(cfg({ files: [{ path: '/f', append: [{ source: dataUrl('x') }] }] }), root)).rejects.toThrow(/non-regular file exists/);
    await expect(runFiles(cfg({ directories: [{ path: '/f' }] }), root)).rejects.toThrow(/non-directory already exists/);
    await runFiles(cfg({ files: [{ path: '/f', overwrite: true, contents: { source: dataUrl('in root') } }] }), root);
    expect(lstatSync(path.join(root, 'f')).isFile()).toBe(true);
    expect(snapshot(outside)).toEqual(before);
  });

  it('units, drop-ins and the preset file follow the same rule', async () => {
    const { outside, root, before } = setup();
    mkdirSync(path.join(root, 'etc'));
    symlinkSync(outside, path.join(root, 'etc/systemd'));
    await runFiles(
      { ignition: { version: '3.6.0' }, systemd: { units: [{ name: 'a.service', contents: '[Unit]\n', enabled: true, dropins: [{ name: 'x.conf', contents: '' }] }, { name: 'm.service', mask: true }] } },
      root,
    );
    const inRoot = path.join(root, outside);
    expect(readFileSync(path.join(inRoot, 'system/a.service'), 'utf8')).toBe('[Unit]\n');
    expect(readFileSync(path.join(inRoot, 'system-preset/20-ignition.preset'), 'utf8')).toBe('enable a.service\n');
    expect(snapshot(outside)).toEqual(before);
  });

  it('a file where a directory is expected is a clear error', async () => {
    const { outside, root, before } = setup();
    writeFileSync(path.join(root, 'etc'), 'not a dir');
    await expect(runFiles(cfg({ files: [{ path: '/etc/x/y', contents: { source: dataUrl('') } }] }), root)).rejects.toThrow(/\/etc is not a directory/);
    await expect(runFiles(cfg({ files: [{ path: '/etc/x', contents: { source: dataUrl('') } }] }), root)).rejects.toThrow(/failed to create file \/etc\/x/);
    expect(readFileSync(path.join(root, 'etc'), 'utf8')).toBe('not a dir');
    expect(snapshot(outside)).toEqual(before);
  });

  it('an immutable directory (even root cannot write) is a clear error naming the entry', async () => {
    const { root } = setup();
    mkdirSync(path.join(root, 'ro'));
    try {
      execFileSync('chattr', ['+i', path.join(root, 'ro')]);
    } catch {
      return; // not ext4 / not root: nothing to check here
    }
    try {
      const err = await runFiles(cfg({ files: [{ path: '/ro/x', contents: { source: dataUrl('x') } }] }), root).catch((e) => e);
      expect(err.message).toMatch(/failed to create file \/ro\/x: .*(EPERM|permitted)/);
      expect(err.location.pointer).toBe('/storage/files/0');
      expect(snapshot(path.join(root, 'ro'))).toEqual({});
    } finally {
      execFileSync('chattr', ['-i', path.join(root, 'ro')]);
    }
  });
});
