// Shared by the files-stage tests: temporary roots, a StageContext for the files stage, running
// plan+apply, and a snapshot of a directory tree (type, mode, owner, content hash, link target)
// that two runs can be compared by.
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config/types.js';
import { filesStage } from '../../stages/files/index.js';
import type { FilesPlan } from '../../stages/files/types.js';
import type { StageContext } from '../../stages/types.js';
import { localContext } from '../../src/engine/context.js';

const made: string[] = [];

export function tempDir(prefix = 'kindling-files-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function cleanupTemps(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function filesCtx(config: Config, root: string, options: Record<string, unknown> = {}): StageContext {
  return localContext({ config, root, options });
}

export async function runFiles(config: Config, root: string, options: Record<string, unknown> = {}): Promise<FilesPlan> {
  const ctx = filesCtx(config, root, options);
  const plan = (await filesStage.plan(ctx)) as FilesPlan;
  await filesStage.apply(ctx, plan);
  return plan;
}

export interface NodeSnap {
  type: 'file' | 'dir' | 'link' | 'other';
  mode: string;
  uid: number;
  gid: number;
  sha256?: string;
  target?: string;
  /** Hard-link group: the first path (sorted) sharing this inode, when nlink > 1. */
  inode?: string;
}

/** Every node under root (excluding the given in-root paths), keyed by in-root path. */
export function snapshot(root: string, exclude: (p: string) => boolean = () => false): Record<string, NodeSnap> {
  const out: Record<string, NodeSnap> = {};
  const inodes = new Map<string, string>();
  const walk = (rel: string) => {
    const names = readdirSync(path.join(root, rel)).sort();
    for (const name of names) {
      const r = rel === '/' ? `/${name}` : `${rel}/${name}`;
      if (exclude(r)) continue;
      const full = path.join(root, r);
      const st = lstatSync(full);
      const snap: NodeSnap = {
        type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'other',
        mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
        uid: st.uid,
        gid: st.gid,
      };
      if (st.isFile()) {
        snap.sha256 = createHash('sha256').update(readFileSync(full)).digest('hex');
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          if (!inodes.has(key)) inodes.set(key, r);
          snap.inode = inodes.get(key);
        }
      }
      if (st.isSymbolicLink()) {
        snap.target = readlinkSync(full);
        snap.mode = 'link';
      }
      out[r] = snap;
      if (st.isDirectory()) walk(r);
    }
  };
  walk('/');
  return out;
}

export function dataUrl(text: string): string {
  return 'data:,' + encodeURIComponent(text);
}
