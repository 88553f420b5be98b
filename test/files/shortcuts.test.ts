// The system calls the files stage leaves out for speed must never change the result:
//  - no lstat for a file whose directory this apply made (nothing can be there yet);
//  - no fchown when the kernel already gives the new file the wanted owner, no fchmod when it is
//    created with its final mode (the umask leaves it intact, no special bits).
// Each case below is one where a shortcut taken too eagerly would leave a different tree: a
// set-group-ID directory (new files inherit its group), a umask that strips bits, special bits,
// owners other than root, a directory entry changing a directory's group and set-group-ID bit
// between two files, and an existing file in a directory this apply did not make.
import { chownSync, chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { cleanupTemps, dataUrl, runFiles, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const cfg = (storage: Config['storage']): Config => ({ ignition: { version: '3.6.0' }, storage });
const st = (root: string, p: string) => {
  const s = statSync(path.join(root, p));
  return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
};

let savedUmask = 0;
beforeEach(() => {
  savedUmask = process.umask(0o022);
});
afterEach(() => {
  process.umask(savedUmask);
});

describe('files: syscalls left out change nothing', () => {
  it('a file in a set-group-ID directory still gets root:root (the kernel would hand down the group)', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'shared'));
    chownSync(path.join(root, 'shared'), 0, 4242);
    chmodSync(path.join(root, 'shared'), 0o2775);
    await runFiles(
      cfg({
        files: [
          { path: '/shared/f', contents: { source: dataUrl('x') } },
          // A directory made by this apply under it inherits the bit and the group.
          { path: '/shared/sub/g', contents: { source: dataUrl('y') } },
          { path: '/shared/h', contents: { source: dataUrl('z') }, group: { id: 4242 } },
        ],
      }),
      root,
    );
    expect(st(root, 'shared/f')).toEqual({ mode: 0o644, uid: 0, gid: 0 });
    expect(st(root, 'shared/sub').gid).toBe(4242);
    expect(st(root, 'shared/sub/g')).toEqual({ mode: 0o644, uid: 0, gid: 0 });
    expect(st(root, 'shared/h')).toEqual({ mode: 0o644, uid: 0, gid: 4242 });
  });

  it('modes the umask would strip, special bits and other owners are set exactly', async () => {
    const root = tempDir();
    process.umask(0o077);
    await runFiles(
      cfg({
        files: [
          { path: '/m/open', contents: { source: dataUrl('a') }, mode: 0o666 },
          { path: '/m/default', contents: { source: dataUrl('b') } },
          { path: '/m/suid', contents: { source: dataUrl('c') }, mode: 0o4755 },
          { path: '/m/sticky', contents: { source: dataUrl('d') }, mode: 0o1600 },
          { path: '/m/user', contents: { source: dataUrl('e') }, mode: 0o640, user: { id: 1000 }, group: { id: 100 } },
          { path: '/m/ro', contents: { source: dataUrl('f') }, mode: 0o400 },
        ],
      }),
      root,
    );
    expect(st(root, 'm/open')).toEqual({ mode: 0o666, uid: 0, gid: 0 });
    expect(st(root, 'm/default')).toEqual({ mode: 0o644, uid: 0, gid: 0 });
    expect(st(root, 'm/suid')).toEqual({ mode: 0o4755, uid: 0, gid: 0 });
    expect(st(root, 'm/sticky')).toEqual({ mode: 0o1600, uid: 0, gid: 0 });
    expect(st(root, 'm/user')).toEqual({ mode: 0o640, uid: 1000, gid: 100 });
    expect(st(root, 'm/ro')).toEqual({ mode: 0o400, uid: 0, gid: 0 });
    expect(readFileSync(path.join(root, 'm/ro'), 'utf8')).toBe('f');
  });

  it('a directory entry that sets a group and set-group-ID between two files is seen by the second', async () => {
    const root = tempDir();
    await runFiles(
      cfg({
        // Depth order: /d (directory), then /d/a and /d/b... the directory made first by a deeper
        // file's parents would be stale knowledge if its new mode were not asked again.
        directories: [{ path: '/d/e', mode: 0o2755, group: { id: 777 } }],
        files: [
          { path: '/d/x', contents: { source: dataUrl('1') } },
          { path: '/d/e/y', contents: { source: dataUrl('2') } },
        ],
      }),
      root,
    );
    expect(st(root, 'd/e')).toEqual({ mode: 0o2755, uid: 0, gid: 777 });
    expect(st(root, 'd/e/y')).toEqual({ mode: 0o644, uid: 0, gid: 0 });
    expect(st(root, 'd/x')).toEqual({ mode: 0o644, uid: 0, gid: 0 });
  });

  it('an existing file in a directory this apply did not make is still refused', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'old'));
    writeFileSync(path.join(root, 'old/f'), 'keep');
    await expect(runFiles(cfg({ files: [{ path: '/new/g', contents: { source: dataUrl('n') } }, { path: '/old/f', contents: { source: dataUrl('x') } }] }), root)).rejects.toThrow(
      /exists there already and overwrite is false/,
    );
    expect(readFileSync(path.join(root, 'old/f'), 'utf8')).toBe('keep');
    expect(readFileSync(path.join(root, 'new/g'), 'utf8')).toBe('n');
  });
});
