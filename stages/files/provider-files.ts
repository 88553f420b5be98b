// Files a platform provider hands to the files stage through the state file: Ignition's
// providerOutputFiles (2.16+), today only the hyperv platform's KVP pools
// (/var/lib/hyperv/.kvp_pool_N, src/acquire/kvp.ts), which the booted system's hv_kvp_daemon reads
// because the host will not send its pairs again this boot.
//
// Each entry is a storage.files entry as Ignition's MakeProviderOutputFile builds it: a path, the
// contents as a data: URL, a mode (0600 for the pools), overwrite: true, no owner (root:root).
// They are written like config files: the path resolved inside the root (the root's symlinks
// followed, never out of it), missing parent directories created 0755 root-owned, the file written
// to a temporary name and renamed into place, root-owned, the mode set. An existing node there is
// replaced (overwrite) or, with overwrite false, refused as Ignition refuses it. What Kindling
// does not take from a state file, it refuses rather than guesses: contents other than data:,
// compression, verification, append, an owner. A config entry at the same place is refused too
// (Ignition fails on two entries that resolve to one path). A file already holding the same
// bytes, mode and owner is a no-op, so a rerun converges.
//
// Placed after the LUKS persistence and before the report: the config's own directories (say a
// /var/lib/hyperv with another mode) exist by then. The plan names each file, its mode, size and,
// for a KVP pool, its record count; never the bytes (pool 0 holds the config). apply() reads the
// bytes from the state again through the entry's index.
import { lstatSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { KVP_POOL_DIR, KVP_RECORD_SIZE } from '../../src/acquire/kvp.js';
import type { ProviderOutputFile } from '../../src/acquire/state.js';
import { KindlingError } from '../../src/errors.js';
import { decodeDataUrl } from '../../src/resources/data.js';
import { resolveInRootSync, toInRoot } from '../../src/root/resolve.js';
import type { PlannedOp, StageContext } from '../types.js';
import { writeRootOwnedFile } from './atomic.js';
import type { StageContextConfig } from './context.js';

export const PROVIDER_FILE_OP = 'provider.file';

interface StateLike {
  providerOutputFiles?: unknown;
}

interface Entry {
  index: number;
  /** "/providerOutputFiles/N" in the state file. */
  where: string;
  path: string;
  mode: number;
  overwrite: boolean;
  data: Buffer;
}

function fail(message: string, cause?: unknown): never {
  throw new KindlingError('files', message, { cause });
}

function stateEntries(ctx: StageContext): unknown[] {
  const s = (ctx.options ?? {}).state as StateLike | undefined;
  const list = s && typeof s === 'object' ? s.providerOutputFiles : undefined;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) fail(`state file ${ctx.stateFile || ''}: providerOutputFiles is not a list`);
  return list;
}

function emptyish(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as object).every((x) => x === undefined || x === null);
  return false;
}

/** One entry, checked and decoded; anything Kindling would have to guess at is refused. */
function readEntry(ctx: StageContext, raw: unknown, index: number): Entry {
  const where = `/providerOutputFiles/${index}`;
  const bad = (why: string, cause?: unknown): never => fail(`provider output file ${where} in the state file ${ctx.stateFile || ''}: ${why}`, cause);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad('not an object');
  const e = raw as ProviderOutputFile;
  if (typeof e.path !== 'string' || !e.path.startsWith('/')) bad('path is not absolute');
  if (!emptyish(e.user) || !emptyish(e.group)) bad(`${e.path}: an owner other than root is not supported`);
  if (!emptyish(e.append)) bad(`${e.path}: append is not supported`);
  const c = e.contents ?? {};
  if (c.compression || !emptyish(c.verification) || !emptyish(c.httpHeaders)) bad(`${e.path}: compression, verification and HTTP headers are not supported`);
  let data: Buffer = Buffer.alloc(0);
  if (c.source !== undefined) {
    if (typeof c.source !== 'string' || !c.source.startsWith('data:')) bad(`${e.path}: only data: contents are written from the state file`);
    try {
      data = decodeDataUrl(c.source).data;
    } catch (err) {
      bad(`${e.path}: contents are not a valid data: URL (${(err as Error).message})`, err);
    }
  }
  const mode = e.mode ?? 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) bad(`${e.path}: invalid mode ${String(e.mode)}`);
  if (e.overwrite !== undefined && typeof e.overwrite !== 'boolean') bad(`${e.path}: overwrite is not a boolean`);
  return { index, where, path: e.path, mode, overwrite: e.overwrite === true, data };
}

