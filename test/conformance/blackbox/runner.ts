// Replays one corpus case at one spec version against an Ignition-compatible binary, with the run
// semantics of Ignition's blackbox harness (corpus README, "Run semantics"):
//   fill placeholders -> build the `in` disks on loop devices -> write config.ign in a scratch dir
//   -> fetch, disks (root "") -> mount ROOT -> mount, files, umount (root = the ROOT mount)
//   -> positive: every stage exits 0, no "panic", no "CRITICAL" (unless skipCriticalCheck), and
//      the disks match `out`; negative: some stage fails in that sense.
// Everything attached or mounted is undone in `finally`.
import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAdHocServers, substituteServers, type AdHocSet } from './adhoc-servers.js';
import { checkAllNodes, checkDisk, checkFilesystems } from './check.js';
import { cloneCase, FIXTURES, type CaseSpec, type Corpus, type FileSpec } from './corpus.js';
import { Cleanup, corruptTable, mountPartition, populate, refreshPartitions, setupDisk, unmountPartition, type BuiltDisk, type BuiltPartition } from './disks.js';
import { run } from './exec.js';

export type Verdict = 'pass' | 'fail' | 'skip' | 'error';

export interface StageRun {
  stage: string;
  code: number | null;
  ms: number;
  output: string;
  failure?: string;
}

export interface CaseResult {
  name: string;
  version: string;
  kind: 'positive' | 'negative';
  verdict: Verdict;
  /** Why it failed, errored or was skipped (empty on pass). */
  reason: string;
  stages: StageRun[];
  problems: string[];
  ms: number;
}

export interface RunnerOptions {
  bin: string;
  /** Directory with useradd/usermod/... stubs and a setfiles stub, put first on PATH. */
  stubDir: string;
  /** Debian's Ignition relabels files: give ROOT an etc/selinux/config (NOTES.md). */
  selinuxShim?: boolean;
  /** Whole-case deadline (upstream: 60 s). */
  caseTimeoutMs?: number;
  keepTmp?: boolean;
}

let dmWorks: Promise<boolean> | undefined;

/** Whether the case makes the kernel mount a vfat filesystem: a vfat filesystem with a path in
 * its config (mount stage), or vfat partitions with nodes to create or check. */
export function needsVfatMount(c: CaseSpec): boolean {
  let cfg: { storage?: { filesystems?: { format?: string; path?: string }[] } } | undefined;
  try {
    cfg = JSON.parse(c.config.replaceAll('$version', '3.0.0')) as typeof cfg;
  } catch {
    cfg = undefined;
  }
  if ((cfg?.storage?.filesystems ?? []).some((f) => f.format === 'vfat' && f.path)) return true;
  return [...c.in, ...c.out].some((d) =>
    d.partitions.some((p) => p.filesystemType === 'vfat' && (p.files.length || p.directories.length || p.links.length || (p.removedNodes ?? []).length)),
  );
}

/** Why a case cannot run faithfully on this machine, or undefined. Such cases are reported as
 * skipped, negative ones too (their expected failure would otherwise come for free). */
export async function unmetRequirement(c: CaseSpec): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (loop devices and mounts)';
  if (c.requires.includes('tpm2+clevis')) {
    const clevis = await run('sh', ['-c', 'command -v clevis']);
    if (clevis.code !== 0 || !existsSync('/dev/tpmrm0')) return 'needs a TPM2 device (/dev/tpmrm0) and clevis; this machine has neither';
  }
  if (c.requires.includes('cryptsetup')) {
    dmWorks ??= run('dmsetup', ['version'], { timeoutMs: 10_000 }).then((r) => r.code === 0);
    if (!(await dmWorks)) return "needs device-mapper for LUKS (dm-crypt); this kernel's device-mapper is unavailable (dmsetup version fails)";
  }
  if (needsVfatMount(c) && !/^\s*vfat$/m.test(readFileSync('/proc/filesystems', 'utf8'))) {
    return 'needs the kernel to mount vfat; this kernel has no vfat (not in /proc/filesystems, no modules)';
  }
  return undefined;
}

/** Writes the stubs the harness puts on PATH: shadow-utils stand-ins and a no-op setfiles. */
export function makeStubDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const script = join(FIXTURES, 'stubs', 'passwd-stub.mjs');
  for (const tool of ['useradd', 'usermod', 'userdel', 'groupadd', 'groupmod', 'groupdel']) {
    writeFileSync(join(dir, tool), `#!/bin/sh\nexec "${process.execPath}" "${script}" ${tool} "$@"\n`, { mode: 0o755 });
  }
  writeFileSync(join(dir, 'setfiles'), '#!/bin/sh\n# no-op relabelling for the test run\ncat >/dev/null\nexit 0\n', { mode: 0o755 });
  return dir;
}

