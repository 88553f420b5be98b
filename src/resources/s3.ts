// s3://bucket/key[?versionId=v] and arn:aws:s3:::bucket/key, arn:<partition>:s3:<region>:<account>:
// accesspoint/<name>/object/<key> — Ignition's fetchFromS3 with the AWS SDK replaced by SigV4:
//  - compression is refused for S3 (ErrCompressionUnsupported), as in Ignition;
//  - credentials: Ignition uses the instance role only on AWS (the aws provider sets them up);
//    elsewhere it fetches anonymously. So: explicit credentials, else the IMDS role when
//    s3.instanceCredentials is set, else anonymous; a failure to get the role falls back to
//    anonymous, as Ignition's "EC2 IMDS role" fallback does;
//  - region: an access point ARN carries it; otherwise an unsigned HEAD on the bucket in the hint
//    region (the ARN partition's default, else s3.regionHint, else the instance's region from
//    IMDS when instance credentials are on, else us-east-1) answers with x-amz-bucket-region;
//  - the object is fetched from the dual-stack endpoint of that region.
// s3.endpoint (tests, S3-compatible stores) replaces AWS's hosts with path-style URLs on that base.
//
// Retries are the AWS SDK's (Ignition hands S3 to aws-sdk-go-v2's standard retryer, not to its own
// endless HTTP loop): at most 3 attempts per request, after a failure to connect, a timeout, HTTP
// 500/502/503/504 or an S3 error code the SDK calls transient or throttling (SlowDown,
// RequestTimeout, ...), waiting a random [0, 2^attempt) s in between ("full jitter", capped at
// 20 s). The whole fetch is bounded by timeouts.httpTotal, as Ignition bounds it with a context.
import type { Readable } from 'node:stream';
import { Deadline, sleep } from './deadline.js';
import { describeCause, displayUrl, FetchError } from './errors.js';
import { bindBodyToDeadline, buildHeaders, httpOpen, readAll, type HttpOpened, type HttpRequest, type HttpTransportOptions } from './http.js';
import { DEFAULT_IMDS_BASE, imdsCredentials, imdsRegion, imdsSession, type ImdsSession } from './imds.js';
import { awsEncode, signRequest, type AwsCredentials } from './sigv4.js';
import { getLogger } from '../log/logger.js';

export interface S3Options {
  /** Sign with the instance role from IMDS (the aws provider turns this on). */
  instanceCredentials?: boolean;
  /** Explicit credentials (win over the instance role). */
  credentials?: AwsCredentials;
  /** IMDS base URL (default http://169.254.169.254). */
  imdsBase?: string;
  /** Region to ask for the bucket's region (Ignition's S3RegionHint). */
  regionHint?: string;
  /** Base URL replacing AWS's endpoints; requests become path-style: <endpoint>/<bucket>/<key>. */
  endpoint?: string;
  /** Attempts per request (default 3, the SDK's standard retryer). */
  maxAttempts?: number;
  /** Unit of the jittered backoff (default 1000 ms: a retry waits random [0, 2^attempt) × this). */
  retryUnitMs?: number;
}

