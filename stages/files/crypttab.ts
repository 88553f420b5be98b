// LUKS persistence in the real root, after Ignition's files stage (createCrypttabEntries, run
// after units and before the report): every storage.luks volume gets one /etc/crypttab line
//
//     NAME UUID=<cryptsetup luksUUID DEVICE> KEYFILE luks[,_netdev]
//
// appended (the file is created if missing, mode 0600, root-owned when new). KEYFILE is
// /etc/luks/NAME for a volume without clevis: the key the disks stage used (the config's keyFile
// or the generated one) is copied there, mode 0600, root:root, /etc/luks created 0700 if missing.
// With clevis it is "none" (clevis unlocks it; no key is copied). `_netdev` is added when clevis
// needs the network (tang servers, or a custom pin with needsNetwork). Ignition ≥ 2.15 persists
// `discard` and `openOptions` in the LUKS2 header (luksOpen --persistent) and leaves them out of
// crypttab on purpose, so they never appear here either.
//
// Where the key comes from: like Ignition, the disks stage records it in the state file
// (luksPersistKeyFiles, a data: URL) and keeps a copy under its state directory (luks-keyfiles/NAME,
// which cryptsetup used). After the keys are in the root, both are removed, so the key lives only
// on the root filesystem (which may itself be encrypted). A volume without clevis whose key
// cannot be found is refused (Ignition: "missing persisted keyfile for NAME").
//
// Deviations (documented in docs/disks.md), so that a rerun converges where Ignition would fail or
// duplicate: an existing /etc/luks/NAME with the same key is kept, one whose key no longer opens
// the volume (it was formatted again) is replaced, one with another key that still opens it is
// refused in planning; a crypttab line already present is not appended twice, and a line for the
// same volume name from an earlier run is replaced in place.
// The plan names the files, modes and crypttab lines, never key bytes.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Config, Luks } from '../../src/config/types.js';
import { KindlingError, toPointer } from '../../src/errors.js';
import { resolveExisting } from '../../src/disk/resolve.js';
import { run } from '../../src/system/exec.js';
import { disksOptions } from '../disks/options.js';
import { clevisConfig } from '../disks/luks.js';
import type { PlannedOp, StageContext } from '../types.js';

export const CRYPTTAB_PATH = '/etc/crypttab';
export const LUKS_KEY_DIR = '/etc/luks';
export const CRYPTTAB_OP_KINDS = ['luks.keyfile-dir', 'luks.keyfile', 'crypttab.entry', 'luks.forget-keys'] as const;

interface StateLike {
  luksPersistKeyFiles?: Record<string, string> | null;
}

function fail(pointer: string, message: string, cause?: unknown): never {
  throw new KindlingError('files', message, { location: { pointer }, cause });
}

function stateOf(ctx: StageContext): StateLike | undefined {
  const s = (ctx.options ?? {}).state;
  return s && typeof s === 'object' ? (s as StateLike) : undefined;
}

/** The directory where the disks stage kept the key files it handed to cryptsetup. */
export function runKeyDir(ctx: StageContext): string {
  return path.join(disksOptions(ctx).stateDir, 'luks-keyfiles');
}

/** Clevis binds the volume (Ignition's Clevis.IsPresent()): tang servers, tpm2 or a custom pin. */
export function clevisPresent(l: Luks): boolean {
  return clevisConfig(l) !== undefined;
}

/** The options field Ignition writes: "luks", plus "_netdev" when clevis needs the network. */
export function crypttabOptions(l: Luks): string {
  const c = l.clevis;
  const netdev = !!c && ((c.tang?.length ?? 0) > 0 || (!!c.custom?.pin && c.custom.needsNetwork === true));
  return netdev ? 'luks,_netdev' : 'luks';
}

export function crypttabLine(l: Luks, uuid: string): string {
  const keyfile = clevisPresent(l) ? 'none' : `${LUKS_KEY_DIR}/${l.name}`;
  return `${l.name} UUID=${uuid} ${keyfile} ${crypttabOptions(l)}\n`;
}

