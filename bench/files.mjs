#!/usr/bin/env node
// Benchmark: the files stage, Kindling (the bundled Ignition-compatible CLI) against Debian's
// Ignition 2.14, same flags, same config cache, a fresh root per run:
//   small   10,000 small files (data: URLs, 100 directories)
//   remote  200 remote files of 1 MiB with sha512 verification, served from 127.0.0.1
// The fetch stage (config -> cache) runs first and is not timed; the files stage is timed with
// /usr/bin/time (wall seconds, user+system CPU seconds, peak RSS). Prints each run, the medians
// and the ratios (Ignition / Kindling for time: > 1 means Kindling is faster; Kindling / Ignition
// for RSS). On a loaded shared machine wall time mostly measures waiting for a core; CPU time is
// the steadier figure.
// Kindling flushes the target filesystems before its report (syncfs, stages/files/durability.ts);
// Ignition does not: KINDLING_FILES_SYNCFS=0 measures Kindling without the flush.
// Both run without NODE_EXTRA_CA_CERTS (as bench/startup.mjs does): this machine's shells set it,
// and node 20 then parses that bundle at every start (~40 ms of CPU; none in an initramfs);
// FILES_BENCH_KEEP_ENV=1 keeps it. KINDLING_HTTP_CLIENT=node times remote files through node:http
// instead of Kindling's own HTTP/1.1 client (src/resources/http1.ts).
// usage: [FILES_BENCH_DIR=/dev/shm] [KINDLING_BIN=path] node bench/files.mjs [RUNS]
//        (needs root for chown, like the real stage; without KINDLING_BIN the bundle is built here)
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.argv[2] ?? 3);
const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';
const repo = process.cwd();
// FILES_BENCH_DIR=/dev/shm measures the software without the disk (on a shared, busy machine the
// ext4 journal's contention otherwise dominates and swings from run to run).
const dir = mkdtempSync(join(process.env.FILES_BENCH_DIR || tmpdir(), 'kindling-bench-files-'));

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }).toString();
}

/** Runs a command under /usr/bin/time; resolves { wall, rssKiB, cpu } (cpu = user + system s). */
function timed(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const tf = join(dir, 'time.out');
    const p = spawn('/usr/bin/time', ['-o', tf, '-f', '%e %M %U %S', cmd, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      const [wall, rss, user, sys] = readFileSync(tf, 'utf8').trim().split(/\s+/).map(Number);
      resolve({ wall, rssKiB: rss, cpu: user + sys });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const MiB = 1 << 20;
const bodies = [];
for (let i = 0; i < 200; i++) {
  const b = Buffer.alloc(MiB);
  for (let o = 0; o < MiB; o += 32) b.write(`${i.toString().padStart(6, '0')}:${o.toString(16).padStart(24, '0')}\n`, o);
  bodies.push(b);
}
const server = createServer((req, res) => {
  const m = /^\/blob\/(\d+)$/.exec(req.url ?? '');
  const b = m ? bodies[Number(m[1])] : undefined;
  if (!b) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Length': b.length });
  res.end(b);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const scenarios = {
  small: {
    ignition: { version: '3.3.0' },
    storage: {
      files: Array.from({ length: 10_000 }, (_, i) => ({
        path: `/srv/small/d${String(i % 100).padStart(2, '0')}/f${i}`,
        mode: 0o644,
        contents: { source: `data:,small%20file%20${i}%0A` },
      })),
    },
  },
  remote: {
    ignition: { version: '3.3.0' },
    storage: {
      files: bodies.map((b, i) => ({
        path: `/srv/remote/blob${i}`,
        contents: { source: `${base}/blob/${i}`, verification: { hash: 'sha512-' + createHash('sha512').update(b).digest('hex') } },
      })),
    },
  },
};

try {
  const kindling = process.env.KINDLING_BIN || join(dir, 'kindling');
  if (!process.env.KINDLING_BIN) sh('node', ['scripts/build.mjs', '--out', kindling], { cwd: repo });
  const stub = join(dir, 'stub');
  mkdirSync(stub);
  writeFileSync(join(stub, 'setfiles'), '#!/bin/sh\ncat >/dev/null\n', { mode: 0o755 });
  const env = { ...process.env, PATH: `${stub}:${process.env.PATH}` };
  if (process.env.FILES_BENCH_KEEP_ENV !== '1') delete env.NODE_EXTRA_CA_CERTS;
  const results = {};
  for (const [name, config] of Object.entries(scenarios)) {
    const cfgFile = join(dir, `${name}.ign`);
    writeFileSync(cfgFile, JSON.stringify(config));
    const e = { ...env, IGNITION_CONFIG_FILE: cfgFile };
    results[name] = { ignition: [], kindling: [] };
    for (let run = 0; run < RUNS; run++) {
      for (const [who, bin] of run % 2 ? [['kindling', kindling], ['ignition', IGNITION]] : [['ignition', IGNITION], ['kindling', kindling]]) {
        const w = join(dir, `${who}-${name}-${run}`);
        const root = join(w, 'root');
        mkdirSync(join(root, 'etc/selinux'), { recursive: true });
        writeFileSync(join(root, 'etc/selinux/config'), 'SELINUXTYPE=targeted\n');
        const common = ['-platform', 'file', '-config-cache', join(w, 'cache.json'), '-state-file', join(w, 'state'), '-log-to-stdout'];
        sh(bin, ['-stage', 'fetch', ...common], { env: e });
        sh('sync', []);
        const t = await timed(bin, ['-stage', 'files', '-root', root, ...common], e);
        results[name][who].push(t);
        const count = Number(sh('sh', ['-c', `find ${root}/srv -type f | wc -l`]).trim());
        const want = config.storage.files.length;
        if (count !== want) throw new Error(`${who} ${name}: ${count} files, expected ${want}`);
        process.stdout.write(`${name.padEnd(7)} ${who.padEnd(9)} run ${run + 1}: ${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU, peak RSS ${(t.rssKiB / 1024).toFixed(1)} MiB\n`);
        rmSync(w, { recursive: true, force: true });
      }
    }
  }
  process.stdout.write('\nmedians (files stage only; fetch stage untimed)\n');
  for (const [name, r] of Object.entries(results)) {
    const iw = median(r.ignition.map((x) => x.wall));
    const kw = median(r.kindling.map((x) => x.wall));
    const ir = median(r.ignition.map((x) => x.rssKiB));
    const kr = median(r.kindling.map((x) => x.rssKiB));
    const ic = median(r.ignition.map((x) => x.cpu));
    const kc = median(r.kindling.map((x) => x.cpu));
    process.stdout.write(
      `${name.padEnd(7)} ignition ${iw.toFixed(2)} s wall, ${ic.toFixed(2)} s CPU, ${(ir / 1024).toFixed(1)} MiB   ` +
        `kindling ${kw.toFixed(2)} s wall, ${kc.toFixed(2)} s CPU, ${(kr / 1024).toFixed(1)} MiB\n` +
        `        wall ratio ignition/kindling ${(iw / kw).toFixed(2)}x   CPU ratio ignition/kindling ${(ic / kc).toFixed(2)}x   RSS ratio kindling/ignition ${(kr / ir).toFixed(2)}x\n`,
    );
  }
} finally {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
