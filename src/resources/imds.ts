// The EC2 instance metadata service, for S3 credentials and the region hint: IMDSv2 (a session
// token from PUT /latest/api/token) and, when the token call is refused the way an IMDSv1-only
// service refuses it (403/404/405), IMDSv1 without the token, as the AWS SDK does.
import { FetchError } from './errors.js';
import { httpCall, type HttpCallOptions } from './http.js';
import type { AwsCredentials } from './sigv4.js';

export const DEFAULT_IMDS_BASE = 'http://169.254.169.254';

export interface ImdsSession {
  base: string;
  token?: string;
  call: HttpCallOptions;
}

export async function imdsSession(base: string, signal: AbortSignal | undefined, call: HttpCallOptions = {}): Promise<ImdsSession> {
  const o: HttpCallOptions = { maxAttempts: 3, httpResponseHeaders: 2, connectTimeoutMs: 2000, backoff: { initialMs: 100 }, signal, ...call };
  try {
    const r = await httpCall(`${base}/latest/api/token`, { ...o, method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' } });
    return { base, token: r.body.toString('utf8').trim(), call: o };
  } catch (err) {
    if (err instanceof FetchError && (err.status === 403 || err.status === 404 || err.status === 405)) return { base, call: o };
    throw err;
  }
}

async function imdsGet(s: ImdsSession, path: string): Promise<string | null> {
  const r = await httpCall(`${s.base}${path}`, {
    ...s.call,
    headers: s.token ? { 'X-aws-ec2-metadata-token': s.token } : undefined,
    notFoundAsNull: true,
  });
  return r ? r.body.toString('utf8') : null;
}

/** The instance role's credentials, or undefined when the instance has no role. */
export async function imdsCredentials(s: ImdsSession): Promise<AwsCredentials | undefined> {
  const roles = await imdsGet(s, '/latest/meta-data/iam/security-credentials/');
  const role = roles?.split('\n')[0]?.trim();
  if (!role) return undefined;
  const text = await imdsGet(s, `/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`);
  if (!text) return undefined;
  let j: { Code?: string; AccessKeyId?: string; SecretAccessKey?: string; Token?: string; Expiration?: string };
  try {
    j = JSON.parse(text) as typeof j;
  } catch {
    throw new FetchError(`EC2 IMDS role ${role}: credentials are not JSON`);
  }
  if ((j.Code && j.Code !== 'Success') || !j.AccessKeyId || !j.SecretAccessKey) {
    throw new FetchError(`EC2 IMDS role ${role}: no usable credentials (${j.Code ?? 'missing keys'})`);
  }
  const exp = j.Expiration ? new Date(j.Expiration) : undefined;
  return { accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey, sessionToken: j.Token, expiration: exp && !isNaN(exp.getTime()) ? exp : undefined };
}

export async function imdsRegion(s: ImdsSession): Promise<string | undefined> {
  const r = await imdsGet(s, '/latest/meta-data/placement/region');
  return r?.trim() || undefined;
}
