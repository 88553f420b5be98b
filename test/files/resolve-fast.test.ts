// The fast paths of src/root/resolve.ts (cleanAbs, joinRoot, toInRoot skip path.resolve/relative
// when the input is already clean) must answer exactly what the general code answers. Compared
// over every path of up to five components drawn from names that exercise the corner cases
// ("", ".", "..", "...", ".a", "a.", "a b"), with and without trailing slashes, under several roots.
// (toInRoot used to call a name starting with ".." — "/..." — outside the root; it is not.)
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanAbs, joinRoot, toInRoot } from '../../src/root/resolve.js';

const NAMES = ['', '.', '..', '...', '.a', 'a.', 'a b', 'x'];

function* paths(depth: number): Generator<string> {
  if (depth === 0) {
    yield '';
    return;
  }
  for (const rest of paths(depth - 1)) for (const n of NAMES) yield `${rest}/${n}`;
}

const all = [...new Set([...[1, 2, 3, 4].flatMap((d) => [...paths(d)]), 'a', 'a/b', '', '/', '//', 'x/../..'])];
const slowClean = (p: string) => path.posix.resolve('/', p);
const slowToInRoot = (root: string, host: string) => {
  const rel = path.relative(path.resolve(root), host);
  if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) return 'outside';
  return '/' + rel.split(path.sep).join('/');
};

describe('resolve fast paths', () => {
  it('cleanAbs, joinRoot and toInRoot agree with path.resolve/join/relative', () => {
    expect(all.length).toBeGreaterThan(4000);
    for (const p of all) expect(cleanAbs(p), p).toBe(slowClean(p));
    for (const root of ['/', '/tmp/r', '/tmp/r/', '/tmp/./r', 'relative/dir']) {
      for (const p of all) {
        const host = joinRoot(root, p);
        expect(host, `${root} + ${p}`).toBe(path.join(path.resolve(root), slowClean(p)));
        expect(toInRoot(root, host), `${root} ${host}`).toBe(slowToInRoot(root, host));
        // Host paths as a caller may spell them (unclean, or outside the root).
        const odd = `${path.resolve(root)}/${p}`;
        const want = slowToInRoot(root, odd);
        if (want === 'outside') expect(() => toInRoot(root, odd), odd).toThrow(/outside the target root/);
        else expect(toInRoot(root, odd), odd).toBe(want);
      }
    }
  });
});
