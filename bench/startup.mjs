// Start-up cost of dist/kindling: what the initramfs pays at every stage, since each stage is a
// fresh node process. Three commands, each against `node -e 0` (the floor any Node program pays):
//   --version                        nothing but start-up
//   validate small.ign               start-up + parsing and validating a small 3.3.0 config
//   -platform qemu -stage fetch-offline   a config read from an injected fw_cfg directory
//                                    (KINDLING_FW_CFG_DIR), rendered and written to the cache
//   -platform aws -stage fetch-offline    the aws provider loaded, neednet signalled (no network)
// and, where it makes sense, Debian's Ignition 2.14 on the same job (ignition-validate; ignition
// fetch-offline on the file platform, since its qemu provider reads the real /sys path).
// Wall time and peak RSS (GNU time's %M) of each run. Runs are interleaved command by command so
// that load from other processes on a shared machine spreads evenly; medians and minimums are
// printed, the minimum being the best estimate of the cost itself on a loaded machine.
// Goal (docs/startup.md): fetch-offline <= 1.3x node -e 0 wall, <= 60 MB.
// With --cpu, each run also reports its CPU time (user + system, from wait4's rusage through a
// small python3 wrapper, microsecond resolution): on a loaded machine it moves much less than
// wall time, and its minimum is the best estimate of what the process itself costs.
// Usage: node bench/startup.mjs [--bin PATH] [--vs PATH]... [--runs N] [--only REGEX] [--json] [--cpu]
//                              [--no-cache-too] [--scratch DIR]
//   --bin  the bundle to measure (default: built from this tree into /tmp/kindling-bench-startup)
//   --vs   a second bundle measured in the same rounds (e.g. an older build), for before/after;
//          repeat it to compare several builds
//   --only REGEX     measure only the commands whose name matches (node -e 0 always)
//   --no-cache-too   also the fetch-offline qemu of each bundle with KINDLING_CODE_CACHE=0
//   --scratch DIR    where the scratch system goes (default /dev/shm when it is a tmpfs, as /run
//                    is in the initrd; else the temporary directory)
// Runs get a clean environment: NODE_EXTRA_CA_CERTS alone (set on this machine's shells) makes
// every node start ~40 ms slower (CPU), since node 20 loads those certificates at start-up.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STARTUP_CONFIG, fwCfgSandbox, stageArgs } from '../scripts/sandbox.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (n, d) => {
  const i = process.argv.indexOf(n);
  return i === -1 ? d : process.argv[i + 1];
};
/** Whether `dir` is on a tmpfs (statfs f_type TMPFS_MAGIC). */
function isTmpfs(dir) {
  try {
    return statfsSync(dir).type === 0x01021994;
  } catch {
    return false;
  }
}
const RUNS = Number(arg('--runs', '30'));
let bin = arg('--bin');
// --vs may be given several times; each bundle is labelled by its position (vs1, vs2, ...).
const vsList = process.argv.flatMap((a, i) => (a === '--vs' ? [process.argv[i + 1]] : []));
if (!bin) {
  bin = '/tmp/kindling-bench-startup/kindling';
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--out', bin], { stdio: 'inherit' });
}
const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';
const IGNITION_VALIDATE = '/usr/bin/ignition-validate';
const TIME = '/usr/bin/time';
if (!existsSync(TIME)) {
  console.error('bench/startup: needs GNU time at /usr/bin/time (Debian package "time")');
  process.exit(1);
}
// The scratch system (config cache, state file) lives where the initrd keeps them: /run there is a
// tmpfs, so this uses /dev/shm when it is one (--scratch DIR chooses). On a disk the fsync that
// Ignition (renameio) and Kindling both do before renaming the cache waits for the disk's journal:
// milliseconds of I/O that no boot pays and that would drown the start-up being measured.
const scratchParent = arg('--scratch', isTmpfs('/dev/shm') ? '/dev/shm' : tmpdir());
const work = mkdtempSync(join(scratchParent, 'kindling-startup-'));

const config = STARTUP_CONFIG;
const small = join(work, 'small.ign');
writeFileSync(small, config);
const { env } = fwCfgSandbox(work, config, { IGNITION_CONFIG_FILE: small });
const stage = (platform, s) => stageArgs(work, platform, s);

