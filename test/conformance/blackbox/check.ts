// Checks a case's `out` disks after a positive run, as the corpus README's checks say (and as
// upstream's validator does): partition set, names, sizes, type and unique GUIDs (sgdisk), then
// filesystem type/UUID/label (libblkid's low-level probe), then files, directories, links and
// removed nodes through a mount. Returns every mismatch found (empty = pass).
import { lstatSync, readFileSync, readlinkSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskSpec, PartitionSpec } from './corpus.js';
import { typeGuidOf, mountPartition, unmountPartition, type Cleanup } from './disks.js';
import { run } from './exec.js';

const fmtUuid = (s: string) => s.replace(/-/g, '').toUpperCase();

export function align(count: number, alignment: number): number {
  const off = count % alignment;
  return off === 0 ? count : count + alignment - off;
}

async function partitionSet(device: string): Promise<Set<number>> {
  const r = await run('sgdisk', ['-p', device], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`sgdisk -p ${device} failed: ${r.output}`);
  const set = new Set<number>();
  // Rows of the table: number, start, end, size ...
  for (const m of r.output.matchAll(/\n\W+(\d+)\W+\d+\W+\d+\W+\d+.*/g)) set.add(Number(m[1]));
  return set;
}

function search(what: string, re: RegExp, text: string): string {
  const m = re.exec(text);
  if (!m) throw new Error(`couldn't find ${what} in:\n${text}`);
  return m[1];
}

export async function checkDisk(d: DiskSpec, device: string, problems: string[]): Promise<void> {
  const set = await partitionSet(device);
  for (const e of d.partitions) {
    if (e.typeCode === 'blank') continue;
    if (!set.has(e.number)) {
      problems.push(`partition ${e.number} is missing`);
      continue;
    }
    set.delete(e.number);
    const r = await run('sgdisk', ['-i', String(e.number), device], { timeoutMs: 30_000 });
    if (r.code !== 0) {
      problems.push(`sgdisk -i ${e.number} failed: ${r.output}`);
      continue;
    }
    const guid = search('GUID', /Partition unique GUID: ([\w-]+)/, r.output);
    const typeGuid = search('type GUID', /Partition GUID code: ([\w-]+)/, r.output);
    const sectors = Number(search('partition size', /Partition size: (\d+) sectors/, r.output));
    const label = search('partition name', /Partition name: '(.*)'/, r.output);
    const want = align(e.lengthSectors, d.alignmentSectors);
    const wantType = typeGuidOf(e);
    if (wantType && fmtUuid(wantType) !== fmtUuid(typeGuid)) problems.push(`partition ${e.number}: type GUID ${typeGuid}, expected ${wantType}`);
    if (e.guid && fmtUuid(e.guid) !== fmtUuid(guid)) problems.push(`partition ${e.number}: GUID ${guid}, expected ${e.guid}`);
    if (e.label !== label) problems.push(`partition ${e.number}: name "${label}", expected "${e.label}"`);
    if (sectors !== want) problems.push(`partition ${e.number}: ${sectors} sectors, expected ${want}`);
  }
  if (set.size) problems.push(`disk has extra partitions: ${[...set].join(', ')}`);
}

interface FsInfo {
  type: string;
  uuid: string;
  label: string;
}

function parseExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Filesystem signature of a device; with `ambivalent`, several signatures are tolerated and the
 * one of the expected type is reported. */
export async function filesystemInfo(device: string, ambivalent: boolean, expectType: string): Promise<FsInfo> {
  const r = await run('blkid', ['-p', '-o', 'export', device], { timeoutMs: 30_000 });
  if (r.code === 0) {
    const v = parseExport(r.output);
    return { type: v.TYPE ?? '', uuid: v.UUID ?? '', label: v.LABEL ?? '' };
  }
  if (r.code === 2) return { type: '', uuid: '', label: '' }; // nothing found
  if (r.code === 8 && ambivalent) {
    const w = await run('wipefs', ['--no-act', '--json', device], { timeoutMs: 30_000 });
    const sigs = (JSON.parse(w.output || '{"signatures":[]}') as { signatures: { type: string; uuid?: string; label?: string }[] }).signatures;
    const s = sigs.find((x) => x.type === expectType) ?? sigs[0];
    return { type: s?.type ?? '', uuid: s?.uuid ?? '', label: s?.label ?? '' };
  }
  throw new Error(`blkid -p ${device} failed (exit ${r.code}): ${r.output.trim()}`);
}