// aws-sdk-go-v2's retry.DefaultRetryableHTTPStatusCodes, DefaultRetryableErrorCodes and
// DefaultThrottleErrorCodes.
const RETRY_STATUSES = new Set([500, 502, 503, 504]);
const RETRY_CODES = new Set([
  'RequestTimeout', 'RequestTimeoutException',
  'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottledException', 'TooManyRequestsException',
  'ProvisionedThroughputExceededException', 'TransactionInProgressException', 'RequestLimitExceeded',
  'BandwidthLimitExceeded', 'LimitExceededException', 'RequestThrottled', 'SlowDown', 'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const SDK_MAX_ATTEMPTS = 3;
const SDK_MAX_BACKOFF_MS = 20_000;

const PARTITION_HINTS: Record<string, string> = { aws: 'us-east-1', 'aws-cn': 'cn-north-1', 'aws-us-gov': 'us-gov-west-1' };

export interface S3Target {
  bucket: string; // a bucket name, or for access points the host label "<name>-<account>"
  key: string;
  region?: string;
  regionHint?: string;
  accessPoint: boolean;
  versionId?: string;
}

export function parseS3Url(source: string): S3Target {
  const where = displayUrl(source);
  if (source.startsWith('s3:')) {
    let u: URL;
    try {
      u = new URL(source);
    } catch {
      throw new FetchError(`${where}: not a valid s3 URL`);
    }
    const bucket = u.hostname;
    const key = decodeURIComponent(u.pathname).replace(/^\/+/, '');
    if (!bucket) throw new FetchError(`${where}: the s3 URL names no bucket`);
    return { bucket, key, accessPoint: false, versionId: u.searchParams.get('versionId') ?? undefined };
  }
  // arn:partition:service:region:account:resource
  let arn = source;
  let versionId: string | undefined;
  const q = arn.indexOf('?');
  if (q !== -1) {
    versionId = new URLSearchParams(arn.slice(q + 1)).get('versionId') ?? undefined;
    arn = arn.slice(0, q);
  }
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || parts[2] !== 's3') throw new FetchError(`${where}: not a valid S3 ARN`);
  const [, partition, , region, account] = parts as [string, string, string, string, string];
  const resource = parts.slice(5).join(':');
  const regionHint = PARTITION_HINTS[partition];
  const slash = arn.split('/');
  if (resource.startsWith('accesspoint/')) {
    if (slash.length < 4 || slash[2] !== 'object' || !region || !account) throw new FetchError(`${where}: not a valid S3 access point object ARN`);
    return { bucket: `${slash[1]}-${account}`, key: slash.slice(3).join('/'), region, regionHint, accessPoint: true, versionId };
  }
  if (slash.length < 2) throw new FetchError(`${where}: the S3 ARN names no object`);
  const bucket = slash[0]!.split(':').pop()!;
  return { bucket, key: slash.slice(1).join('/'), regionHint, accessPoint: false, versionId };
}

function domainFor(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

function virtualHostable(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket) && !/^\d+\.\d+\.\d+\.\d+$/.test(bucket);
}

function encodeKey(key: string): string {
  return awsEncode(key, true);
}

export function objectUrl(t: S3Target, region: string, endpoint?: string): string {
  const key = encodeKey(t.key);
  const q = t.versionId ? `?versionId=${awsEncode(t.versionId)}` : '';
  if (endpoint) return `${endpoint.replace(/\/+$/, '')}/${t.bucket}/${key}${q}`;
  const d = domainFor(region);
  if (t.accessPoint) return `https://${t.bucket}.s3-accesspoint.dualstack.${region}.${d}/${key}${q}`;
  if (virtualHostable(t.bucket)) return `https://${t.bucket}.s3.dualstack.${region}.${d}/${key}${q}`;
  return `https://s3.dualstack.${region}.${d}/${t.bucket}/${key}${q}`;
}

export function bucketUrl(bucket: string, region: string, endpoint?: string): string {
  if (endpoint) return `${endpoint.replace(/\/+$/, '')}/${bucket}`;
  const d = domainFor(region);
  return virtualHostable(bucket) ? `https://${bucket}.s3.${region}.${d}/` : `https://s3.${region}.${d}/${bucket}`;
}

async function s3Error(body: NodeJS.ReadableStream & { destroy(e?: Error): void }, where: string): Promise<{ code: string; text: string }> {
  try {
    const xml = (await readAll(body, 64 * 1024, where)).toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? '';
    const msg = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1];
    return { code, text: code ? `${code}${msg ? `: ${msg}` : ''}` : '' };
  } catch {
    return { code: '', text: '' };
  }
}

interface S3Reply extends HttpOpened {
  /** For an unsuccessful GET: "Code: Message" from the XML error body (which has been read). */
  error?: string;
}

/** One S3 API call with the SDK's retry rules. A 2xx GET comes back with its body unread. */
async function s3Send(makeReq: () => HttpRequest, transport: HttpTransportOptions, s3: S3Options, deadline: Deadline, where: string): Promise<S3Reply> {
  const max = s3.maxAttempts ?? SDK_MAX_ATTEMPTS;
  const unit = s3.retryUnitMs ?? 1000;
  const log = getLogger();
  for (let attempt = 1; ; attempt++) {
    let why: string;
    const req = makeReq(); // signed afresh for every attempt, as the SDK does
    try {
      const r = await httpOpen({ ...req, returnAll: true }, { ...transport, maxAttempts: 1 }, deadline);
      if (r.status >= 200 && r.status < 300) return r;
      let error: { code: string; text: string } = { code: '', text: '' };
      if (req.method === 'HEAD') r.body.resume();
      else error = await s3Error(r.body, where);
      if (!(RETRY_STATUSES.has(r.status) || RETRY_CODES.has(error.code)) || attempt >= max) return { ...r, error: error.text };
      why = `HTTP ${r.status}${error.text ? ` ${error.text}` : ''}`;
    } catch (err) {
      // The deadline (httpTotal, -fetch-timeout) ends everything; a transport failure is retried.
      if (!(err instanceof FetchError) || err.timedOut || deadline.signal.aborted) throw err;
      if (attempt >= max) throw new FetchError(`${where}: failed ${attempt} times (the AWS SDK's retry limit, as in Ignition); last: ${err.message}`, { cause: err });
      why = err.message;
    }
    const delay = Math.min(Math.random() * 2 ** attempt * unit, SDK_MAX_BACKOFF_MS);
    log.info(`S3 ${req.method ?? 'GET'} ${where}: ${why}; retrying in ${Math.round(delay)} ms (attempt ${attempt + 1} of ${max})`);
    try {
      await sleep(delay, deadline.signal);
    } catch {
      throw new FetchError(`${where}: ${deadline.reason ?? 'aborted'} after ${attempt} attempt${attempt === 1 ? '' : 's'}; last error: ${why}`, { timedOut: true });
    }
  }
}

