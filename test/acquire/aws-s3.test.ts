// S3 on AWS, end to end through the built binary, the way Ignition's aws provider sets the fetcher
// up: the user data (from a fake IMDSv2 on 127.0.0.1) merges a config from s3:// and names a file
// whose contents are on s3://; the binary must sign those GETs with the instance role's credentials
// from IMDS (session token included) in the bucket's region, found with an unsigned HEAD in the
// region IMDS reports. The fake S3 checks every signature with its own SigV4 verifier (no code
// shared with src/resources/sigv4.ts) and refuses anything unsigned, so the test fails if the
// credentials, the token or the region are not handed over.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxEnv, scratch } from '../providers/helpers.js';

const KEY_ID = 'ASIAROLEKEY';
const SECRET = 'role/secret+Key0123';
const SESSION = 'FwoGZXIvYXdzE-session-token/with+chars==';
const REGION = 'eu-central-1';
const HINT = 'eu-west-1'; // what IMDS reports: the HEAD must go there first

let bin = process.env.KINDLING_BIN ?? '';
const closers: (() => Promise<void>)[] = [];

beforeAll(() => {
  if (!bin) {
    bin = join(scratch('kindling-s3bin-'), 'kindling');
    execFileSync(process.execPath, ['scripts/build.mjs', '--out', bin], { stdio: 'pipe' });
  }
}, 120_000);
afterAll(async () => {
  await Promise.all(closers.map((c) => c()));
});

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => s.close(() => r())));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** SigV4 as S3 checks it, rebuilt from the raw request; also insists the session token is signed. */
function checkSignature(req: http.IncomingMessage): string | undefined {
  const auth = String(req.headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=(\w+)\/(\d{8})\/([a-z0-9-]+)\/s3\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'missing or malformed Authorization';
  const [, keyId, day, region, signedList, sig] = m as unknown as string[];
  if (keyId !== KEY_ID) return `unknown access key ${keyId}`;
  if (region !== REGION) return `signed for region ${region}`;
  const signed = signedList!.split(';');
  if (!signed.includes('x-amz-security-token') || req.headers['x-amz-security-token'] !== SESSION) return 'session token missing, wrong or unsigned';
  if (!signed.includes('host') || !signed.includes('x-amz-date')) return 'host/x-amz-date unsigned';
  const date = String(req.headers['x-amz-date']);
  if (!date.startsWith(day!) || Math.abs(Date.parse(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`) - Date.now()) > 15 * 60_000) return 'stale x-amz-date';
  const [path, query = ''] = String(req.url).split('?');
  const canonicalQuery = query.split('&').filter(Boolean).map((p) => (p.includes('=') ? p : `${p}=`)).sort().join('&');
  const headers = signed.map((h) => `${h}:${String(req.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payload = String(req.headers['x-amz-content-sha256'] ?? '');
  if (payload !== 'UNSIGNED-PAYLOAD' && payload !== createHash('sha256').update('').digest('hex')) return 'bad payload hash';
  const canonical = [req.method, path, canonicalQuery, headers, signedList, payload].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', date, `${day}/${region}/s3/aws4_request`, createHash('sha256').update(canonical).digest('hex')].join('\n');
  let k = createHmac('sha256', `AWS4${SECRET}`).update(day!).digest();
  for (const p of [region!, 's3', 'aws4_request']) k = createHmac('sha256', k).update(p).digest();
  return createHmac('sha256', k).update(toSign).digest('hex') === sig ? undefined : 'SignatureDoesNotMatch';
}

interface Fakes {
  imds: string;
  s3: string;
  imdsLog: string[];
  s3Log: string[];
}

async function fakes(objects: Record<string, string>, userData: string, o: { role?: boolean; s3Failures?: number } = {}): Promise<Fakes> {
  const imdsLog: string[] = [];
  const s3Log: string[] = [];
  const imds = await serve((req, res) => {
    imdsLog.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('imds-token-1');
    if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-token-1') return res.writeHead(401).end();
    if (req.url === '/2019-10-01/user-data') return res.end(userData);
    if (req.url === '/latest/meta-data/placement/region') return res.end(HINT);
    if (o.role !== false && req.url === '/latest/meta-data/iam/security-credentials/') return res.end('kindling-node-role');
    if (o.role !== false && req.url === '/latest/meta-data/iam/security-credentials/kindling-node-role') {
      return res.end(JSON.stringify({ Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: KEY_ID, SecretAccessKey: SECRET, Token: SESSION, Expiration: new Date(Date.now() + 6 * 3600_000).toISOString() }));
    }
    res.writeHead(404).end();
  });
  let failures = o.s3Failures ?? 0;
  const s3 = await serve((req, res) => {
    const path = decodeURIComponent(String(req.url).split('?')[0]!);
    const bucket = path.split('/')[1]!;
    if (req.method === 'HEAD') {
      s3Log.push(`HEAD ${req.url} ${req.headers.authorization ? 'signed' : 'unsigned'}`);
      return res.writeHead(301, { 'x-amz-bucket-region': REGION }).end();
    }
    const bad = checkSignature(req);
    s3Log.push(`GET ${req.url} ${bad ?? 'ok'}`);
    const xml = (status: number, code: string) => res.writeHead(status, { 'content-type': 'application/xml' }).end(`<Error><Code>${code}</Code><Message>${code}</Message><BucketName>${bucket}</BucketName></Error>`);
    if (bad) return xml(403, bad === 'SignatureDoesNotMatch' ? bad : 'AccessDenied');
    if (failures-- > 0) return xml(503, 'SlowDown');
    const body = objects[path];
    if (body === undefined) return xml(404, 'NoSuchKey');
    res.end(body);
  });
  return { imds, s3, imdsLog, s3Log };
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(bin, args, { env, timeout: 60_000 });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => resolve({ status: code ?? -1, out }));
  });
}

function sandbox(f: Fakes, cmdline = 'console=ttyS0'): { dir: string; env: NodeJS.ProcessEnv; args: (platform: string, stage: string) => string[] } {
  const dir = scratch('kindling-aws-s3-');
  writeFileSync(join(dir, 'cmdline'), `${cmdline}\n`);
  const env = sandboxEnv(dir, {
    KINDLING_METADATA_BASE: f.imds,
    KINDLING_S3_ENDPOINT: f.s3,
  });
  const args = (platform: string, stage: string) => [
    '-platform', platform, '-stage', stage, '-root', join(dir, 'root'), '-config-cache', join(dir, 'ignition.json'),
    '-state-file', join(dir, 'state'), '-neednet', join(dir, 'neednet'), '-log-to-stdout', '-fetch-timeout', '30s',
  ];
  return { dir, env, args };
}

const sha512 = (s: string) => `sha512-${createHash('sha512').update(s).digest('hex')}`;
const MERGED = JSON.stringify({ ignition: { version: '3.4.0' }, storage: { files: [{ path: '/etc/merged-from-s3', contents: { source: 'data:,merged' } }] } });
const MOTD = 'provisioned from a private bucket\n';

function userData(): string {
  return JSON.stringify({
    ignition: { version: '3.4.0', config: { merge: [{ source: 's3://kindling-private/configs/merge.ign', verification: { hash: sha512(MERGED) } }] } },
    storage: { files: [{ path: '/etc/motd.d/s3', mode: 0o644, contents: { source: 'arn:aws:s3:::kindling-private/files/motd', verification: { hash: sha512(MOTD) } } }] },
  });
}

describe('aws: S3 with the instance role, through the binary', () => {
  it('fetch merges an s3:// config and files writes an arn: file, both signed with the role and its session token', async () => {
    const f = await fakes({ '/kindling-private/configs/merge.ign': MERGED, '/kindling-private/files/motd': MOTD }, userData(), { s3Failures: 1 });
    const sb = sandbox(f);
    const fetch = await run(sb.args('aws', 'fetch'), sb.env);
    expect(fetch.status, fetch.out).toBe(0);
    const cache = JSON.parse(readFileSync(join(sb.dir, 'ignition.json'), 'utf8'));
    expect(cache.storage.files.map((x: { path: string }) => x.path).sort()).toEqual(['/etc/merged-from-s3', '/etc/motd.d/s3']);
    const state = JSON.parse(readFileSync(join(sb.dir, 'state'), 'utf8'));
    expect(state.fetchedConfigs.slice(-2)).toEqual([
      { kind: 'user', source: 'aws', referenced: false },
      { kind: 'user', source: '/configs/merge.ign', referenced: true },
    ]);
    // IMDSv2 token, user data, then (for S3) the role, its credentials, the region hint.
    expect(f.imdsLog).toContain('GET /latest/meta-data/iam/security-credentials/kindling-node-role');
    expect(f.imdsLog).toContain('GET /latest/meta-data/placement/region');
    expect(f.s3Log).toEqual([
      'HEAD /kindling-private unsigned',
      'GET /kindling-private/configs/merge.ign ok', // answered 503 SlowDown: the SDK-style retry follows
      'GET /kindling-private/configs/merge.ign ok',
    ]);
    // No secret reaches the log.
    for (const secret of [SECRET, SESSION, 'imds-token-1']) expect(fetch.out).not.toContain(secret);

    mkdirSync(join(sb.dir, 'root', 'etc'), { recursive: true });
    const files = await run(sb.args('aws', 'files'), sb.env);
    expect(files.status, files.out).toBe(0);
    expect(readFileSync(join(sb.dir, 'root', 'etc', 'motd.d', 's3'), 'utf8')).toBe(MOTD);
    expect(statSync(join(sb.dir, 'root', 'etc', 'motd.d', 's3')).mode & 0o777).toBe(0o644);
    expect(f.s3Log.at(-1)).toBe('GET /kindling-private/files/motd ok');
    for (const secret of [SECRET, SESSION, 'imds-token-1']) expect(files.out).not.toContain(secret);
  }, 60_000);

  it('the command line URL on aws is fetched with the role too', async () => {
    const f = await fakes({ '/kindling-private/cmdline.ign': MERGED }, '');
    const sb = sandbox(f, 'ignition.config.url=s3://kindling-private/cmdline.ign');
    const r = await run(sb.args('aws', 'fetch'), sb.env);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(readFileSync(join(sb.dir, 'ignition.json'), 'utf8')).storage.files[0].path).toBe('/etc/merged-from-s3');
    expect(f.s3Log.at(-1)).toBe('GET /kindling-private/cmdline.ign ok');
  }, 60_000);

  it('without an IAM role the fetch is anonymous, and a private bucket refuses it with one clear error', async () => {
    const f = await fakes({ '/kindling-private/configs/merge.ign': MERGED }, userData(), { role: false });
    const sb = sandbox(f);
    const r = await run(sb.args('aws', 'fetch'), sb.env);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/error fetching object "configs\/merge.ign" from bucket "kindling-private": HTTP 403 AccessDenied/);
    expect(f.s3Log.at(-1)).toBe('GET /kindling-private/configs/merge.ign missing or malformed Authorization');
    expect(existsSync(join(sb.dir, 'ignition.json'))).toBe(false);
  }, 60_000);

  it('another platform never asks IMDS and fetches S3 anonymously (as Ignition off AWS)', async () => {
    const f = await fakes({ '/kindling-private/cmdline.ign': MERGED }, '');
    const sb = sandbox(f, 'ignition.config.url=s3://kindling-private/cmdline.ign');
    const r = await run(sb.args('metal', 'fetch'), sb.env);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/HTTP 403 AccessDenied/);
    expect(f.imdsLog).toEqual([]);
    expect(f.s3Log).toEqual(['HEAD /kindling-private unsigned', 'GET /kindling-private/cmdline.ign missing or malformed Authorization']);
  }, 60_000);
});
