#!/usr/bin/env node
// Benchmarks `kindling validate` against Ignition's own validator and Node's floor:
//  1. start-up: `kindling validate small.ign` vs `node -e 0` vs `ignition-validate small.ign`
//     (hyperfine, no shell, warm-up runs), with ratios;
//  2. scale: one 20 MB config with 50,000 files, validated by both tools: wall time and peak RSS
//     (GNU time), median of 3 runs.
// Usage: node bench/validate.mjs [--runs N] [--bin PATH]
//   KINDLING_BIN or --bin: the bundle to measure (default: a fresh build to a temp dir, else
//   dist/kindling). Prints a Markdown table; nothing is written outside a temp dir.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : process.argv[i + 1];
};
const RUNS = Number(arg('--runs', 30));
const IGNITION_VALIDATE = process.env.IGNITION_VALIDATE ?? '/usr/bin/ignition-validate';
const work = mkdtempSync(join(tmpdir(), 'kindling-bench-'));

function kindlingBinary() {
  const explicit = arg('--bin', process.env.KINDLING_BIN);
  if (explicit) return explicit;
  const out = join(work, 'bin/kindling');
  const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), '--out', out], { encoding: 'utf8' });
  if (build.status === 0) return out;
  console.error(`note: fresh build failed (${(build.stderr || build.stdout).trim().split('\n').pop()}); using dist/kindling`);
  return join(root, 'dist/kindling');
}

const SMALL = {
  ignition: { version: '3.3.0' },
  passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEY core@host'] }] },
  systemd: {
    units: [
      { name: 'app.service', enabled: true, contents: '[Unit]\nDescription=App\n[Service]\nExecStart=/usr/bin/app\n[Install]\nWantedBy=multi-user.target\n' },
      { name: 'docker.service', dropins: [{ name: '10-opts.conf', contents: '[Service]\nEnvironment=DOCKER_OPTS=--debug\n' }] },
    ],
  },
  storage: {
    files: [
      { path: '/etc/hostname', mode: 420, contents: { source: 'data:,node-1' } },
      { path: '/etc/flatcar/update.conf', mode: 420, overwrite: true, contents: { source: 'data:,GROUP%3Dstable%0AREBOOT_STRATEGY%3Doff%0A' } },
    ],
    links: [{ path: '/etc/localtime', target: '/usr/share/zoneinfo/UTC' }],
  },
};

/** 50,000 files, ~400 bytes of data URL each: a 20 MB config. */
function bigConfig() {
  const filler = 'x'.repeat(292);
  const files = [];
  for (let i = 0; i < 50_000; i++) {
    files.push({ path: `/var/lib/bench/d${i % 100}/file-${i}.conf`, mode: 420, overwrite: true, contents: { source: `data:,${i}-${filler}` } });
  }
  return { ignition: { version: '3.3.0' }, storage: { files } };
}

/** parseConfig alone in a bundle (bench/validate-entry.cjs), built the way scripts/build.mjs builds. */
async function engineBundle() {
  const { default: ncc } = await import('@vercel/ncc');
  const { code } = await ncc(join(root, 'bench/validate-entry.cjs'), { minify: true, quiet: true, target: 'es2022', transpileOnly: true });
  const out = join(work, 'engine/validate.cjs');
  execFileSync('mkdir', ['-p', dirname(out)]);
  writeFileSync(out, code);
  return out;
}

function hyperfine(commands) {
  const json = join(work, 'hyperfine.json');
  // -i: a failing command is still timed (its exit status is reported above the table).
  execFileSync('hyperfine', ['-N', '-i', '--warmup', '3', '--runs', String(RUNS), '--export-json', json, ...commands], { stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(readFileSync(json, 'utf8')).results;
}

function timed(argv) {
  const res = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...argv], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const last = res.stderr.trim().split('\n').pop() ?? '';
  const [secs, user, sys, kib] = last.split(' ').map(Number);
  return { status: res.status, secs, cpu: user + sys, rssMiB: kib / 1024, note: res.stderr.trim().split('\n')[0].slice(0, 120) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (s) => (s * 1000).toFixed(1);

try {
  const bin = kindlingBinary();
  const small = join(work, 'small.ign');
  writeFileSync(small, JSON.stringify(SMALL));
  const k = spawnSync(process.execPath, [bin, 'validate', small], { encoding: 'utf8' });
  const ig = spawnSync(IGNITION_VALIDATE, [small], { encoding: 'utf8' });
  console.log(`kindling: ${bin}\nverdicts on small.ign: kindling exit ${k.status}${k.status ? ' (' + (k.stderr || k.stdout).trim().split('\n')[0] + ')' : ''}, ignition-validate exit ${ig.status}`);

  const engine = await engineBundle();
  const e = spawnSync(process.execPath, [engine, small], { encoding: 'utf8' });
  console.log(`engine-only bundle (parseConfig): exit ${e.status}`);

  const [nodeFloor, ignition, kindling, engineOnly] = hyperfine(['node -e 0', `${IGNITION_VALIDATE} ${small}`, `${process.execPath} ${bin} validate ${small}`, `${process.execPath} ${engine} ${small}`]);
  console.log('\n## Start-up: validating a small config (hyperfine, %d runs)\n', RUNS);
  console.log('| command | mean ms | stddev ms | min ms | CPU (user+sys) ms | vs node -e 0 (mean) | vs ignition-validate (mean) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, r] of [['node -e 0', nodeFloor], ['ignition-validate small.ign', ignition], ['kindling validate small.ign', kindling], ['parseConfig bundle small.ign', engineOnly]]) {
    console.log(`| ${name} | ${ms(r.mean)} | ${ms(r.stddev)} | ${ms(r.min)} | ${ms(r.user + r.system)} | ${(r.mean / nodeFloor.mean).toFixed(2)}x | ${(r.mean / ignition.mean).toFixed(2)}x |`);
  }
  console.log(`\nkindling's own start-up cost above node's floor: ${ms(kindling.min - nodeFloor.min)} ms (min), ${ms(kindling.user + kindling.system - nodeFloor.user - nodeFloor.system)} ms CPU`);

  const big = join(work, 'big.ign');
  writeFileSync(big, JSON.stringify(bigConfig()));
  const size = statSync(big).size;
  console.log(`\n## Scale: ${(size / 1e6).toFixed(1)} MB config, 50,000 files (median of 3, GNU time)\n`);
  console.log('| validator | exit | wall s (median) | wall s (min) | CPU s (median) | peak RSS MiB |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, argv] of [['ignition-validate', [IGNITION_VALIDATE, big]], ['kindling validate', [process.execPath, bin, 'validate', big]], ['parseConfig bundle', [process.execPath, engine, big]]]) {
    const runs = [0, 1, 2].map(() => timed(argv));
    const status = runs[0].status;
    console.log(`| ${name} | ${status}${status ? ' (' + runs[0].note + ')' : ''} | ${median(runs.map((r) => r.secs)).toFixed(2)} | ${Math.min(...runs.map((r) => r.secs)).toFixed(2)} | ${median(runs.map((r) => r.cpu)).toFixed(2)} | ${median(runs.map((r) => r.rssMiB)).toFixed(0)} |`);
  }
} finally {
  if (!existsSync(join(work, 'keep'))) rmSync(work, { recursive: true, force: true });
}
