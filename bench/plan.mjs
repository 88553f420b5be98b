// Plan time and peak memory for a 50,000-entry config (files, directories, links, units):
// `kindling plan CONFIG --json`, wall time and max RSS (GNU time's %M), median of a few runs.
// Usage: node bench/plan.mjs [--entries 50000] [--runs 3] [--bin dist/kindling]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : process.argv[i + 1];
};
const entries = Number(arg('entries', 50000));
const runs = Number(arg('runs', 3));
const bin = arg('bin', join(import.meta.dirname, '..', 'dist', 'kindling'));
if (!existsSync('/usr/bin/time')) {
  console.error('bench/plan: needs GNU time (apt-get install time)');
  process.exit(2);
}

// A realistic mix: mostly small data: files spread over a few hundred directories, plus
// directories, links and units.
function makeConfig(n) {
  const files = [], directories = [], links = [], units = [];
  for (let i = 0; i < n; i++) {
    const d = `/opt/app/d${i % 500}`;
    switch (i % 10) {
      case 0: directories.push({ path: `${d}/sub${i}`, mode: 0o755 }); break;
      case 1: links.push({ path: `${d}/link${i}`, target: `file${i - 1}` }); break;
      case 2: units.push({ name: `svc${i}.service`, enabled: i % 4 === 0, contents: `[Service]\nExecStart=/bin/true ${i}\n` }); break;
      default: files.push({ path: `${d}/file${i}`, mode: 0o644, contents: { source: `data:,entry%20${i}` } });
    }
  }
  return { ignition: { version: '3.4.0' }, storage: { files, directories, links }, systemd: { units } };
}

const dir = mkdtempSync(join(tmpdir(), 'kindling-bench-plan-'));
try {
  const cfg = join(dir, 'big.ign');
  writeFileSync(cfg, JSON.stringify(makeConfig(entries)));
  const results = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    const p = spawnSync('/usr/bin/time', ['-f', '%M', bin, 'plan', cfg, '--json'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (p.status !== 0) throw new Error(`plan failed (${p.status}): ${p.stderr.slice(-500)}`);
    const rssKiB = Number(p.stderr.trim().split('\n').pop());
    const ops = JSON.parse(p.stdout).stages.reduce((a, s) => a + s.ops.length, 0);
    results.push({ ms, rssMiB: rssKiB / 1024, ops });
  }
  const node0 = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, '-e', '0'], { encoding: 'utf8' });
  const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ms = med(results.map((x) => x.ms));
  const rss = med(results.map((x) => x.rssMiB));
  console.log(`plan of a ${entries}-entry config (${(statSync(cfg).size / 1e6).toFixed(1)} MB, ${results[0].ops} planned operations)`);
  console.log(`  wall time   median ${ms.toFixed(0)} ms over ${runs} runs (${(ms / entries * 1000).toFixed(1)} µs per entry)`);
  console.log(`  peak RSS    median ${rss.toFixed(0)} MiB (node -e 0: ${(Number(node0.stderr.trim()) / 1024).toFixed(0)} MiB)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
