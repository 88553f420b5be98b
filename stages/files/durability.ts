// Durability of what the files stage wrote. Every file goes to a temporary name in its directory
// and is renamed into place (atomic: a crash never shows half a file under the config's name), but
// rename alone does not put the data on the disk: after a power cut, a freshly renamed file can
// come back empty (ext4's delayed allocation). Ignition never syncs and leaves that to the umount
// stage's unmount; `kindling apply --root DIR` has no umount stage at all.
//
// So, by default, once every entry is written and before the provisioning report is, the stage
// flushes each filesystem it may have written to with one syncfs(2) apiece (`sync -f PATH...`,
// coreutils; Node has no syncfs): the root's own filesystem and every filesystem mounted below
// the root (a separate /var, /home ...). One flush of the whole filesystem lets the kernel write
// everything out together, where an fsync per file would wait for the journal 10,000 times; the
// report, written (and fsynced) after the flush, then vouches for a tree that is on the disk.
// Measured in bench/files.mjs and docs/files.md. Options: syncfs: false (or
// KINDLING_FILES_SYNCFS=0) skips the flush; fsync: true (KINDLING_FILES_FSYNC=1) fsyncs each file
// before its rename as well.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KindlingError } from '../../src/errors.js';
import { run } from '../../src/system/exec.js';
import type { StageContextConfig } from './context.js';
import { errno } from './util.js';

/** Kernel filesystems that hold no data of ours (and autofs, which opening would trigger). */
const PSEUDO = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'cgroup',
  'cgroup2',
  'securityfs',
  'debugfs',
  'tracefs',
  'configfs',
  'fusectl',
  'pstore',
  'bpf',
  'mqueue',
  'hugetlbfs',
  'autofs',
  'binfmt_misc',
  'efivarfs',
  'rpc_pipefs',
  'nsfs',
]);

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The paths whose filesystems a flush of `root` covers: root itself (its own filesystem) and every
 * mount point strictly below it, from /proc/self/mountinfo (read-only, so plan() may call it).
 */
export function filesystemsUnder(root: string, mountinfo = '/proc/self/mountinfo'): string[] {
  const r = path.resolve(root);
  const out = [r];
  let text = '';
  try {
    text = readFileSync(mountinfo, 'utf8');
  } catch {
    return out; // no /proc: the root's own filesystem is still flushed
  }
  const seen = new Set(out);
  for (const line of text.split('\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
    const f = line.split(' ');
    if (f.length < 7) continue;
    const mp = unescapeMount(f[4]!);
    const fstype = f[f.indexOf('-', 6) + 1] ?? '';
    if (PSEUDO.has(fstype)) continue;
    const under = r === '/' ? mp !== '/' : mp.startsWith(r + '/');
    if (under && !seen.has(mp)) {
      seen.add(mp);
      out.push(mp);
    }
  }
  return out;
}

export function syncEnabled(o: Record<string, unknown>): boolean {
  if (o.syncfs === false) return false;
  if (o.syncfs === true) return true;
  return process.env.KINDLING_FILES_SYNCFS !== '0';
}

/** syncfs(2) on each path's filesystem; an I/O error fails the stage (the data may be lost). */
export async function flushFilesystems(cfg: StageContextConfig, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  try {
    await run('sync', ['-f', ...paths]);
  } catch (err) {
    // No sync binary (a minimal initramfs): the unmount at the end of the boot stage still
    // flushes, as it does for Ignition. Said, not fatal.
    if (errno((err as { cause?: unknown }).cause) === 'ENOENT' || /\bENOENT\b/.test((err as Error).message)) {
      cfg.log.warn(`could not flush the target filesystems (no sync command): the files are written but not yet known to be on the disk`);
      return;
    }
    throw new KindlingError('files', `flushing the target filesystems (${paths.join(', ')}) failed: ${(err as Error).message}`, { cause: err });
  }
}