/** The key the disks stage kept for a volume: from the state file, else its state directory. */
function findKey(ctx: StageContext, name: string): { key: Buffer; from: string } | undefined {
  const url = stateOf(ctx)?.luksPersistKeyFiles?.[name];
  if (typeof url === 'string') {
    const comma = url.indexOf(',');
    if (url.startsWith('data:') && comma > 0) {
      const meta = url.slice(5, comma);
      const body = url.slice(comma + 1);
      const key = meta.endsWith(';base64') ? Buffer.from(body, 'base64') : Buffer.from(decodeURIComponent(body), 'latin1');
      return { key, from: 'the state file (luksPersistKeyFiles)' };
    }
  }
  const file = path.join(runKeyDir(ctx), name);
  try {
    return { key: readFileSync(file), from: file };
  } catch {
    return undefined;
  }
}

/** Config device → the node to ask cryptsetup about (deviceMap for images, by-* names without udev). */
async function luksDevice(ctx: StageContext, device: string): Promise<string | undefined> {
  const o = disksOptions(ctx);
  let mapped = o.deviceMap[device];
  if (!mapped) {
    for (const [from, to] of Object.entries(o.deviceMap)) {
      const rest = device.startsWith(from) ? device.slice(from.length) : '';
      const m = /^p?(\d+)$/.exec(rest);
      if (m) mapped = /\d$/.test(to) ? `${to}p${m[1]}` : `${to}${m[1]}`;
    }
  }
  return resolveExisting(mapped ?? device, o.candidateDisks);
}

async function luksUuid(device: string, pointer: string): Promise<string> {
  const r = await run('cryptsetup', ['luksUUID', device], { allowFailure: true });
  const uuid = r.stdout.trim();
  if (r.exitCode !== 0 || !uuid) fail(pointer, `gathering the LUKS UUID of ${device}: ${(r.stderr || r.stdout).trim() || `cryptsetup exited with ${r.exitCode}`}`);
  return uuid;
}

/** Whether a key file opens a LUKS volume's header (no device-mapper needed). */
async function keyOpens(device: string, keyFile: string): Promise<boolean> {
  const r = await run('cryptsetup', ['luksOpen', '--test-passphrase', '--key-file', keyFile, device], { allowFailure: true });
  return r.exitCode === 0;
}

/** Host path of an in-root path whose parents must be plain directories (no symlinks) inside the root. */
function hostPath(root: string, inRoot: string, pointer: string): string {
  let cur = path.resolve(root);
  for (const comp of inRoot.split('/').filter(Boolean)) {
    cur = path.join(cur, comp);
    const st = lstatSync(cur, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) fail(pointer, `${inRoot}: ${path.relative(root, cur)} in the target root is a symbolic link; Kindling does not write LUKS keys through links`);
  }
  return cur;
}

