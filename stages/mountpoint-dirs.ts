// Directories the mount stage creates for mount points, remembered for the files stage. Ignition
// (PR #1240, "fix permissions for mountpoints in home dirs") does the same: a mount point under a
// user's home makes the mount stage create, say, /home/core/.local/share as root:root 0755 before
// the user exists; once the user exists, the files stage gives every such directory inside the
// home to the user with mode 0700 (the config's own directory entries, applied later, still win).
// The record lives beside the run's state (like the disks journal), so runs never mix; a run with
// no state of its own (no -state-file, no explicit state directory) keeps no record at all.
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext } from './types.js';
import { disksOptions } from './disks/options.js';

function recordFile(ctx: StageContext): string | undefined {
  const scoped = ctx.stateFile || typeof ctx.options?.stateDir === 'string' || process.env.KINDLING_DISKS_STATE_DIR;
  return scoped ? join(disksOptions(ctx).stateDir, 'created-mountpoint-dirs.json') : undefined;
}

/** In-root paths of the directories on the way to `path` (inclusive) that do not exist yet, shallowest first. */
export function missingDirs(root: string, path: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const part of path.split('/').filter(Boolean)) {
    cur += '/' + part;
    let exists = false;
    try {
      exists = lstatSync(join(root, cur)).isDirectory();
    } catch {
      exists = false;
    }
    if (!exists) out.push(cur);
  }
  return out;
}

export function readCreatedDirs(ctx: StageContext): string[] {
  const file = recordFile(ctx);
  if (!file) return [];
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function recordCreatedDirs(ctx: StageContext, dirs: string[]): void {
  const file = recordFile(ctx);
  if (dirs.length === 0 || !file) return;
  const all = [...new Set([...readCreatedDirs(ctx), ...dirs])];
  if (!existsSync(join(file, '..'))) mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(all) + '\n', { mode: 0o600 });
}
