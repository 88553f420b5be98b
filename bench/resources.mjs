#!/usr/bin/env node
// Figures for the resources layer. Builds bench/resources-lib.cjs into one CommonJS file with ncc
// (as scripts/build.mjs builds dist/kindling), then measures:
//  1. cold start of a process that loads the bundle and fetches one data: URL vs one http URL,
//     against `node -e 0` and against undici doing the same http fetch (why we use node:http);
//  2. 200 × 1 MiB sha512-verified fetches from a local server, 8 at a time: time to first byte
//     (openResource → first chunk) and throughput, plus the process's peak RSS.
// Usage: node bench/resources.mjs [--n 200] [--size-mib 1] [--concurrency 8] [--runs 7]
import ncc from '@vercel/ncc';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const N = arg('n', 200);
const SIZE = arg('size-mib', 1) * 1024 * 1024;
const CONC = arg('concurrency', 8);
const RUNS = arg('runs', 7);

const out = '/tmp/kindling-bench-resources';
mkdirSync(out, { recursive: true });
const t0 = performance.now();
const { code, assets } = await ncc(join(root, 'bench/resources-lib.cjs'), { minify: true, quiet: true, target: 'es2022', transpileOnly: true });
const bundle = join(out, 'resources.cjs');
writeFileSync(bundle, code);
writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
const extra = Object.keys(assets ?? {});
// pino's transport workers are the only assets ncc may add (they come from the logger, and the
// one-file check of scripts/build.mjs is about them); a chunk of ours would be "<n>.index.js".
const chunks = extra.filter((a) => /^\d+\.index\.c?js$/.test(a));
console.log(`bundle: ${(code.length / 1024).toFixed(0)} KiB in ${((performance.now() - t0) / 1000).toFixed(1)} s; extra assets: ${extra.join(', ') || 'none'}`);
if (chunks.length) {
  console.error(`FAIL: lazy imports produced chunk files: ${chunks.join(', ')}`);
  process.exit(1);
}

// The server runs in its own process, so the RSS and event loop measured below are the client's.
const serverSrc = `
const http = require('node:http');
const body = require('node:crypto').randomBytes(${SIZE});
process.stdout.write(require('node:crypto').createHash('sha512').update(body).digest('hex') + '\\n');
const server = http.createServer((req, res) => {
  if (req.url === '/small') return res.end('{"ignition":{"version":"3.6.0"}}');
  res.writeHead(200, { 'content-length': String(body.length) });
  res.end(body);
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;
const serverProc = spawn(process.execPath, ['-e', serverSrc], { stdio: ['pipe', 'pipe', 'inherit'] });
const [hex, port] = await new Promise((resolve) => {
  let buf = '';
  serverProc.stdout.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    if (lines.length >= 3) resolve(lines.slice(0, 2));
  });
});
const hash = 'sha512-' + hex;
const base = `http://127.0.0.1:${port}`;

/** Runs a command; wall time in ms and peak RSS in MiB (from /usr/bin/time when present). */
function timed(cmd, args) {
  return new Promise((resolve, reject) => {
    const useTime = existsSync('/usr/bin/time');
    const start = performance.now();
    const p = useTime ? spawn('/usr/bin/time', ['-f', '%M', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let outText = '';
    p.stderr.on('data', (d) => (err += d));
    p.stdout.on('data', (d) => (outText += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const ms = performance.now() - start;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`));
      const kb = useTime ? Number(err.trim().split('\n').pop()) : NaN;
      let inner;
      try {
        inner = JSON.parse(outText);
      } catch {
        inner = undefined;
      }
      resolve({ ms, rssMiB: kb / 1024, inner });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

// The variants run interleaved (one of each per round), so that load from other processes on a
// shared machine spreads over all of them; median and minimum are printed.
console.log(`\ncold start, ${RUNS} interleaved rounds (process start to exit; median / min):`);
const cli = join(root, 'bench/resources-cli.cjs');
const undiciPath = createRequire(join(root, 'package.json')).resolve('undici');
const variants = [
  ['node -e 0', ['-e', '0']],
  ['bundle: fetch data:,hello', [cli, bundle, 'data:,hello']],
  ['bundle: fetch http://127.0.0.1/small', [cli, bundle, `${base}/small`]],
  [
    'undici: import + request the same URL',
    ['--input-type=module', '-e', `const u = await import(${JSON.stringify(undiciPath)}); const r = await u.request(${JSON.stringify(base + '/small')}); await r.body.arrayBuffer();`],
  ],
];
const results = variants.map(() => []);
for (let i = 0; i < RUNS; i++) for (const [k, [, args]] of variants.entries()) results[k].push(await timed(process.execPath, args));
const med = [];
for (const [k, [label]] of variants.entries()) {
  const ms = results[k].map((r) => r.ms);
  const rss = median(results[k].map((r) => r.rssMiB));
  med.push(median(ms));
  console.log(`  ${label.padEnd(40)} ${median(ms).toFixed(0).padStart(5)} / ${Math.min(...ms).toFixed(0).padStart(4)} ms  ${Number.isNaN(rss) ? '' : rss.toFixed(0).padStart(4) + ' MiB RSS'}`);
}
console.log(`  => median cost over data: of the http path ${(med[2] - med[1]).toFixed(0)} ms; undici's over bare node ${(med[3] - med[0]).toFixed(0)} ms`);
// Inside the probe process, less exposed to scheduling noise than whole-process times:
const inner = (k) => results[k].map((r) => r.inner).filter(Boolean);
const f = (xs, key) => median(xs.map((x) => x[key])).toFixed(1);
console.log(`  in-process (median): require bundle ${f(inner(1), 'loadMs')} ms; first fetch of data: ${f(inner(1), 'fetchMs')} ms, of http (loads node:http and connects) ${f(inner(2), 'fetchMs')} ms`);

// Throughput in a fresh process (this one ran ncc, whose memory would swamp the figures).
const probe = spawn(process.execPath, [join(root, 'bench/resources-throughput.cjs'), bundle, base, hex, String(N), String(CONC), String(SIZE)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let probeOut = '';
probe.stdout.on('data', (d) => (probeOut += d));
const probeCode = await new Promise((r) => probe.on('close', r));
if (probeCode !== 0) {
  console.error('throughput probe failed');
  process.exit(1);
}
const { secs, ttfbs, maxArrayBuffers, maxRss } = JSON.parse(probeOut);
console.log(`\n${N} × ${(SIZE / 1048576).toFixed(0)} MiB sha512-verified fetches, ${CONC} at a time (server in a separate process):`);
console.log(`  total ${secs.toFixed(2)} s, ${((N * SIZE) / 1048576 / secs).toFixed(0)} MiB/s, ${(N / secs).toFixed(0)} fetches/s`);
console.log(`  time to first byte: median ${median(ttfbs).toFixed(1)} ms, p95 ${pct(ttfbs, 0.95).toFixed(1)} ms`);
console.log(`  fetching process: peak live Buffer memory ${(maxArrayBuffers / 1048576).toFixed(1)} MiB (sampled every 5 ms, garbage included), peak RSS ${(maxRss / 1048576).toFixed(0)} MiB`);
serverProc.stdin.end();
process.exit(0);