/** hv_kvp_daemon's pool files hold 2560-byte records; anything else has none to count. */
function kvpRecords(p: string, bytes: number): number | undefined {
  return path.posix.dirname(p) === KVP_POOL_DIR && /^\.kvp_pool_\d+$/.test(path.posix.basename(p)) && bytes % KVP_RECORD_SIZE === 0 ? bytes / KVP_RECORD_SIZE : undefined;
}

function nodeKind(st: ReturnType<typeof lstatSync>): string {
  if (!st) return 'nothing';
  return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symbolic link' : 'special file';
}

/**
 * The plan's operations for the state's provider output files. `taken` maps in-root paths the
 * config's own entries land on to their pointers (a provider file there is refused).
 */
export function planProviderFiles(ctx: StageContext, cfg: StageContextConfig, taken: Map<string, string>): PlannedOp[] {
  const ops: PlannedOp[] = [];
  const seen = new Map<string, string>();
  for (const [i, raw] of stateEntries(ctx).entries()) {
    const e = readEntry(ctx, raw, i);
    const host = resolveInRootSync(cfg.root, e.path);
    const resolved = toInRoot(cfg.root, host);
    const clash = taken.get(resolved) ?? seen.get(resolved);
    if (clash !== undefined) {
      fail(`provider output file ${e.path} (${e.where} in the state file) resolves to ${resolved}, where ${clash.startsWith('/providerOutputFiles') ? 'another provider output file' : `the config's entry ${clash}`} also lands; Ignition refuses two entries at one path`);
    }
    seen.set(resolved, e.where);
    const st = lstatSync(host, { throwIfNoEntry: false });
    const kind = nodeKind(st);
    if (st && !e.overwrite) fail(`provider output file ${e.path}: a ${kind} exists at ${resolved} and overwrite is false`);
    const owned = cfg.unprivileged || (st?.uid === 0 && st?.gid === 0);
    const same = !!st && st.isFile() && owned && (st.mode & 0o7777) === e.mode && st.size === e.data.length && readFileSync(host).equals(e.data);
    const records = kvpRecords(e.path, e.data.length);
    const what = `${e.mode.toString(8).padStart(4, '0')} root:root, ${records !== undefined ? `${records} KVP record${records === 1 ? '' : 's'}, ` : ''}${e.data.length} bytes`;
    const from = `handed over by the ${ctx.platform || 'platform'} provider in the state file`;
    const summary = same
      ? `keep ${resolved}: it already holds the ${records !== undefined ? 'KVP pool' : 'file'} ${from} (${what})`
      : `${st ? `replace the ${kind} at` : 'write'} ${resolved} (${what}), ${from}`;
    const op: PlannedOp = {
      kind: PROVIDER_FILE_OP,
      pointer: '',
      summary,
      details: { path: e.path, resolved, mode: e.mode, bytes: e.data.length, records: records ?? null, overwrite: e.overwrite, replaces: st && !same ? kind : null, state: e.where },
    };
    ops.push(same ? { ...op, noop: true } : op);
  }
  return ops;
}

export function isProviderFileOp(op: PlannedOp): boolean {
  return op.kind === PROVIDER_FILE_OP;
}

export async function applyProviderFileOp(ctx: StageContext, cfg: StageContextConfig, op: PlannedOp): Promise<void> {
  if (op.noop) return;
  const d = op.details;
  const index = Number(String(d.state).split('/').pop());
  const raw = stateEntries(ctx)[index];
  if (raw === undefined) fail(`internal error: the plan names ${String(d.state)}, which is not in the state`);
  const e = readEntry(ctx, raw, index);
  // Resolved again: a link the config created meanwhile must not move the write elsewhere.
  const host = resolveInRootSync(cfg.root, e.path);
  const resolved = toInRoot(cfg.root, host);
  if (resolved !== d.resolved) fail(`provider output file ${e.path} now resolves to ${resolved}, not ${String(d.resolved)} as planned (a link in the config changed its way); not written`);
  const st = lstatSync(host, { throwIfNoEntry: false });
  if (st && !e.overwrite) fail(`provider output file ${e.path}: a ${nodeKind(st)} appeared at ${resolved} and overwrite is false`);
  // A regular file is replaced by the rename; anything else goes first (Ignition removes it).
  if (st && !st.isFile()) rmSync(host, { recursive: true, force: true });
  await writeRootOwnedFile(cfg, host, e.data, e.mode, cfg.fsync);
}
