// Benchmarks of getting the config (the acquire layer), printed as a table:
//  1. fetch-offline of a config in QEMU fw_cfg (an injected sysfs directory): wall time and peak
//     RSS of the kindling bundle, of `node -e 0` (the floor any Node program pays), and of Debian's
//     Ignition 2.14 on the same config (through the file platform: its qemu provider reads the real
//     /sys path and runs modprobe, which cannot be pointed elsewhere). Goal: <= 1.3x node -e 0, <= 60 MB.
//  2. time to acquire on each metadata-service provider against a local fake (the whole `-stage
//     fetch` run of the binary, KINDLING_METADATA_BASE pointing at the fake).
//  3. a config merging 100 configs over HTTP, fetched and validated.
//  4. aws user data merging 20 s3:// configs: the IAM role and region asked from the fake IMDS once,
//     every GET SigV4-signed (KINDLING_S3_ENDPOINT pointing at the same fake), against the same 20
//     merges over plain HTTP.
// Usage: node bench/fetch.mjs [--bin PATH] [--runs N]   (builds /tmp/kindling-bench-fetch/kindling
// when --bin is not given)
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STARTUP_CONFIG, fwCfgSandbox, sandboxEnv, stageArgs } from '../scripts/sandbox.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (n, d) => {
  const i = process.argv.indexOf(n);
  return i === -1 ? d : process.argv[i + 1];
};
const RUNS = Number(arg('--runs', '10'));
let bin = arg('--bin');
if (!bin) {
  bin = '/tmp/kindling-bench-fetch/kindling';
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--out', bin], { stdio: 'inherit' });
}
const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';
const work = mkdtempSync(join(tmpdir(), 'kindling-bench-'));

function sandbox(dir, extra = {}) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cmdline'), 'console=ttyS0\n');
  return sandboxEnv(dir, { KINDLING_NO_MODPROBE: '1', ...extra });
}

/** One run under /usr/bin/time: wall ms and max RSS KB. Asynchronous so in-process fakes keep serving. */
function measure(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const [rss, user, sys] = err.trim().split('\n').pop().split(' ').map(Number);
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-500)}`));
      else resolve({ ms, rssKb: rss, cpuMs: (user + sys) * 1000 });
    });
  });
}
async function series(cmd, args, env, runs = RUNS) {
  await measure(cmd, args, env); // warm the page cache
  const r = [];
  for (let i = 0; i < runs; i++) r.push(await measure(cmd, args, env));
  const ms = r.map((x) => x.ms).sort((a, b) => a - b);
  const cpu = r.map((x) => x.cpuMs).sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], min: ms[0], cpu: cpu[Math.floor(cpu.length / 2)], rssMb: Math.max(...r.map((x) => x.rssKb)) / 1024 };
}
const fmt = (x) => x.toFixed(1);

// 1. fw_cfg fetch-offline
const config = STARTUP_CONFIG;
const d1 = join(work, 'fwcfg');
mkdirSync(d1, { recursive: true });
writeFileSync(join(d1, 'config.ign'), config);
const { env: env1 } = fwCfgSandbox(d1, config, { IGNITION_CONFIG_FILE: join(d1, 'config.ign') });
const nodeFloor = await series(process.execPath, ['-e', '0'], env1);
const kind = await series(bin, stageArgs(d1, 'qemu', 'fetch-offline'), env1);
const ign = existsSync(IGNITION) ? await series(IGNITION, stageArgs(d1, 'file', 'fetch-offline'), env1) : undefined;
// Wall time on a shared machine is noisy; user+system CPU (from the kernel's rusage) is steadier.
console.log(`\n1. fetch-offline of a fw_cfg config (${RUNS} runs: median wall ms, min wall ms, median CPU ms, peak RSS MB)`);
const row = (name, r) => `   ${name.padEnd(30)} ${fmt(r.median).padStart(7)} ${fmt(r.min).padStart(7)} ${fmt(r.cpu).padStart(7)} ${fmt(r.rssMb).padStart(6)}`;
console.log(row('node -e 0', nodeFloor));
console.log(row('kindling (qemu, fw_cfg dir)', kind) + `   wall ${(kind.median / nodeFloor.median).toFixed(2)}x, min ${(kind.min / nodeFloor.min).toFixed(2)}x, CPU ${(kind.cpu / nodeFloor.cpu).toFixed(2)}x node -e 0`);
if (ign) console.log(row('ignition 2.14 (file platform)', ign));

// 2. each metadata provider against a fake
const CFG = '{"ignition":{"version":"3.3.0"}}';
const b64 = Buffer.from(CFG).toString('base64');
const routes = {
  'PUT /latest/api/token': 'T',
  'GET /2019-10-01/user-data': CFG,
  'GET /computeMetadata/v1/instance/attributes/user-data': CFG,
  'GET /metadata/instance/compute/userData': b64,
  'GET /openstack/latest/user_data': CFG,
  'GET /metadata/v1/user-data': CFG,
  'GET /userdata': CFG,
  'GET /latest/user-data': CFG,
  'GET /1.0/user-data': CFG,
  'GET /user-data/user-data': CFG,
  'GET /hetzner/v1/userdata': CFG,
  'GET /metadata/v1/user_data': CFG,
  'GET /opc/v2/instance/metadata/user_data': b64,
  'PUT /v1/token': 'T',
  'GET /v1/user-data': b64,
};
let merged = [];
let awsUserData = '';
const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/latest/meta-data/iam/security-credentials/') return res.end('bench-role');
  if (path === '/latest/meta-data/iam/security-credentials/bench-role') {
    return res.end(JSON.stringify({ Code: 'Success', AccessKeyId: 'ASIABENCH', SecretAccessKey: 'bench', Token: 'bench-token', Expiration: new Date(Date.now() + 3600_000).toISOString() }));
  }
  if (path === '/latest/meta-data/placement/region') return res.end('eu-west-1');
  if (req.method === 'HEAD' && path === '/s3/bench-bucket') return res.writeHead(301, { 'x-amz-bucket-region': 'eu-west-1' }).end();
  if (path === '/2019-10-01/user-data' && awsUserData) return res.end(awsUserData);
  const m = /^(?:\/s3\/bench-bucket)?\/child\/(\d+)\.ign$/.exec(path);
  if (m) {
    res.end(JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files: [{ path: `/etc/bench/${m[1]}`, contents: { source: `data:,${m[1]}` } }] } }));
    return;
  }
  const body = routes[`${req.method} ${path}`];
  if (body === undefined) res.writeHead(404).end();
  else res.end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
console.log(`\n2. time to acquire per provider (whole \`-stage fetch\` run against a local fake, median of ${Math.max(3, Math.floor(RUNS / 2))})`);
for (const p of ['aws', 'gcp', 'azure', 'openstack', 'digitalocean', 'packet', 'aliyun', 'exoscale', 'vultr', 'hetzner', 'upcloud', 'oraclecloud', 'akamai']) {
  const d = join(work, `p-${p}`);
  const r = await series(bin, stageArgs(d, p, 'fetch'), sandbox(d, { KINDLING_METADATA_BASE: base }), Math.max(3, Math.floor(RUNS / 2)));
  console.log(`   ${p.padEnd(14)} ${fmt(r.median)} ms  ${fmt(r.rssMb)} MB`);
}