/** $uuid<N>: one fresh UUID per N, the same everywhere in the case (config and disks). */
function fillUuids(c: CaseSpec): CaseSpec {
  const ids = new Map<string, string>();
  const text = JSON.stringify(c).replace(/\$uuid(\d+)/g, (_m, n: string) => {
    if (!ids.has(n)) ids.set(n, randomUUID());
    return ids.get(n)!;
  });
  return JSON.parse(text) as CaseSpec;
}

function createFilesFromSlice(base: string, files: FileSpec[]): void {
  for (const f of files) {
    const dir = join(base, f.directory);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const path = join(dir, f.name);
    writeFileSync(path, f.contents, { mode: f.mode });
    chmodSync(path, f.mode); // as created by O_CREAT with this mode (0 really is 0)
    chownSync(path, f.user, f.group);
  }
}

/** The passwd-stubs preparation of ROOT (corpus README). */
function prepareRootForPasswd(mnt: string): void {
  for (const d of ['home', 'usr/bin', 'usr/sbin', 'usr/lib64', 'etc']) mkdirSync(join(mnt, d), { recursive: true, mode: 0o755 });
  for (const l of ['lib64', 'bin', 'sbin']) if (!existsSync(join(mnt, l))) symlinkSync(`usr/${l}`, join(mnt, l));
}

function stageFailure(r: { code: number | null; signal: string | null; timedOut: boolean; output: string }, skipCritical: boolean): string | undefined {
  if (r.output.includes('panic')) return 'output contains "panic"';
  if (!skipCritical && r.output.includes('CRITICAL')) return 'output contains "CRITICAL"';
  if (r.timedOut) return 'timed out';
  if (r.code !== 0) return `exit ${r.code ?? r.signal}`;
  return undefined;
}

