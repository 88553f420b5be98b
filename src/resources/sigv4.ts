// AWS Signature Version 4 for one request (what the AWS SDK does under Ignition's S3 fetches).
// Written from the published algorithm; test/resources/sigv4.test.ts checks it against AWS's own
// examples. S3 specifics: the path is not normalised and is encoded once (not twice), and the
// payload hash travels in x-amz-content-sha256.
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials stop working (IMDS role credentials). */
  expiration?: Date;
}

export interface SignInput {
  method: string;
  url: URL;
  /** Headers to sign besides host/x-amz-*; names any case. */
  headers?: Record<string, string>;
  region: string;
  service: string;
  credentials: AwsCredentials;
  /** Defaults to now. */
  date?: Date;
  /** Hex sha256 of the body, or "UNSIGNED-PAYLOAD". Default: hash of the empty body. */
  payloadHash?: string;
  /** S3 skips URI normalisation and double encoding (default true for service "s3"). */
  s3Paths?: boolean;
  /** Add x-amz-content-sha256 (S3 wants it; default true for "s3"). */
  contentSha256Header?: boolean;
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else %XX. */
export function awsEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function sha256hex(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex');
}

function hmac(key: Buffer | string, s: string): Buffer {
  return createHmac('sha256', key).update(s, 'utf8').digest();
}

function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function normalisePath(p: string): string {
  // Generic services: remove "." and ".." segments and duplicate slashes.
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const joined = '/' + out.join('/');
  return p.endsWith('/') && joined !== '/' ? joined + '/' : joined;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface Signed {
  /** Every header to send (host excluded: the HTTP client sets it from the URL). */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

export function signRequest(input: SignInput): Signed {
  const s3 = input.s3Paths ?? input.service === 's3';
  const date = input.date ?? new Date();
  const stamp = amzDate(date);
  const day = stamp.slice(0, 8);
  const payloadHash = input.payloadHash ?? EMPTY_SHA256;
  const extra: Record<string, string> = { 'x-amz-date': stamp };
  if (input.contentSha256Header ?? s3) extra['x-amz-content-sha256'] = payloadHash;
  if (input.credentials.sessionToken) extra['x-amz-security-token'] = input.credentials.sessionToken;

  const all = new Map<string, string>();
  all.set('host', input.url.host);
  for (const [k, v] of Object.entries({ ...(input.headers ?? {}), ...extra })) {
    all.set(k.toLowerCase(), v.trim().replace(/\s+/g, ' '));
  }
  const names = [...all.keys()].sort();
  const canonicalHeaders = names.map((n) => `${n}:${all.get(n)}\n`).join('');
  const signedHeaders = names.join(';');

  // The URL's pathname is already percent-encoded by WHATWG URL; decode each segment and encode it
  // the AWS way, so that e.g. "a b" and "a%20b" sign the same.
  const rawPath = s3 ? input.url.pathname : normalisePath(input.url.pathname);
  const segEncode = (seg: string) => awsEncode(decodeSafe(seg));
  let canonicalPath = rawPath
    .split('/')
    .map((seg) => (s3 ? segEncode(seg) : awsEncode(segEncode(seg))))
    .join('/');
  if (!canonicalPath.startsWith('/')) canonicalPath = '/' + canonicalPath;

  const query = input.url.search
    .slice(1)
    .split('&')
    .filter((kv) => kv !== '')
    .map((kv) => {
      const eq = kv.indexOf('=');
      const k = eq === -1 ? kv : kv.slice(0, eq);
      const v = eq === -1 ? '' : kv.slice(eq + 1);
      return [awsEncode(decodeSafe(k.replace(/\+/g, ' '))), awsEncode(decodeSafe(v.replace(/\+/g, ' ')))] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');

  const canonicalRequest = [input.method.toUpperCase(), canonicalPath, query, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256hex(canonicalRequest)].join('\n');
  const kDate = hmac('AWS4' + input.credentials.secretAccessKey, day);
  const kRegion = hmac(kDate, input.region);
  const kService = hmac(kRegion, input.service);
  const kSigning = hmac(kService, 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
  const headers: Record<string, string> = { ...(input.headers ?? {}), ...extra };
  headers['authorization'] = `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers, canonicalRequest, stringToSign, signature };
}
