// storage.directories, storage.files and storage.links, as Ignition's files stage creates them
// (internal/exec/stages/files/filesystemEntries.go and util/file.go):
//  - every path is resolved inside the root first (symlinks on disk followed as if the root were
//    "/", the last component not followed); two entries landing on the same place are an error;
//  - entries are created shallowest first (a stable sort on path depth), hard links after all else
//    so that they may point at files deeper than themselves;
//  - overwrite: true removes whatever is at the path first; otherwise an existing node must be of the
//    right kind: a directory is kept (mode/owner applied), a regular file is kept only when the entry
//    has no contents (it may append), a symlink only when it already points at the target, a hard
//    link only when it is already the same inode;
//  - missing parent directories are created with mode 0755 (less the umask), owned by root;
//  - files get mode 0644 unless a mode is given; an existing file kept as it is keeps its mode;
//    owner defaults to root for new files, to the current owner for nodes that stay;
//  - a new symlink is lchown'ed (default owner: that of what it points at, as Ignition's stat does,
//    but looked up inside the root); hard links are never chown'ed.
import { chmodSync, closeSync, fsyncSync, lchownSync, linkSync, lstatSync, mkdirSync, openSync, readlinkSync, readSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { Directory, File, Link, Resource } from '../../src/config/types.js';
import { KindlingError } from '../../src/errors.js';
import { lookupGroupSync, lookupUserSync } from '../../src/root/passwd.js';
import { cleanAbs, joinRoot, pathDepth, resolveInRootFollowSync, resolveInRootSync, RootResolver, toInRoot } from '../../src/root/resolve.js';
import { writeAllSync } from '../../src/system/write-all.js';
import { isRemote, materialize, type Prefetcher } from './content.js';
import type { StageContextConfig } from './context.js';
import type { DirectoryDetails, FileDetails, FilesOp, LinkDetails, OwnerSpec } from './types.js';
import { chownOrReportSync } from './users.js';
import { entryAt, errno, octal, ownerSpec, showOwner, summarizeResource } from './util.js';

export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_DIR_MODE = 0o755;

interface Pending {
  op: FilesOp;
  depth: number;
}

function fail(op: { pointer: string }, message: string, cause?: unknown): KindlingError {
  return new KindlingError('files', message, { location: { pointer: op.pointer }, cause });
}

export async function planNodes(cfg: StageContextConfig): Promise<FilesOp[]> {
  const storage = cfg.config.storage ?? {};
  const seen = new Map<string, string>();
  const entries: Pending[] = [];
  const hardlinks: Pending[] = [];

  const resolver = new RootResolver(cfg.root);
  const resolve = (what: string, p: string, pointer: string): string => {
    let host: string;
    try {
      host = resolver.resolve(p);
    } catch (err) {
      throw fail({ pointer }, `${what} at ${p}: ${(err as Error).message}`, err);
    }
    const resolved = toInRoot(cfg.root, host);
    const other = seen.get(resolved);
    if (other !== undefined) {
      throw fail({ pointer }, `${what} at ${p} resolved to ${resolved} after symlink chasing, but another entry with path ${other} also resolves there`);
    }
    seen.set(resolved, p);
    return resolved;
  };

  for (const [i, d] of (storage.directories ?? []).entries()) {
    const pointer = `/storage/directories/${i}`;
    const resolved = resolve('Directory', d.path, pointer);
    const details: DirectoryDetails = { path: d.path, resolved, overwrite: d.overwrite === true, ...owners(d), ...(d.mode !== undefined ? { mode: d.mode } : {}) };
    const mode = d.mode !== undefined ? octal(d.mode) : 'mode 0755 or as it is';
    entries.push({
      depth: pathDepth(resolved),
      op: { kind: 'directory.create', pointer, summary: `directory ${d.path}${via(d.path, resolved)} (${mode}, ${showOwner(details.user, details.group, 'keep')})`, details: { ...details } },
    });
  }
  for (const [i, f] of (storage.files ?? []).entries()) {
    const pointer = `/storage/files/${i}`;
    const resolved = resolve('File', f.path, pointer);
    const contents = f.contents ? summarizeResource(f.contents) : undefined;
    const append = (f.append ?? []).map(summarizeResource).filter((x) => x !== undefined);
    const details: FileDetails = {
      path: f.path,
      resolved,
      overwrite: f.overwrite === true,
      ...owners(f),
      ...(f.mode !== undefined ? { mode: f.mode } : {}),
      ...(contents ? { contents } : {}),
      append,
    };
    const mode = f.mode !== undefined ? octal(f.mode) : contents ? octal(DEFAULT_FILE_MODE) : 'mode kept or 0644';
    const what = contents ? `from ${contents.source}` : 'keep or create empty';
    const plus = append.length ? `, append ${append.length} resource${append.length === 1 ? '' : 's'}` : '';
    entries.push({
      depth: pathDepth(resolved),
      op: { kind: 'file.write', pointer, summary: `file ${f.path}${via(f.path, resolved)} (${mode}, ${showOwner(details.user, details.group)}, ${what}${plus})`, details: { ...details } },
    });
  }
  for (const [i, l] of (storage.links ?? []).entries()) {
    const pointer = `/storage/links/${i}`;
    const resolved = resolve('Link', l.path, pointer);
    const hard = l.hard === true;
    if (l.target === undefined) throw fail({ pointer }, `link ${l.path} has no target`);
    const details: LinkDetails = { path: l.path, resolved, overwrite: l.overwrite === true, ...owners(l), target: l.target, hard };
    const p: Pending = {
      depth: pathDepth(resolved),
      op: { kind: 'link.create', pointer, summary: `${hard ? 'hard' : 'symbolic'} link ${l.path}${via(l.path, resolved)} -> ${l.target}`, details: { ...details } },
    };
    (hard ? hardlinks : entries).push(p);
  }
  // Array.prototype.sort is stable: entries of equal depth keep the config's order.
  entries.sort((a, b) => a.depth - b.depth);
  return [...entries, ...hardlinks].map((p) => p.op);
}

function via(p: string, resolved: string): string {
  return cleanAbs(p) === resolved ? '' : ` (resolves to ${resolved})`;
}

function owners(n: { user?: { id?: number; name?: string }; group?: { id?: number; name?: string } }): { user?: OwnerSpec; group?: OwnerSpec } {
  const user = ownerSpec(n.user);
  const group = ownerSpec(n.group);
  return { ...(user ? { user } : {}), ...(group ? { group } : {}) };
}

/** Ignition's ResolveNodeUidAndGid: ids as given, names looked up in the target root now. */
function resolveOwner(cfg: StageContextConfig, op: FilesOp, d: NodeDetailsLike, dfltUid: number, dfltGid: number): [number, number] {
  let uid = dfltUid;
  let gid = dfltGid;
  if (d.user?.id !== undefined) uid = d.user.id;
  else if (d.user?.name) {
    const u = lookupUserSync(cfg.root, d.user.name);
    if (!u) throw fail(op, `${d.path}: no such user "${d.user.name}" in the target root`);
    uid = u.uid;
  }
  if (d.group?.id !== undefined) gid = d.group.id;
  else if (d.group?.name) {
    const g = lookupGroupSync(cfg.root, d.group.name);
    if (!g) throw fail(op, `${d.path}: no such group "${d.group.name}" in the target root`);
    gid = g.gid;
  }
  return [uid, gid];
}

type NodeDetailsLike = { path: string; user?: OwnerSpec; group?: OwnerSpec };

// The executors below use synchronous fs calls: the stage is sequential by nature, and a direct
// syscall costs microseconds where a libuv thread-pool round trip costs far more (10,000 files).

function lstatOrUndefined(p: string): Stats | undefined {
  return lstatSync(p, { throwIfNoEntry: false });
}

/** Owner of what p points at (following links inside the root), 0:0 when there is nothing. */
function ownerOfFollowed(cfg: StageContextConfig, p: string): [number, number] {
  try {
    const st = statSync(resolveInRootFollowSync(cfg.root, toInRoot(cfg.root, p)));
    return [st.uid, st.gid];
  } catch {
    return [0, 0];
  }
}

/** Ignition's SetPermissions: owner (given, or kept), then the mode when one is given. */
function setPermissions(cfg: StageContextConfig, op: FilesOp, p: string, d: NodeDetailsLike, mode: number | undefined): void {
  let st: Stats | undefined;
  try {
    st = statSync(p);
  } catch {
    st = undefined;
  }
  const [uid, gid] = resolveOwner(cfg, op, d, st?.uid ?? 0, st?.gid ?? 0);
  // Always chown, as Ignition does (even to the same owner: the kernel then drops setuid/setgid of
  // a kept file, as it does under Ignition). chown before chmod, so that a given mode survives.
  chownOrReportSync(cfg, p, uid, gid, lchownSync);
  if (mode !== undefined) chmodSync(p, mode & 0o7777);
}

/**
 * os.MkdirAll(dir, 0755): missing directories created with 0755 less the umask, owned by us.
 * Directories made or seen during this apply are remembered (forgotten whenever anything is
 * removed), so 10,000 files in one directory make one mkdir call, not 10,000. Those this apply
 * made are marked fresh: nothing is in them but what this apply put there.
 */
function mkdirParents(cfg: StageContextConfig, dir: string): void {
  if (cfg.knownDirs.has(dir)) return;
  const first = mkdirSync(dir, { recursive: true, mode: DEFAULT_DIR_MODE });
  if (first === undefined) {
    cfg.knownDirs.set(dir, { fresh: false });
    return;
  }
  // mkdir -p made `first` and everything below it down to `dir`.
  for (let d = dir; ; d = path.dirname(d)) {
    cfg.knownDirs.set(d, { fresh: true });
    if (d === first || d === path.dirname(d)) break;
  }
}

/**
 * Can a new file at p skip the check for something already there? Yes when its directory is fresh
 * and p is not itself a directory this apply made: the plan gives every entry its own resolved
 * path, so nothing else of this apply can be at p.
 */
function surelyAbsent(cfg: StageContextConfig, p: string): boolean {
  return cfg.knownDirs.get(path.dirname(p))?.fresh === true && !cfg.knownDirs.has(p);
}

/** The owner the kernel gives a file created in dir (known dirs only; one stat per directory). */
function newFileOwner(cfg: StageContextConfig, dir: string): [number, number] | undefined {
  const k = cfg.knownDirs.get(dir);
  if (!k || typeof process.geteuid !== 'function') return undefined;
  if (!k.newOwner) {
    const st = statSync(dir);
    k.newOwner = [process.geteuid(), st.mode & 0o2000 ? st.gid : process.getegid!()];
  }
  return k.newOwner;
}

function removeAll(cfg: StageContextConfig, p: string): void {
  cfg.knownDirs.clear();
  rmSync(p, { recursive: true, force: true });
}

export async function applyDirectory(cfg: StageContextConfig, op: FilesOp): Promise<void> {
  const d = op.details as unknown as DirectoryDetails;
  const p = joinRoot(cfg.root, d.resolved);
  try {
    if (d.overwrite) removeAll(cfg, p);
    const st = lstatOrUndefined(p);
    if (!st) mkdirParents(cfg, p);
    else if (!st.isDirectory()) throw fail(op, `error creating directory ${d.path}: a non-directory already exists and overwrite is false`);
    setPermissions(cfg, op, p, d, d.mode);
    // Its group and set-group-ID bit may have changed: what a new file in it gets is asked again.
    const known = cfg.knownDirs.get(p);
    if (known) known.newOwner = undefined;
  } catch (err) {
    throw wrap(op, `failed to create directory ${d.path}`, err);
  }
}

export async function applyFile(cfg: StageContextConfig, op: FilesOp, prefetch: Prefetcher): Promise<void> {
  const d = op.details as unknown as FileDetails;
  const entry = entryAt<File>(cfg.config, op.pointer);
  const p = joinRoot(cfg.root, d.resolved);
  try {
    if (d.overwrite) removeAll(cfg, p);
    const st = surelyAbsent(cfg, p) ? undefined : lstatOrUndefined(p);
    let contents: Resource | undefined = entry.contents?.source !== undefined ? entry.contents : undefined;
    if (!st) {
      contents ??= { source: '' };
    } else if (!st.isFile()) {
      throw fail(op, `error creating file ${d.path}: a non-regular file exists there already and overwrite is false`);
    } else if (contents) {
      throw fail(op, `error creating file ${d.path}: a file exists there already and overwrite is false`);
    }
    const dir = path.dirname(p);
    if (contents) {
      mkdirParents(cfg, dir);
      const [uid, gid] = resolveOwner(cfg, op, d, 0, 0);
      const mode = (d.mode ?? DEFAULT_FILE_MODE) & 0o7777;
      const onChownDenied = (err: unknown) => chownOrReportSync(cfg, p, uid, gid, () => {
        throw err;
      });
      // Ignition chowns every new file; when the kernel already gives it that owner, the call
      // changes nothing (no special mode bits are set yet to be cleared) and is left out.
      const owner = newFileOwner(cfg, dir);
      const chown = !owner || owner[0] !== uid || owner[1] !== gid;
      const { tmp, permsApplied } = await materialize(cfg, contents, dir, prefetch.take(`${op.pointer}#contents`), { uid, gid, mode, chown, onChownDenied });
      try {
        if (!permsApplied) {
          chownOrReportSync(cfg, tmp, uid, gid);
          chmodSync(tmp, mode);
        }
        renameSync(tmp, p);
      } catch (err) {
        try {
          unlinkSync(tmp);
        } catch {
          /* renamed or gone */
        }
        throw err;
      }
    }
    const appends = entry.append ?? [];
    for (const [j, res] of appends.entries()) {
      if (res.source === undefined) continue;
      await appendTo(cfg, p, res, prefetch.take(`${op.pointer}#append/${j}`));
    }
    if (!contents || appends.length > 0) setPermissions(cfg, op, p, d, d.mode);
  } catch (err) {
    throw wrap(op, `failed to create file ${d.path}`, err);
  }
}

/** Fetches (verified) into a temporary file first, then appends it: a bad fetch changes nothing. */
async function appendTo(cfg: StageContextConfig, p: string, res: Resource, prefetched?: Promise<string>): Promise<void> {
  const st = lstatOrUndefined(p);
  if (st && !st.isFile()) throw new KindlingError('files', `can only append to regular files: ${toInRoot(cfg.root, p)}`);
  const dir = path.dirname(p);
  mkdirParents(cfg, dir);
  const { tmp } = await materialize(cfg, res, dir, prefetched);
  try {
    const src = openSync(tmp, 'r');
    const dst = openSync(p, 'a', st ? st.mode & 0o7777 : 0);
    try {
      const buf = Buffer.allocUnsafe(1 << 16);
      for (;;) {
        const n = readSync(src, buf, 0, buf.length, null);
        if (n === 0) break;
        writeAllSync(dst, buf.subarray(0, n));
      }
      if (cfg.fsync) fsyncSync(dst);
    } finally {
      closeSync(src);
      closeSync(dst);
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
  }
}

export async function applyLink(cfg: StageContextConfig, op: FilesOp): Promise<void> {
  const d = op.details as unknown as LinkDetails;
  const p = joinRoot(cfg.root, d.resolved);
  try {
    if (d.overwrite) removeAll(cfg, p);
    const st = lstatOrUndefined(p);
    if (st) {
      if (d.hard) {
        const tp = resolveInRootSync(cfg.root, d.target);
        const tst = lstatOrUndefined(tp);
        if (!tst) throw fail(op, `error creating hard link ${d.path}: target ${d.target} does not exist`);
        if (tst.ino !== st.ino || tst.dev !== st.dev) {
          throw fail(op, `error creating hard link ${d.path}: a file already exists at that path but is not the target and overwrite is false`);
        }
        cfg.log.info(`hard link ${d.path} to ${d.target} already exists, doing nothing`);
        return;
      }
      if (!st.isSymbolicLink()) throw fail(op, `error creating symlink ${d.path}: a non-symlink already exists at that path and overwrite is false`);
      const cur = readlinkSync(p);
      if (goClean(cur) !== goClean(d.target)) {
        throw fail(op, `error creating symlink ${d.path}: a symlink exists at that path but points to ${cur}, not ${d.target} and overwrite is false`);
      }
      cfg.log.info(`symlink ${d.path} to ${d.target} already exists, doing nothing`);
      return;
    }
    mkdirParents(cfg, path.dirname(p));
    if (d.hard) {
      linkSync(resolveInRootSync(cfg.root, d.target), p);
      return;
    }
    symlinkSync(d.target, p);
    const [du, dg] = ownerOfFollowed(cfg, p);
    const [uid, gid] = resolveOwner(cfg, op, d, du, dg);
    chownOrReportSync(cfg, p, uid, gid, lchownSync);
  } catch (err) {
    throw wrap(op, `failed to create link ${d.path}`, err);
  }
}

/** Go's filepath.Clean for comparing link targets ("a/../b" -> "b", "/x/" -> "/x", "" -> "."). */
export function goClean(p: string): string {
  if (p === '') return '.';
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n === './' ? '.' : n;
}

function wrap(op: FilesOp, what: string, err: unknown): KindlingError {
  if (err instanceof KindlingError) {
    return err.location ? err : new KindlingError(err.kind, `${what}: ${err.message}`, { location: { pointer: op.pointer }, cause: err });
  }
  return fail(op, `${what}: ${(err as Error).message}`, err);
}

/** Keys of the remote resources of the file ops, in write order (what the prefetcher starts). */
export function remoteResources(cfg: StageContextConfig, ops: FilesOp[]): Array<[string, Resource]> {
  const out: Array<[string, Resource]> = [];
  for (const op of ops) {
    if (op.kind !== 'file.write') continue;
    const f = entryAt<File>(cfg.config, op.pointer);
    if (isRemote(f.contents)) out.push([`${op.pointer}#contents`, f.contents!]);
    (f.append ?? []).forEach((r, j) => {
      if (isRemote(r)) out.push([`${op.pointer}#append/${j}`, r]);
    });
  }
  return out;
}

export type { Directory, Link };