export async function runCase(corpus: Corpus, original: CaseSpec, version: string, opts: RunnerOptions): Promise<CaseResult> {
  const started = Date.now();
  const result: CaseResult = { name: original.name, version, kind: original.kind, verdict: 'error', reason: '', stages: [], problems: [], ms: 0 };
  const unmet = await unmetRequirement(original);
  if (unmet) {
    result.verdict = 'skip';
    result.reason = unmet;
    return result;
  }
  const deadline = started + (opts.caseTimeoutMs ?? 60_000);
  const c = fillUuids(cloneCase(original));
  let config = c.config.replaceAll('$version', version);
  const tmp = mkdtempSync('/tmp/bb-case-');
  chmodSync(tmp, 0o755);
  const cleanup = new Cleanup();
  let servers: AdHocSet | undefined;
  const disks: BuiltDisk[] = [];
  try {
    if (c.usesAdHocServers.length) {
      servers = await startAdHocServers(corpus, c.usesAdHocServers);
      config = substituteServers(config, servers.urls);
    }
    const systemDir = join(tmp, 'system');
    const runtimeDir = join(tmp, 'system-runtime');
    const localDir = join(tmp, 'system-local');
    for (const d of [systemDir, runtimeDir, localDir]) mkdirSync(d, { mode: 0o755 });
    createFilesFromSlice(systemDir, c.systemConfigDirFiles);
    createFilesFromSlice(runtimeDir, c.systemRuntimeConfigDirFiles);
    createFilesFromSlice(localDir, c.systemLocalConfigDirFiles);

    let root: BuiltPartition | undefined;
    for (let i = 0; i < c.in.length; i++) {
      const disk = await setupDisk(c.in[i], i, c.diskImageSizesBytes[i], tmp, cleanup);
      disks.push(disk);
      for (const bp of disk.partitions) await populate(bp, cleanup);
      if (c.in[i].corruptTable) corruptTable(disk.device);
      for (const m of c.mntDevices) {
        const p = disk.partitions.find((x) => x.spec.label === m.label);
        if (p) config = config.replaceAll(m.substitution, p.device);
      }
      config = config.replaceAll(`$disk${i}`, disk.device);
      root ??= disk.partitions.find((x) => x.spec.label === 'ROOT');
    }
    if (!root || !root.mountPath) throw new Error('ROOT filesystem not found: a partition labelled ROOT is required');
    for (const m of c.mntDevices) if (config.includes(m.substitution)) throw new Error(`no partition labelled ${m.label} for ${m.substitution}`);

    if (config.includes('passwd') || opts.selinuxShim) {
      await mountPartition(root.device, root.spec.filesystemType, root.mountPath, cleanup);
      try {
        if (config.includes('passwd')) prepareRootForPasswd(root.mountPath);
        if (opts.selinuxShim) {
          mkdirSync(join(root.mountPath, 'etc/selinux'), { recursive: true, mode: 0o755 });
          if (!existsSync(join(root.mountPath, 'etc/selinux/config'))) writeFileSync(join(root.mountPath, 'etc/selinux/config'), 'SELINUX=permissive\nSELINUXTYPE=targeted\n');
        }
      } finally {
        await unmountPartition(root.mountPath, cleanup);
      }
    }

    writeFileSync(join(tmp, 'config.ign'), config, { mode: 0o666 });
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${opts.stubDir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
    delete env.IGNITION_CONFIG_FILE;
    for (const kv of c.env) {
      const i = kv.indexOf('=');
      env[kv.slice(0, i)] = kv.slice(i + 1).replaceAll('$SYSTEM_CONFIG_DIR', systemDir);
    }
    env.IGNITION_SYSTEM_CONFIG_DIR = systemDir;
    env.IGNITION_SYSTEM_RUNTIME_CONFIG_DIR = runtimeDir;
    env.IGNITION_SYSTEM_LOCAL_CONFIG_DIR = localDir;

    const stage = async (name: string, rootDir: string): Promise<string | undefined> => {
      const args = ['-platform', 'file', '-stage', name, '-root', rootDir, '-log-to-stdout', '--config-cache', join(tmp, 'ignition.json'), '-state-file', join(tmp, 'state')];
      const r = await run(opts.bin, args, { cwd: tmp, env, timeoutMs: Math.max(1000, deadline - Date.now()) });
      const failure = stageFailure(r, c.skipCriticalCheck);
      result.stages.push({ stage: name, code: r.code, ms: r.ms, output: r.output, failure });
      return failure;
    };

    const negative = c.kind === 'negative';
    const expectedFailure = (stageName: string, why: string) => {
      result.verdict = 'pass';
      result.reason = `${stageName} failed as expected (${why})`;
      return result;
    };
    let f = await stage('fetch', '');
    if (f) return negative ? expectedFailure('fetch', f) : fail(result, `fetch: ${f}`);
    f = await stage('disks', '');
    if (f) return negative ? expectedFailure('disks', f) : fail(result, `disks: ${f}`);
    // No udev here: make partitions the disks stage created visible, as udev would have.
    for (const d of disks) await refreshPartitions(d.device);
    await mountPartition(root.device, root.spec.filesystemType, root.mountPath, cleanup);
    f = await stage('mount', root.mountPath);
    if (f) {
      if (negative) return expectedFailure('mount', f);
      return fail(result, `mount: ${f}`);
    }
    const filesFailure = await stage('files', root.mountPath);
    const umountFailure = await stage('umount', root.mountPath);
    if (umountFailure) return negative ? expectedFailure('umount', umountFailure) : fail(result, `umount: ${umountFailure}`);
    await unmountPartition(root.mountPath, cleanup);
    if (filesFailure) return negative ? expectedFailure('files', filesFailure) : fail(result, `files: ${filesFailure}`);
    if (negative) return fail(result, 'expected failure and every stage succeeded');

    for (const d of disks) await refreshPartitions(d.device);
    for (let i = 0; i < c.out.length; i++) {
      const d = disks[i];
      await checkDisk(c.out[i], d.device, result.problems);
      await checkFilesystems(c.out[i].partitions, d.device, result.problems);
      await checkAllNodes(c.out[i].partitions, d.device, join(tmp, `check-hd${i}`), cleanup, result.problems);
    }
    if (result.problems.length) return fail(result, `disks differ from \`out\`: ${result.problems[0]}${result.problems.length > 1 ? ` (+${result.problems.length - 1} more)` : ''}`);
    result.verdict = 'pass';
    return result;
  } catch (err) {
    result.verdict = 'error';
    result.reason = `harness: ${err instanceof Error ? err.message : String(err)}`;
    return result;
  } finally {
    await servers?.close().catch(() => undefined);
    await cleanup.run();
    if (cleanup.errors.length) {
      result.problems.push(...cleanup.errors.map((e) => `cleanup: ${e}`));
    }
    // Never delete through a mount that could not be undone.
    const stillMounted = readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => (l.split(' ')[1] ?? '').startsWith(tmp + '/'));
    if (stillMounted) result.problems.push(`cleanup: something is still mounted under ${tmp}; left in place`);
    else if (!opts.keepTmp) rmSync(tmp, { recursive: true, force: true });
    result.ms = Date.now() - started;
  }
}

function fail(result: CaseResult, reason: string): CaseResult {
  result.verdict = 'fail';
  result.reason = reason;
  return result;
}
