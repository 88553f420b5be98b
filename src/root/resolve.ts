// Paths of the config resolved inside a target root, the way Ignition's JoinPath does it: every
// component but the last is looked up on disk, and a symlink found there is followed as if the
// root were "/" (an absolute target starts again at ROOT, "../" chains stop at ROOT). The last
// component is never followed, so a config entry replaces or inspects the node itself.
//
// One deliberate difference: Ignition follows a symlink found this way only one level deep, so a
// link to a link to "/x" would be opened by the kernel on the *host*. We keep following (inside the
// root) until no link is left, which gives the same answer whenever Ignition stays inside the
// root, and never lets a hostile root steer a write outside it.
import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { KindlingError } from '../errors.js';

/** Linux gives up after 40 links (ELOOP); so do we. */
const MAX_LINKS = 40;

/** Already clean: "/" and one or more "/name" with no empty, "." or ".." component. */
const CLEAN = /^(?:\/(?!\.\.?(?:\/|$))[^/]+)+$/;

/** Lexically cleaned absolute path ("/a/./b/../c" -> "/a/c"; ".." at "/" stays at "/"). */
export function cleanAbs(p: string): string {
  // Config paths are nearly always clean already; the regular expression is cheaper than resolve.
  return CLEAN.test(p) ? p : path.posix.resolve('/', p);
}

/** "/a/b/c" -> ["a", "b", "c"]; "/" -> []. */
export function splitComponents(p: string): string[] {
  return cleanAbs(p).split('/').filter((c) => c !== '');
}

class LinkBudget {
  constructor(public left = MAX_LINKS) {}
  spend(where: string): void {
    if (--this.left < 0) {
      throw new KindlingError('files', `too many levels of symbolic links while resolving ${where} inside the target root`);
    }
  }
}

/**
 * Resolve every component of an in-root path, following symlinks (inside the root) for all of
 * them when followLast is true, for all but the last otherwise. Returns the in-root path ("/...").
 */
// Synchronous on purpose: a resolution is a handful of lstat calls, and the files stage resolves
// every entry of a config (10,000 files: 30,000 lstats). Through libuv's thread pool each call
// costs a round trip; made directly they cost microseconds.
function resolveRooted(root: string, inRoot: string, followLast: boolean, budget: LinkBudget): string {
  const comps = splitComponents(inRoot);
  const last = followLast ? undefined : comps.pop();
  let real = '/';
  for (const comp of comps) {
    const candidate = path.posix.join(real, comp);
    const host = path.join(root, candidate);
    let st;
    try {
      // throwIfNoEntry: a missing component is the common case (directories not created yet), and
      // an exception per call costs more than the system call itself.
      st = lstatSync(host, { throwIfNoEntry: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') {
        throw new KindlingError('files', `cannot resolve ${inRoot} inside the target root: ${path.posix.dirname(candidate)} is not a directory`, { cause: err });
      }
      throw new KindlingError('files', `cannot resolve ${inRoot} inside the target root: ${(err as Error).message}`, { cause: err });
    }
    if (st === undefined) {
      real = candidate;
      continue;
    }
    if (!st.isSymbolicLink()) {
      real = candidate;
      continue;
    }
    budget.spend(inRoot);
    const target = readlinkSync(host);
    // Relative targets are relative to the link's directory; absolute ones restart at the root.
    const joined = path.posix.isAbsolute(target) ? cleanAbs(target) : cleanAbs(path.posix.join(path.posix.dirname(candidate), target));
    real = resolveRooted(root, joined, true, budget);
  }
  return last === undefined ? real : path.posix.join(real, last);
}

/**
 * Where a config path lands on disk: an absolute host path that is always ROOT itself or below it.
 * The last component is not followed (Ignition's JoinPath).
 */
export function resolveInRootSync(root: string, configPath: string): string {
  return joinRoot(root, resolveRooted(root, configPath, false, new LinkBudget()));
}

export async function resolveInRoot(root: string, configPath: string): Promise<string> {
  return resolveInRootSync(root, configPath);
}

/** Like resolveInRoot, but the last component is followed too (where a link's target really is). */
export function resolveInRootFollowSync(root: string, configPath: string): string {
  return joinRoot(root, resolveRooted(root, configPath, true, new LinkBudget()));
}

export async function resolveInRootFollow(root: string, configPath: string): Promise<string> {
  return resolveInRootFollowSync(root, configPath);
}

/**
 * resolveInRoot for many paths at once while nothing changes on disk (planning): the resolution of
 * each parent directory is remembered, so 10,000 files in 100 directories cost ~100 resolutions.
 */
export class RootResolver {
  private readonly dirs = new Map<string, string>();
  constructor(private readonly root: string) {}

  /** Host path of configPath, last component not followed. */
  resolve(configPath: string): string {
    const clean = cleanAbs(configPath);
    if (clean === '/') return joinRoot(this.root, '/');
    const dir = path.posix.dirname(clean);
    let real = this.dirs.get(dir);
    if (real === undefined) {
      real = resolveRooted(this.root, dir, true, new LinkBudget());
      this.dirs.set(dir, real);
    }
    return joinRoot(this.root, path.posix.join(real, path.posix.basename(clean)));
  }
}

// The last root resolved (a stage uses one root for thousands of paths).
let lastRoot = '';
let lastResolved = '/';
function resolvedRoot(root: string): string {
  if (root !== lastRoot) {
    lastResolved = path.resolve(root);
    lastRoot = root;
  }
  return lastResolved;
}

/** ROOT + an in-root path, cleaned; never above ROOT. */
export function joinRoot(root: string, inRoot: string): string {
  const r = resolvedRoot(root);
  const clean = cleanAbs(inRoot);
  // Both are clean and absolute: concatenation is path.join's answer (which keeps the "/" of
  // joinRoot(root, "/")).
  return r === '/' ? clean : clean === '/' ? r + '/' : r + clean;
}

/** The in-root form ("/etc/x") of a host path under root, for messages and plans. */
export function toInRoot(root: string, hostPath: string): string {
  const r = resolvedRoot(root);
  if (hostPath === r) return '/';
  if (r === '/' ? CLEAN.test(hostPath) : hostPath.startsWith(r + '/') && CLEAN.test(hostPath.slice(r.length))) return r === '/' ? hostPath : hostPath.slice(r.length);
  const rel = path.relative(r, hostPath);
  // "..." or "..x" is a name inside the root; only ".." itself leads out.
  if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
    throw new KindlingError('files', `internal error: ${hostPath} is outside the target root ${root}`);
  }
  return '/' + rel.split(path.sep).join('/');
}

/** Ignition's depth of a path: the number of components ("/" is 0, "/a/b" is 2). */
export function pathDepth(p: string): number {
  return splitComponents(p).length;
}
