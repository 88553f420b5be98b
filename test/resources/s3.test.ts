// S3: SigV4 against AWS's published examples, and s3:// / arn: fetches against a local fake S3 that
// checks signatures with its own verifier (written separately below), plus a fake IMDS.
import { afterEach, describe, expect, it } from 'vitest';
import type http from 'node:http';
import { createHash, createHmac } from 'node:crypto';
import { fetchResource, FetchError } from '../../src/resources/index.js';
import { signRequest } from '../../src/resources/sigv4.js';
import { bucketUrl, objectUrl, parseS3Url } from '../../src/resources/s3.js';
import { FAST, sha512, startHttp, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('SigV4 against AWS published examples', () => {
  it('get-vanilla (AWS SigV4 test suite)', () => {
    const s = signRequest({
      method: 'GET',
      url: new URL('https://example.amazonaws.com/'),
      region: 'us-east-1',
      service: 'service',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      date: new Date('2015-08-30T12:36:00Z'),
    });
    expect(s.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  const S3_KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  it('S3 GET Object example (Range header)', () => {
    const s = signRequest({
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
      headers: { Range: 'bytes=0-9' },
      region: 'us-east-1',
      service: 's3',
      credentials: S3_KEYS,
      date: new Date('2013-05-24T00:00:00Z'),
    });
    expect(s.signature).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    expect(s.headers.authorization).toContain('SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,');
  });

  it('S3 GET Bucket example (query string)', () => {
    const s = signRequest({
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J'),
      region: 'us-east-1',
      service: 's3',
      credentials: S3_KEYS,
      date: new Date('2013-05-24T00:00:00Z'),
    });
    expect(s.signature).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });
});

describe('S3 URLs and ARNs as Ignition parses them', () => {
  it('parses s3:// and bucket/access-point ARNs', () => {
    expect(parseS3Url('s3://my-bucket/dir/obj.ign?versionId=v1')).toMatchObject({ bucket: 'my-bucket', key: 'dir/obj.ign', versionId: 'v1', accessPoint: false });
    expect(parseS3Url('arn:aws:s3:::my-bucket/dir/obj.ign')).toMatchObject({ bucket: 'my-bucket', key: 'dir/obj.ign', regionHint: 'us-east-1' });
    expect(parseS3Url('arn:aws-cn:s3:::b/k').regionHint).toBe('cn-north-1');
    expect(parseS3Url('arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/object/dir/obj.ign')).toMatchObject({
      bucket: 'my-ap-123456789012',
      key: 'dir/obj.ign',
      region: 'us-west-2',
      accessPoint: true,
    });
    expect(() => parseS3Url('arn:aws:iam::123456789012:user/x')).toThrow(/not a valid S3 ARN/);
    expect(() => parseS3Url('arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/obj')).toThrow(/access point/);
    expect(() => parseS3Url('arn:aws:s3:::bucket-only')).toThrow(/names no object/);
  });

  it('builds AWS endpoints: virtual-hosted dual-stack, path-style for dotted buckets, access points, China', () => {
    const t = parseS3Url('s3://my-bucket/a b/c.ign');
    expect(objectUrl(t, 'eu-west-1')).toBe('https://my-bucket.s3.dualstack.eu-west-1.amazonaws.com/a%20b/c.ign');
    expect(objectUrl(parseS3Url('s3://my.dotted.bucket/k'), 'us-east-1')).toBe('https://s3.dualstack.us-east-1.amazonaws.com/my.dotted.bucket/k');
    expect(objectUrl(parseS3Url('arn:aws:s3:us-west-2:123456789012:accesspoint/ap/object/k'), 'us-west-2')).toBe(
      'https://ap-123456789012.s3-accesspoint.dualstack.us-west-2.amazonaws.com/k',
    );
    expect(bucketUrl('b-1', 'cn-north-1')).toBe('https://b-1.s3.cn-north-1.amazonaws.com.cn/');
  });
});

// ---------------------------------------------------------------------------------------------
// The fake S3's own verifier: rebuilds the canonical request from the raw request line and the
// headers the client says it signed, without sharing code with src/resources/sigv4.ts.

const SECRETS: Record<string, string> = { AKIAFAKE: 'fake/secret+key' };

function verifySigV4(req: http.IncomingMessage): { ok: true; region: string; token?: string } | { ok: false; why: string } {
  const auth = req.headers.authorization;
  if (!auth) return { ok: false, why: 'no authorization' };
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false, why: 'malformed authorization' };
  const [, keyId, day, region, signed, sig] = m as unknown as [string, string, string, string, string, string];
  const secret = SECRETS[keyId];
  if (!secret) return { ok: false, why: 'unknown key' };
  const amzDate = String(req.headers['x-amz-date']);
  if (!amzDate.startsWith(day)) return { ok: false, why: 'date mismatch' };
  const [path, rawQuery = ''] = (req.url ?? '/').split('?') as [string, string?];
  const query = rawQuery
    .split('&')
    .filter(Boolean)
    .map((p) => (p.includes('=') ? p : p + '='))
    .sort()
    .join('&');
  const names = signed.split(';');
  const headerBlock = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim()}\n`).join('');
  const payload = String(req.headers['x-amz-content-sha256']);
  const creq = `${req.method}\n${path}\n${query}\n${headerBlock}\n${signed}\n${payload}`;
  const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${day}/${region}/s3/aws4_request\n${createHash('sha256').update(creq).digest('hex')}`;
  let k: Buffer = createHmac('sha256', `AWS4${secret}`).update(day).digest();
  for (const part of [region, 's3', 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
  const want = createHmac('sha256', k).update(sts).digest('hex');
  if (want !== sig) return { ok: false, why: `signature mismatch; canonical request was:\n${creq}` };
  return { ok: true, region, token: req.headers['x-amz-security-token'] as string | undefined };
}

interface FakeS3 {
  url: string;
  log: { method: string; url: string; signed: boolean; region?: string; token?: string }[];
}

async function fakeS3(objects: Record<string, string>, opts: { publicBuckets?: string[]; region?: string } = {}): Promise<FakeS3> {
  const log: FakeS3['log'] = [];
  const region = opts.region ?? 'eu-west-3';
  const s = await startHttp((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const bucket = path.split('/')[1]!;
    const known = Object.keys(objects).some((k) => k.startsWith(`/${bucket}/`));
    if (req.method === 'HEAD') {
      log.push({ method: 'HEAD', url: req.url!, signed: Boolean(req.headers.authorization) });
      if (!known) {
        res.writeHead(404);
        return res.end();
      }
      // Real S3 answers a bucket in another region with a redirect; its region header must be read
      // from that response, not from wherever the Location leads.
      res.writeHead(301, { 'x-amz-bucket-region': region, location: '/elsewhere' });
      return res.end();
    }
    const v = req.headers.authorization ? verifySigV4(req) : undefined;
    log.push({ method: req.method!, url: req.url!, signed: Boolean(v), region: v?.ok ? v.region : undefined, token: v?.ok ? v.token : undefined });
    const xml = (code: string, status: number, msg = code) => {
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>${msg}</Message></Error>`);
    };
    if (v && !v.ok) return xml('SignatureDoesNotMatch', 403, v.why.split('\n')[0]);
    if (v?.ok && v.region !== region) return xml('AuthorizationHeaderMalformed', 400, `wrong region ${v.region}`);
    if (!v && !opts.publicBuckets?.includes(bucket)) return xml('AccessDenied', 403, 'Access Denied');
    const q = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const key = path + (q.get('versionId') ? `?versionId=${q.get('versionId')}` : '');
    if (objects[key] === undefined) return xml('NoSuchKey', 404, 'The specified key does not exist.');
    res.end(objects[key]);
  });
  servers.push(s);
  return { url: s.url, log };
}

async function fakeImds(opts: { role?: boolean; v1Only?: boolean } = {}) {
  const log: string[] = [];
  const s = await startHttp((req, res) => {
    log.push(`${req.method} ${req.url} token=${req.headers['x-aws-ec2-metadata-token'] ?? '-'}`);
    if (req.url === '/latest/api/token') {
      if (opts.v1Only) {
        res.writeHead(405);
        return res.end();
      }
      if (req.method !== 'PUT' || !req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
        res.writeHead(400);
        return res.end();
      }
      return res.end('TOKEN123');
    }
    if (!opts.v1Only && req.headers['x-aws-ec2-metadata-token'] !== 'TOKEN123') {
      res.writeHead(401);
      return res.end();
    }
    if (req.url === '/latest/meta-data/placement/region') return res.end('eu-west-3');
    if (opts.role === false) {
      res.writeHead(404);
      return res.end();
    }
    if (req.url === '/latest/meta-data/iam/security-credentials/') return res.end('my-role\n');
    if (req.url === '/latest/meta-data/iam/security-credentials/my-role') {
      return res.end(JSON.stringify({ Code: 'Success', AccessKeyId: 'AKIAFAKE', SecretAccessKey: 'fake/secret+key', Token: 'SESSION-TOKEN', Expiration: '2099-01-01T00:00:00Z' }));
    }
    res.writeHead(404);
    res.end();
  });
  servers.push(s);
  return { url: s.url, log };
}

describe('s3:// and arn: fetches (fake S3 + fake IMDS)', () => {
  const CONFIG = '{"ignition":{"version":"3.6.0"}}';

  it('uses the instance role (IMDSv2), finds the bucket region, signs the GET', async () => {
    const s3 = await fakeS3({ '/my-bucket/dir/my file.ign': CONFIG });
    const imds = await fakeImds();
    const got = await fetchResource(
      { source: 's3://my-bucket/dir/my%20file.ign', verification: { hash: sha512(CONFIG) } },
      { s3: { instanceCredentials: true, imdsBase: imds.url, endpoint: s3.url } },
    );
    expect(got.toString()).toBe(CONFIG);
    expect(imds.log[0]).toBe('PUT /latest/api/token token=-');
    expect(imds.log.slice(1).every((l) => l.endsWith('token=TOKEN123'))).toBe(true);
    expect(s3.log[0]).toMatchObject({ method: 'HEAD', url: '/my-bucket', signed: false });
    expect(s3.log).toHaveLength(2); // the 301 of the region probe was not followed
    expect(s3.log[1]).toMatchObject({ method: 'GET', url: '/my-bucket/dir/my%20file.ign', signed: true, region: 'eu-west-3', token: 'SESSION-TOKEN' });
  });

  it('asks IMDS and the bucket region once for several objects', async () => {
    const s3 = await fakeS3({ '/many-b/a': 'A', '/many-b/b': 'B' });
    const imds = await fakeImds();
    const o = { s3: { instanceCredentials: true, imdsBase: imds.url, endpoint: s3.url } };
    expect((await fetchResource({ source: 's3://many-b/a' }, o)).toString()).toBe('A');
    const asked = imds.log.length;
    expect((await fetchResource({ source: 's3://many-b/b' }, o)).toString()).toBe('B');
    expect(imds.log.length).toBe(asked);
    expect(s3.log.map((l) => l.method)).toEqual(['HEAD', 'GET', 'GET']);
    expect(s3.log[2]).toMatchObject({ signed: true, token: 'SESSION-TOKEN' });
  });

  it('signs a versionId query parameter', async () => {
    const s3 = await fakeS3({ '/b-1/k?versionId=v+2/x': 'versioned' });
    const got = await fetchResource({ source: 's3://b-1/k?versionId=v%2B2%2Fx' }, { s3: { credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake/secret+key' }, endpoint: s3.url } });
    expect(got.toString()).toBe('versioned');
    expect(s3.log[1]).toMatchObject({ signed: true, url: '/b-1/k?versionId=v%2B2%2Fx' });
  });

  it('a wrong secret is caught by the fake (the test can fail)', async () => {
    const s3 = await fakeS3({ '/b-1/k': 'x' });
    const err = (await fetchResource({ source: 's3://b-1/k' }, { ...FAST, s3: { credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'wrong' }, endpoint: s3.url } }).catch((e: unknown) => e)) as FetchError;
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/HTTP 403 SignatureDoesNotMatch/);
  });

  it('fetches anonymously when not on AWS (Ignition builds an anonymous config there)', async () => {
    const s3 = await fakeS3({ '/public-b/k': 'pub', '/private-b/k': 'priv' }, { publicBuckets: ['public-b'] });
    expect((await fetchResource({ source: 's3://public-b/k' }, { s3: { endpoint: s3.url } })).toString()).toBe('pub');
    expect(s3.log.every((l) => !l.signed)).toBe(true);
    const err = (await fetchResource({ source: 's3://private-b/k' }, { s3: { endpoint: s3.url } }).catch((e: unknown) => e)) as FetchError;
    expect(err.message).toMatch(/error fetching object "k" from bucket "private-b": HTTP 403 AccessDenied: Access Denied/);
  });

  it('falls back to anonymous when the instance has no role', async () => {
    const s3 = await fakeS3({ '/public-b/k': 'pub' }, { publicBuckets: ['public-b'] });
    const imds = await fakeImds({ role: false });
    expect((await fetchResource({ source: 's3://public-b/k' }, { s3: { instanceCredentials: true, imdsBase: imds.url, endpoint: s3.url } })).toString()).toBe('pub');
    expect(s3.log[1]!.signed).toBe(false);
  });

  it('falls back to IMDSv1 when the token call is refused', async () => {
    const s3 = await fakeS3({ '/b-1/k': 'v1' });
    const imds = await fakeImds({ v1Only: true });
    expect((await fetchResource({ source: 's3://b-1/k' }, { s3: { instanceCredentials: true, imdsBase: imds.url, endpoint: s3.url } })).toString()).toBe('v1');
    expect(imds.log.slice(1).every((l) => l.endsWith('token=-'))).toBe(true);
    expect(s3.log[1]!.signed).toBe(true);
  });

  it('fetches through an access point ARN with the ARN region, without asking for a bucket region', async () => {
    const s3 = await fakeS3({ '/my-ap-123456789012/dir/c.ign': CONFIG }, { region: 'us-west-2' });
    const got = await fetchResource(
      { source: 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/object/dir/c.ign' },
      { s3: { credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake/secret+key' }, endpoint: s3.url } },
    );
    expect(got.toString()).toBe(CONFIG);
    expect(s3.log).toHaveLength(1);
    expect(s3.log[0]).toMatchObject({ method: 'GET', region: 'us-west-2' });
  });

  it('reports a missing key as not found, a missing bucket clearly, and refuses compression', async () => {
    const s3 = await fakeS3({ '/b-1/k': 'x' }, { publicBuckets: ['b-1'] });
    const e1 = (await fetchResource({ source: 'arn:aws:s3:::b-1/nope' }, { s3: { endpoint: s3.url } }).catch((e: unknown) => e)) as FetchError;
    expect(e1.notFound).toBe(true);
    expect(e1.message).toMatch(/object "nope" not found in bucket "b-1" \(NoSuchKey/);
    const e2 = (await fetchResource({ source: 's3://no-such-bucket/k' }, { s3: { endpoint: s3.url } }).catch((e: unknown) => e)) as FetchError;
    expect(e2.message).toMatch(/could not find bucket "no-such-bucket"/);
    await expect(fetchResource({ source: 's3://b-1/k', compression: 'gzip' }, { s3: { endpoint: s3.url } })).rejects.toThrow(/compression is not supported with that scheme/);
  });

  it('verifies the hash of an S3 object', async () => {
    const s3 = await fakeS3({ '/b-1/k': 'abc' }, { publicBuckets: ['b-1'] });
    await expect(fetchResource({ source: 's3://b-1/k', verification: { hash: sha512('abd') } }, { s3: { endpoint: s3.url } })).rejects.toThrow(/sha512 of the contents/);
  });
});

// ---------------------------------------------------------------------------------------------
// Retries: Ignition hands S3 to the AWS SDK's standard retryer (3 attempts, jittered backoff, only
// transient statuses and codes), not to its endless HTTP loop.

type Failure = { status: number; code?: string } | 'reset';

async function flakyS3(failures: Failure[], body = 'finally') {
  const log: { method: string; signed: boolean; date?: string }[] = [];
  let gets = 0;
  const s = await startHttp((req, res) => {
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'x-amz-bucket-region': 'eu-west-3' });
      return res.end();
    }
    const v = req.headers.authorization ? verifySigV4(req) : undefined;
    log.push({ method: req.method!, signed: Boolean(v?.ok), date: req.headers['x-amz-date'] as string | undefined });
    const f = failures[gets++];
    if (f === 'reset') return req.socket.destroy();
    if (f) {
      res.writeHead(f.status, { 'content-type': 'application/xml' });
      return res.end(f.code ? `<?xml version="1.0"?><Error><Code>${f.code}</Code><Message>m</Message></Error>` : '');
    }
    if (v && !v.ok) {
      res.writeHead(403);
      return res.end();
    }
    res.end(body);
  });
  servers.push(s);
  return { url: s.url, log };
}

describe('S3 retries as the AWS SDK does them', () => {
  const KEYS = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake/secret+key', sessionToken: 'TOK' };
  const quick = (endpoint: string, extra: object = {}) => ({ s3: { endpoint, credentials: KEYS, retryUnitMs: 5, ...extra } });

  it('503 SlowDown twice, then the object: 3 GETs, each signed', async () => {
    const s3 = await flakyS3([{ status: 503, code: 'SlowDown' }, { status: 500 }]);
    expect((await fetchResource({ source: 's3://retry-b/k' }, quick(s3.url))).toString()).toBe('finally');
    expect(s3.log.map((l) => l.signed)).toEqual([true, true, true]);
  });

  it('gives up after 3 attempts, with the last S3 error', async () => {
    const s3 = await flakyS3([{ status: 503, code: 'SlowDown' }, { status: 502 }, { status: 503, code: 'SlowDown' }, { status: 200 }]);
    const err = (await fetchResource({ source: 's3://retry-b/k' }, quick(s3.url)).catch((e: unknown) => e)) as FetchError;
    expect(err).toBeInstanceOf(FetchError);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/HTTP 503 SlowDown/);
    expect(s3.log).toHaveLength(3);
  });

  it('retries transient codes on a 4xx (RequestTimeout, Throttling) and connection resets', async () => {
    const s3 = await flakyS3([{ status: 400, code: 'RequestTimeout' }, 'reset']);
    expect((await fetchResource({ source: 's3://retry-b/k' }, quick(s3.url))).toString()).toBe('finally');
    expect(s3.log).toHaveLength(3);
    const s3b = await flakyS3([{ status: 400, code: 'Throttling' }]);
    expect((await fetchResource({ source: 's3://retry-c/k' }, quick(s3b.url))).toString()).toBe('finally');
    expect(s3b.log).toHaveLength(2);
  });

  it('does not retry what the SDK does not: 403 AccessDenied, 501, 400 InvalidRequest', async () => {
    for (const f of [{ status: 403, code: 'AccessDenied' }, { status: 501 }, { status: 400, code: 'InvalidRequest' }]) {
      const s3 = await flakyS3([f]);
      const err = (await fetchResource({ source: 's3://retry-d/k' }, quick(s3.url)).catch((e: unknown) => e)) as FetchError;
      expect(err.status).toBe(f.status);
      expect(s3.log).toHaveLength(1);
    }
  });

  it('a configurable attempt count (maxAttempts 5: four failures then the object)', async () => {
    const s3 = await flakyS3([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
    expect((await fetchResource({ source: 's3://retry-e/k' }, quick(s3.url, { maxAttempts: 5 }))).toString()).toBe('finally');
    expect(s3.log).toHaveLength(5);
  });

  it('with the default backoff unit (1 s jitter): one failure, then the object', async () => {
    const s3 = await flakyS3([{ status: 503 }]);
    const got = await fetchResource({ source: 's3://retry-f/k' }, { s3: { endpoint: s3.url, credentials: KEYS } });
    expect(got.toString()).toBe('finally');
    expect(s3.log).toHaveLength(2);
  });

  it('httpTotal bounds the retries (Ignition bounds the SDK call with a context)', async () => {
    // The backoff is random [0, 2^n) units capped at the SDK's 20 s: a huge unit makes a retry
    // inside the 0.3 s bound practically impossible (with 60 s units it happened ~1 run in 300).
    const s3 = await flakyS3([{ status: 503 }, { status: 503 }, { status: 503 }]);
    const err = (await fetchResource({ source: 's3://retry-g/k' }, { httpTotal: 0.3, s3: { endpoint: s3.url, credentials: KEYS, retryUnitMs: 1e12 } }).catch((e: unknown) => e)) as FetchError;
    expect(err.timedOut).toBe(true);
    expect(err.message).toMatch(/httpTotal/);
    expect(s3.log).toHaveLength(1);
  });
});