// 3. 100 merged configs
const d3 = join(work, 'merge100');
mkdirSync(d3, { recursive: true });
merged = Array.from({ length: 100 }, (_, i) => ({ source: `${base}/child/${i}.ign` }));
writeFileSync(join(d3, 'config.ign'), JSON.stringify({ ignition: { version: '3.3.0', config: { merge: merged } } }));
const r3 = await series(bin, stageArgs(d3, 'file', 'fetch'), sandbox(d3, { IGNITION_CONFIG_FILE: join(d3, 'config.ign') }), 5);
console.log(`\n3. a config merging 100 configs over HTTP, fetched + validated: ${fmt(r3.median)} ms (median of 5), ${fmt(r3.rssMb)} MB`);
if (existsSync(IGNITION)) {
  const i3 = await series(IGNITION, stageArgs(d3, 'file', 'fetch'), sandbox(d3, { IGNITION_CONFIG_FILE: join(d3, 'config.ign') }), 5);
  console.log(`   ignition 2.14 on the same: ${fmt(i3.median)} ms, ${fmt(i3.rssMb)} MB`);
}

// 4. S3 on aws vs plain HTTP, 20 merged configs each
const merges = (src) => JSON.stringify({ ignition: { version: '3.3.0', config: { merge: Array.from({ length: 20 }, (_, i) => ({ source: src(i) })) } } });
const d4 = join(work, 'aws-s3');
awsUserData = merges((i) => `s3://bench-bucket/child/${i}.ign`);
const r4 = await series(bin, stageArgs(d4, 'aws', 'fetch'), sandbox(d4, { KINDLING_METADATA_BASE: base, KINDLING_S3_ENDPOINT: `${base}/s3` }), 5);
const got4 = JSON.parse(readFileSync(join(d4, 'config.json'), 'utf8')).storage?.files?.length;
if (got4 !== 20) throw new Error(`bench 4: the s3:// merges gave ${got4} files, not 20`);
awsUserData = merges((i) => `${base}/child/${i}.ign`);
const r4h = await series(bin, stageArgs(d4, 'aws', 'fetch'), sandbox(d4, { KINDLING_METADATA_BASE: base }), 5);
console.log(`\n4. aws user data merging 20 configs (median of 5): from s3:// (role + region from IMDS, signed) ${fmt(r4.median)} ms, ${fmt(r4.rssMb)} MB; over http ${fmt(r4h.median)} ms, ${fmt(r4h.rssMb)} MB`);
server.close();