export async function planCrypttab(ctx: StageContext): Promise<PlannedOp[]> {
  const config: Config = ctx.config;
  const volumes = config.storage?.luks ?? [];
  if (volumes.length === 0) return [];
  const dryRun = (ctx.options ?? {}).dryRun === true;
  const root = ctx.root;
  const ops: PlannedOp[] = [];
  const keyOps: PlannedOp[] = [];
  const lines: PlannedOp[] = [];
  const crypttab = hostPath(root, CRYPTTAB_PATH, '/storage/luks');
  const existing = existsSync(crypttab) ? readFileSync(crypttab, 'utf8') : '';
  const existingLines = new Set(existing.split('\n').map((x) => x + '\n'));
  for (const [i, l] of volumes.entries()) {
    const pointer = toPointer(['storage', 'luks', i]);
    if (!l.device) fail(pointer, `LUKS volume ${l.name} has no device`);
    const withKey = !clevisPresent(l);
    let dev: string | undefined;
    let uuid: string | undefined;
    if (!dryRun) {
      dev = await luksDevice(ctx, l.device);
      if (!dev) fail(`${pointer}/device`, `LUKS volume ${l.name}: device ${l.device} does not exist (did the disks stage run?)`);
      uuid = await luksUuid(dev, `${pointer}/device`);
    }
    if (withKey) {
      const inRoot = `${LUKS_KEY_DIR}/${l.name}`;
      const target = hostPath(root, inRoot, pointer);
      const found = findKey(ctx, l.name);
      if (!found && !dryRun) fail(pointer, `missing persisted key file for LUKS volume ${l.name}: the disks stage left none in the state file or in ${runKeyDir(ctx)}`);
      let noop = false;
      let replace = false;
      const st = lstatSync(target, { throwIfNoEntry: false });
      if (st) {
        if (!st.isFile()) fail(pointer, `${inRoot} exists in the target root and is not a regular file; Ignition does not overwrite it`);
        if (found && !readFileSync(target).equals(found.key)) {
          // A rerun after the volume was formatted again (new key): the old key opens nothing any
          // more and is replaced. A different key that still opens the volume is not touched.
          if (!dev || (await keyOpens(dev, target))) fail(pointer, `${inRoot} exists in the target root with another key that still opens ${l.device}; Ignition does not overwrite it`);
          replace = true;
        } else noop = !!found;
      }
      const summary = noop
        ? `keep ${inRoot}: it already holds the key of LUKS volume ${l.name}`
        : `${replace ? 'replace the stale key (it no longer opens the volume) at' : 'copy the key of LUKS volume ' + l.name + ' to'} ${inRoot} (0600 root:root) from ${found?.from ?? 'the disks stage (read when applied)'}`;
      const op: PlannedOp = { kind: 'luks.keyfile', pointer, summary, details: { name: l.name, path: inRoot, mode: 0o600, from: found?.from ?? null, replace } };
      keyOps.push(noop ? { ...op, noop: true } : op);
    }
    const line = uuid ? crypttabLine(l, uuid) : undefined;
    const present = !!line && existingLines.has(line);
    const stale = existing.split('\n').filter((x) => x.split(/\s+/)[0] === l.name && x + '\n' !== line);
    const shown = line ? line.trimEnd() : `${l.name} UUID=<luksUUID of ${l.device}, read when applied> ${withKey ? `${LUKS_KEY_DIR}/${l.name}` : 'none'} ${crypttabOptions(l)}`;
    const op: PlannedOp = {
      kind: 'crypttab.entry',
      pointer,
      summary: present && !stale.length ? `${CRYPTTAB_PATH} already has "${shown}"` : stale.length ? `replace the ${CRYPTTAB_PATH} line of ${l.name} ("${stale[0]}") with "${shown}" (0600)` : `append "${shown}" to ${CRYPTTAB_PATH} (0600)`,
      details: { path: CRYPTTAB_PATH, name: l.name, device: l.device, uuid: uuid ?? null, keyFile: withKey ? `${LUKS_KEY_DIR}/${l.name}` : 'none', options: crypttabOptions(l), line: line ?? null, mode: 0o600, replaces: stale },
    };
    lines.push(present && !stale.length ? { ...op, noop: true } : op);
  }
  if (keyOps.length && !existsSync(hostPath(root, LUKS_KEY_DIR, '/storage/luks'))) {
    ops.push({ kind: 'luks.keyfile-dir', pointer: '/storage/luks', summary: `create ${LUKS_KEY_DIR} (0700 root:root) for the LUKS key files`, details: { path: LUKS_KEY_DIR, mode: 0o700 } });
  }
  ops.push(...keyOps, ...lines);
  ops.push({ kind: 'luks.forget-keys', pointer: '/storage/luks', summary: `forget the LUKS keys the disks stage kept (state file luksPersistKeyFiles, ${runKeyDir(ctx)}): they now live only in the root`, details: { dir: runKeyDir(ctx) } });
  return ops;
}