/** Commands measured in every round, by name. */
const cases = [{ name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] }];
const bundles = [['kindling', bin], ...vsList.map((b, i) => [vsList.length === 1 ? 'kindling (--vs)' : `vs${i + 1}`, b])];
for (const [label, b] of bundles) {
  cases.push({ name: `${label} --version`, cmd: b, args: ['--version'], group: '--version' });
  cases.push({ name: `${label} validate`, cmd: b, args: ['validate', small], group: 'validate' });
  cases.push({ name: `${label} fetch-offline qemu`, cmd: b, args: stage('qemu', 'fetch-offline'), group: 'fetch-offline' });
  cases.push({ name: `${label} fetch-offline aws`, cmd: b, args: stage('aws', 'fetch-offline'), group: 'fetch-offline' });
  // --no-cache-too: the same file with its embedded code cache switched off (what a node of
  // another version, or one run with V8 flags, pays: the cache is then refused).
  if (process.argv.includes('--no-cache-too')) {
    cases.push({ name: `${label} fetch-offline qemu, no cache`, cmd: b, args: stage('qemu', 'fetch-offline'), group: 'fetch-offline', env: { KINDLING_CODE_CACHE: '0' } });
  }
}
// --only REGEX keeps the commands whose name matches (node -e 0 is always measured).
const only = arg('--only');
if (only) {
  const re = new RegExp(only);
  for (let i = cases.length - 1; i > 0; i--) if (!re.test(cases[i].name)) cases.splice(i, 1);
}
if (existsSync(IGNITION_VALIDATE) && (!only || new RegExp(only).test('ignition-validate 2.14'))) cases.push({ name: 'ignition-validate 2.14', cmd: IGNITION_VALIDATE, args: [small], group: 'validate' });
if (existsSync(IGNITION) && (!only || new RegExp(only).test('ignition 2.14 fetch-offline file'))) cases.push({ name: 'ignition 2.14 fetch-offline file', cmd: IGNITION, args: stage('file', 'fetch-offline'), group: 'fetch-offline' });

const CPU = process.argv.includes('--cpu');
// fork+exec the command, wait4 it, print "wall_ms cpu_ms maxrss_kb" on stderr (exit status kept).
const WAIT4 = `import os, sys, time
t = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
w = (time.monotonic() - t) * 1000
sys.stderr.write('%.3f %.3f %d\\n' % (w, (ru.ru_utime + ru.ru_stime) * 1000, ru.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))`;

/** One run under GNU time: wall ms (measured here, around the whole process) and max RSS KB. */
function measure(c) {
  return new Promise((resolve, reject) => {
    rmSync(join(work, 'config.json'), { force: true });
    rmSync(join(work, 'state'), { force: true });
    const t0 = process.hrtime.bigint();
    const p = CPU
      ? spawn('python3', ['-c', WAIT4, c.cmd, ...c.args], { env: { ...env, ...c.env }, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(TIME, ['-f', '%M', c.cmd, ...c.args], { env: { ...env, ...c.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`${c.name} exited ${code}: ${err.slice(-500)}`));
      const last = err.trim().split('\n').pop().split(' ').map(Number);
      if (CPU) resolve({ ms: last[0], cpuMs: last[1], rssKb: last[2] });
      else resolve({ ms, rssKb: last[0] });
    });
  });
}

for (const c of cases) {
  await measure(c); // warm the page cache; also fails early when a command does not work
  c.ms = [];
  c.cpu = [];
  c.rss = [];
}
for (let i = 0; i < RUNS; i++) {
  for (const c of cases) {
    const r = await measure(c);
    c.ms.push(r.ms);
    if (r.cpuMs !== undefined) c.cpu.push(r.cpuMs);
    c.rss.push(r.rssKb / 1024);
  }
}
rmSync(work, { recursive: true, force: true });

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const stats = (c) => ({
  name: c.name,
  median: median(c.ms),
  min: Math.min(...c.ms),
  ...(c.cpu.length ? { cpuMedian: median(c.cpu), cpuMin: Math.min(...c.cpu) } : {}),
  rssMedian: median(c.rss),
  rssMax: Math.max(...c.rss),
});
const all = cases.map(stats);
const floor = all[0];
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ runs: RUNS, results: all }, null, 2));
  process.exit(0);
}
const f = (x) => x.toFixed(1);
console.log(`\nscratch system (config cache, state file) in ${scratchParent}${isTmpfs(scratchParent) ? ' (tmpfs, as /run in the initrd)' : ' (not a tmpfs: the fsync of the config cache waits for the disk)'}`);
console.log(`\nstart-up (${RUNS} interleaved runs each): wall ms median / min, RSS MB median / max, ratio to node -e 0 (median, min)`);
console.log(`   ${'command'.padEnd(40)} ${'median'.padStart(7)} ${'min'.padStart(7)} ${'RSS'.padStart(6)} ${'max'.padStart(6)}   ratio`);
for (const s of all) {
  const ratio = s === floor ? '' : `   ${(s.median / floor.median).toFixed(2)}x, ${(s.min / floor.min).toFixed(2)}x`;
  console.log(`   ${s.name.padEnd(40)} ${f(s.median).padStart(7)} ${f(s.min).padStart(7)} ${f(s.rssMedian).padStart(6)} ${f(s.rssMax).padStart(6)}${ratio}`);
}
if (CPU) {
  console.log(`\nCPU time (user + system, wait4): ms median / min, and min minus node -e 0's min`);
  for (const s of all) {
    const over = s === floor ? '' : `   +${f(s.cpuMin - floor.cpuMin)} ms (${(s.cpuMin / floor.cpuMin).toFixed(2)}x)`;
    console.log(`   ${s.name.padEnd(40)} ${f(s.cpuMedian).padStart(7)} ${f(s.cpuMin).padStart(7)}${over}`);
  }
}
