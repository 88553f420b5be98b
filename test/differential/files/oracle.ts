// Running Debian's Ignition 2.14 (the oracle) and Kindling's files stage on copies of one root.
// Ignition: fetch stage then files stage with -platform file (NOTES.md), a no-op setfiles on PATH
// and etc/selinux/config in the root (Debian builds it with relabelling on). Kindling: parseConfig,
// the fetch stage's renderConfig (merge/replace), then filesStage plan + apply, in-process.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../../../src/config/index.js';
import { renderConfig } from '../../../src/acquire/render.js';
import { emptyState } from '../../../src/acquire/state.js';
import { getLogger } from '../../../src/log/logger.js';
import { runFiles } from '../../files/helpers.js';

const run = promisify(execFile);

export const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';
export const haveIgnition = existsSync(IGNITION);

export interface Outcome {
  ok: boolean;
  log: string;
}

let stubDir: string | undefined;
const works: string[] = [];
function setfilesStub(): string {
  if (!stubDir) {
    stubDir = mkdtempSync(path.join(tmpdir(), 'kindling-setfiles-'));
    works.push(stubDir);
    writeFileSync(path.join(stubDir, 'setfiles'), '#!/bin/sh\ncat >/dev/null\nexit 0\n', { mode: 0o755 });
  }
  return stubDir;
}

/** Ignition 2.14's fetch + files stages with `root` as the target. */
export async function runIgnition(configText: string, root: string): Promise<Outcome> {
  const work = mkdtempSync(path.join(tmpdir(), 'kindling-ign-'));
  works.push(work);
  const cfg = path.join(work, 'config.ign');
  writeFileSync(cfg, configText);
  const env = { ...process.env, IGNITION_CONFIG_FILE: cfg, PATH: `${setfilesStub()}:${process.env.PATH}` };
  const common = ['-platform', 'file', '-config-cache', path.join(work, 'cache.json'), '-state-file', path.join(work, 'state'), '-log-to-stdout'];
  let log = '';
  for (const stage of ['fetch', 'files']) {
    const args = ['-stage', stage, ...common, ...(stage === 'files' ? ['-root', root] : [])];
    try {
      const r = await run(IGNITION, args, { env, cwd: work, timeout: 60_000, maxBuffer: 64 << 20 });
      log += r.stdout + r.stderr;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return { ok: false, log: log + (e.stdout ?? '') + (e.stderr ?? '') };
    }
  }
  return { ok: true, log };
}

/** Kindling: parse, render merge/replace, files stage. */
export async function runKindling(configText: string, root: string): Promise<Outcome> {
  try {
    const { config } = parseConfig(configText);
    const rendered = await renderConfig(config, { offline: false, state: emptyState(), log: getLogger() });
    await runFiles(rendered, root);
    return { ok: true, log: '' };
  } catch (err) {
    return { ok: false, log: (err as Error).message };
  }
}

/** Two identical copies of a prepared root (cp -a keeps modes, owners, links and hard links). */
const twins: string[] = [];

export function twinRoots(base: string): [string, string] {
  const parent = mkdtempSync(path.join(tmpdir(), 'kindling-diff-'));
  if (!process.env.FILES_DIFF_KEEP) twins.push(parent);
  const a = path.join(parent, 'ignition');
  const b = path.join(parent, 'kindling');
  // Ignition writes SSH keys as the user: every directory above the root must be traversable.
  chmodSync(parent, 0o755);
  execFileSync('cp', ['-a', base, a]);
  execFileSync('cp', ['-a', base, b]);
  return [a, b];
}

/** Removes the twin roots and Ignition's work directories made so far. */
export function cleanupOracle(): void {
  for (const d of twins.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const d of works.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function ensureDir(p: string): void {
  mkdirSync(p, { recursive: true });
}