function writeAtomic(target: string, data: Buffer | string, mode: number, owner: { uid: number; gid: number }, unprivileged: boolean): void {
  const tmp = path.join(path.dirname(target), `.kindling-${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
    closeSync(fd);
    try {
      chownSync(tmp, owner.uid, owner.gid);
    } catch (err) {
      if (!(unprivileged && (err as NodeJS.ErrnoException).code === 'EPERM')) throw err;
    }
    chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}

export async function applyCrypttabOp(ctx: StageContext, op: PlannedOp): Promise<void> {
  const root = ctx.root;
  const unprivileged = (ctx.options ?? {}).unprivileged === true;
  const d = op.details;
  switch (op.kind) {
    case 'luks.keyfile-dir': {
      const dir = hostPath(root, LUKS_KEY_DIR, op.pointer);
      mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
      if (!existsSync(dir)) {
        mkdirSync(dir, { mode: 0o700 });
        try {
          chownSync(dir, 0, 0);
        } catch (err) {
          if (!(unprivileged && (err as NodeJS.ErrnoException).code === 'EPERM')) throw err;
        }
        chmodSync(dir, 0o700);
      }
      return;
    }
    case 'luks.keyfile': {
      if (op.noop) return;
      const name = d.name as string;
      const found = findKey(ctx, name);
      if (!found) fail(op.pointer, `missing persisted key file for LUKS volume ${name}`);
      const target = hostPath(root, d.path as string, op.pointer);
      mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
      if (!d.replace && existsSync(target) && !readFileSync(target).equals(found.key)) fail(op.pointer, `${d.path as string} appeared in the target root with another key; not overwritten`);
      writeAtomic(target, found.key, 0o600, { uid: 0, gid: 0 }, unprivileged);
      return;
    }
    case 'crypttab.entry': {
      if (op.noop) return;
      let line = d.line as string | null;
      const l = (ctx.config.storage?.luks ?? []).find((x) => x.name === d.name);
      if (!line) {
        if (!l) fail(op.pointer, `LUKS volume ${d.name as string} is not in the config`);
        const dev = await luksDevice(ctx, l.device!);
        if (!dev) fail(`${op.pointer}/device`, `LUKS volume ${l.name}: device ${l.device!} does not exist`);
        line = crypttabLine(l, await luksUuid(dev, `${op.pointer}/device`));
      }
      const target = hostPath(root, CRYPTTAB_PATH, op.pointer);
      mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
      const before = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
      const name = d.name as string;
      const rows = before === undefined ? [] : before.split('\n');
      const mine = rows.map((x, i) => (x.split(/\s+/)[0] === name ? i : -1)).filter((i) => i >= 0);
      if (mine.length === 1 && rows[mine[0]!] + '\n' === line) {
        chmodSync(target, 0o600);
        return;
      }
      let after: string;
      if (mine.length) {
        // A line for this volume from an earlier run (another UUID or key file): replaced in place.
        const [first, ...rest] = mine;
        const out = rows.map((x, i) => (i === first ? line!.trimEnd() : x)).filter((_x, i) => !rest.includes(i));
        after = out.join('\n');
      } else after = (before ?? '') + (before && !before.endsWith('\n') ? '\n' : '') + line;
      const st = before !== undefined ? statSync(target) : undefined;
      writeAtomic(target, after, 0o600, st ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 }, unprivileged);
      return;
    }
    case 'luks.forget-keys': {
      const state = stateOf(ctx);
      if (state) state.luksPersistKeyFiles = null;
      const dir = d.dir as string;
      for (const l of ctx.config.storage?.luks ?? []) {
        try {
          unlinkSync(path.join(dir, l.name));
        } catch {
          /* never kept, or already forgotten */
        }
      }
      return;
    }
    default:
      fail(op.pointer, `internal error: unknown LUKS persistence operation ${op.kind}`);
  }
}

export function isCrypttabOp(op: PlannedOp): boolean {
  return (CRYPTTAB_OP_KINDS as readonly string[]).includes(op.kind);
}