export async function checkFilesystems(parts: PartitionSpec[], device: string, problems: string[]): Promise<void> {
  for (const e of parts) {
    if (!e.filesystemType && !e.filesystemUuid && !e.filesystemLabel) continue;
    const info = await filesystemInfo(`${device}p${e.number}`, e.ambivalent, e.filesystemType);
    if (e.filesystemType && info.type !== e.filesystemType) problems.push(`partition ${e.number}: filesystem "${info.type}", expected "${e.filesystemType}"`);
    if (e.filesystemUuid && fmtUuid(info.uuid) !== fmtUuid(e.filesystemUuid)) problems.push(`partition ${e.number}: filesystem UUID "${info.uuid}", expected "${e.filesystemUuid}"`);
    if (e.filesystemLabel && info.label !== e.filesystemLabel) problems.push(`partition ${e.number}: filesystem label "${info.label}", expected "${e.filesystemLabel}"`);
  }
}

function checkOwner(path: string, st: { uid: number; gid: number }, want: { user: number; group: number }, problems: string[]) {
  if (st.uid !== want.user) problems.push(`${path}: owner ${st.uid}, expected ${want.user}`);
  if (st.gid !== want.group) problems.push(`${path}: group ${st.gid}, expected ${want.group}`);
}

function checkMode(path: string, mode: number, want: number, problems: string[]) {
  if (want !== 0 && (mode & 0o7777) !== want) problems.push(`${path}: mode ${(mode & 0o7777).toString(8)}, expected ${want.toString(8)}`);
}

export function checkNodes(e: PartitionSpec, mnt: string, problems: string[]): void {
  const rel = (p: string) => `partition ${e.number}:${p}`;
  for (const f of e.files) {
    const path = join(mnt, f.directory, f.name);
    let st;
    try {
      st = lstatSync(path);
    } catch (err) {
      problems.push(`${rel(f.path)}: file missing (${(err as Error).message})`);
      continue;
    }
    if (f.contents !== '') {
      let got: string;
      try {
        got = readFileSync(path, 'utf8');
      } catch (err) {
        problems.push(`${rel(f.path)}: unreadable (${(err as Error).message})`);
        continue;
      }
      if (got !== f.contents) problems.push(`${rel(f.path)}: contents ${JSON.stringify(got.slice(0, 400))}, expected ${JSON.stringify(f.contents.slice(0, 400))}`);
    }
    checkMode(rel(f.path), st.mode, f.mode, problems);
    checkOwner(rel(f.path), st, f, problems);
  }
  for (const d of e.directories) {
    const path = join(mnt, d.directory, d.name);
    let st;
    try {
      st = lstatSync(path);
    } catch (err) {
      problems.push(`${rel(d.path)}: directory missing (${(err as Error).message})`);
      continue;
    }
    if (!st.isDirectory()) problems.push(`${rel(d.path)}: not a directory`);
    checkMode(rel(d.path), st.mode, d.mode, problems);
    checkOwner(rel(d.path), st, d, problems);
  }
  for (const l of e.links) {
    const path = join(mnt, l.directory, l.name);
    let st;
    try {
      st = lstatSync(path);
    } catch (err) {
      problems.push(`${rel(l.path)}: link missing (${(err as Error).message})`);
      continue;
    }
    if (l.hard) {
      let tst;
      try {
        tst = lstatSync(join(mnt, l.target));
      } catch (err) {
        problems.push(`${rel(l.path)}: hard link target ${l.target} missing (${(err as Error).message})`);
        continue;
      }
      if (st.ino !== tst.ino) {
        problems.push(`${rel(l.path)}: not a hard link to ${l.target}`);
        continue;
      }
    } else {
      if (!st.isSymbolicLink()) {
        problems.push(`${rel(l.path)}: not a symlink`);
        continue;
      }
      const target = readlinkSync(path);
      if (target !== l.target) {
        problems.push(`${rel(l.path)}: symlink to "${target}", expected "${l.target}"`);
        continue;
      }
    }
    checkOwner(rel(l.path), st, l, problems);
  }
  for (const n of e.removedNodes ?? []) {
    try {
      lstatSync(join(mnt, n.directory, n.name));
      problems.push(`${rel(n.path)}: expected to be removed, but is present`);
    } catch {
      /* absent, as expected */
    }
  }
}

export async function checkAllNodes(parts: PartitionSpec[], device: string, mountBase: string, cleanup: Cleanup, problems: string[]): Promise<void> {
  for (const e of parts) {
    if (e.typeCode === 'blank' || e.lengthSectors === 0 || e.filesystemType === '' || e.filesystemType === 'swap') continue;
    if (!e.files.length && !e.directories.length && !e.links.length && !(e.removedNodes ?? []).length) continue;
    const mnt = `${mountBase}p${e.number}`;
    if (!existsSync(mnt)) mkdirSync(mnt, { mode: 0o777 });
    try {
      await mountPartition(`${device}p${e.number}`, e.filesystemType, mnt, cleanup);
    } catch (err) {
      problems.push(`partition ${e.number}: cannot mount: ${(err as Error).message}`);
      continue;
    }
    try {
      checkNodes(e, mnt, problems);
    } finally {
      await unmountPartition(mnt, cleanup);
    }
  }
}