// A boot fetching many objects asks IMDS and the bucket's region once: role credentials are
// reused until five minutes before they expire, bucket regions for the life of the process.
const credsCache = new Map<string, AwsCredentials>();
const regionCache = new Map<string, string>();

export async function openS3(source: string, compression: string | undefined, transport: HttpTransportOptions, s3: S3Options = {}): Promise<Readable> {
  const where = displayUrl(source);
  if (compression) throw new FetchError(`${where}: compression is not supported with that scheme (s3)`);
  const t = parseS3Url(source);
  const log = getLogger();
  const deadline = new Deadline(transport.httpTotal, transport.signal);
  let handedOver = false;
  try {
    let imds: ImdsSession | undefined;
    let creds = s3.credentials;
    const imdsBase = s3.imdsBase ?? DEFAULT_IMDS_BASE;
    if (!creds && s3.instanceCredentials) {
      try {
        const cached = credsCache.get(imdsBase);
        if (cached?.expiration && cached.expiration.getTime() - Date.now() > 5 * 60_000) creds = cached;
        else {
          imds = await imdsSession(imdsBase, deadline.signal);
          creds = await imdsCredentials(imds);
          if (creds) credsCache.set(imdsBase, creds);
          else log.info('S3: the instance has no IAM role; fetching anonymously');
        }
      } catch (err) {
        // Ignition: "EC2 IMDS role" errors fall back to anonymous credentials.
        log.info(`S3: could not get the instance role credentials (${describeCause(err)}); fetching anonymously`);
        creds = undefined;
      }
    }
    const regionKey = `${s3.endpoint ?? ''}|${t.bucket}`;
    let region = t.region ?? regionCache.get(regionKey);
    if (!region) {
      let hint = t.regionHint ?? s3.regionHint;
      if (!hint && s3.instanceCredentials) {
        imds ??= await imdsSession(imdsBase, deadline.signal).catch(() => undefined);
        if (imds) hint = await imdsRegion(imds).catch(() => undefined);
        // Ignition's aws provider: "failed to determine EC2 region, falling back to default us-east-1".
        if (!hint) log.warn('S3: failed to determine the EC2 region, falling back to default us-east-1');
      }
      hint ??= 'us-east-1';
      const head = await s3Send(
        () => ({ url: bucketUrl(t.bucket, hint, s3.endpoint), method: 'HEAD', headers: buildHeaders(transport, where), noRedirects: true }),
        transport,
        s3,
        deadline,
        where,
      );
      const found = head.headers['x-amz-bucket-region'];
      region = Array.isArray(found) ? found[0] : found;
      if (!region) {
        if (head.status === 404) throw new FetchError(`${where}: could not find bucket "${t.bucket}"`, { status: 404, notFound: true });
        throw new FetchError(`${where}: couldn't determine the region for bucket "${t.bucket}" (HTTP ${head.status})`, { status: head.status });
      }
      regionCache.set(regionKey, region);
    }
    const url = objectUrl(t, region, s3.endpoint);
    const attempt = async (c: AwsCredentials | undefined) =>
      s3Send(
        () => {
          const base = buildHeaders(transport, where);
          const headers = c
            ? { ...base, ...signRequest({ method: 'GET', url: new URL(url), region: region!, service: 's3', credentials: c }).headers }
            : base;
          return { url, method: 'GET', headers };
        },
        transport,
        s3,
        deadline,
        where,
      );
    const r = await attempt(creds);
    if (r.status !== 200) {
      const code = r.error ?? '';
      if (r.status === 404) throw new FetchError(`${where}: object "${t.key}" not found in bucket "${t.bucket}"${code ? ` (${code})` : ''}`, { status: 404, notFound: true });
      throw new FetchError(`${where}: error fetching object "${t.key}" from bucket "${t.bucket}": HTTP ${r.status}${code ? ` ${code}` : ''}`, { status: r.status });
    }
    bindBodyToDeadline(r.body, deadline, where);
    r.body.once('close', () => deadline.dispose());
    handedOver = true;
    return r.body;
  } finally {
    if (!handedOver) deadline.dispose();
  }
}
