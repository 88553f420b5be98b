// gs://bucket/object — Ignition's fetchFromGCS without the Google client library:
//  - credentials: on GCE with a service account (the metadata server answers for its scopes), a
//    read-only storage token from the metadata server; otherwise anonymous, as Ignition falls back;
//  - the object comes from the storage download endpoint, <storage>/<bucket>/<object>;
//  - the whole fetch has 50 s, Ignition's fixed GCS timeout (the caller's signal still applies).
// Both base URLs are injectable (tests, or GCE_METADATA_HOST as the Google libraries honour it).
import type { Readable } from 'node:stream';
import { Deadline } from './deadline.js';
import { describeCause, displayUrl, FetchError } from './errors.js';
import { bindBodyToDeadline, buildHeaders, httpCall, httpOpen, readAll, type HttpTransportOptions } from './http.js';
import { getLogger } from '../log/logger.js';

export interface GcsOptions {
  /** "auto" (default): use the metadata server when it answers; "metadata": require it; "anonymous". */
  credentials?: 'auto' | 'metadata' | 'anonymous';
  /** Default http://169.254.169.254, or http://$GCE_METADATA_HOST when that is set. */
  metadataBase?: string;
  /** Default https://storage.googleapis.com */
  storageBase?: string;
  /** Default 50 (Ignition's). */
  timeoutSeconds?: number;
}

const READ_ONLY_SCOPE = 'https://www.googleapis.com/auth/devstorage.read_only';

let cachedToken: { base: string; token: string; expires: number } | undefined;

export async function gceToken(base: string, signal: AbortSignal): Promise<string> {
  if (cachedToken && cachedToken.base === base && cachedToken.expires > Date.now() + 60_000) return cachedToken.token;
  const call = { headers: { 'Metadata-Flavor': 'Google' }, maxAttempts: 2, httpResponseHeaders: 2, connectTimeoutMs: 2000, backoff: { initialMs: 100 }, signal };
  // Ignition first checks the VM has a service account at all (its scopes). One attempt only: off
  // GCE this is the probe that fails, and it should cost at most the 2 s connect timeout.
  await httpCall(`${base}/computeMetadata/v1/instance/service-accounts/default/scopes`, { ...call, maxAttempts: 1 });
  const r = await httpCall(`${base}/computeMetadata/v1/instance/service-accounts/default/token?scopes=${encodeURIComponent(READ_ONLY_SCOPE)}`, call);
  let j: { access_token?: string; expires_in?: number };
  try {
    j = JSON.parse(r.body.toString('utf8')) as typeof j;
  } catch {
    throw new FetchError('GCE metadata server: the token answer is not JSON');
  }
  if (!j.access_token) throw new FetchError('GCE metadata server: no access_token in its answer');
  cachedToken = { base, token: j.access_token, expires: Date.now() + (j.expires_in ?? 300) * 1000 };
  return j.access_token;
}

/** Test hook: forget the cached token. */
export function resetGcsTokenCache(): void {
  cachedToken = undefined;
}

export async function openGcs(source: string, transport: HttpTransportOptions, gcs: GcsOptions = {}): Promise<Readable> {
  const where = displayUrl(source);
  const u = new URL(source);
  const bucket = u.hostname;
  const object = decodeURIComponent(u.pathname).replace(/^\/+/, '');
  if (!bucket || !object) throw new FetchError(`${where}: a gs URL needs a bucket and an object`);
  const deadline = new Deadline(gcs.timeoutSeconds ?? 50, transport.signal);
  const log = getLogger();
  let handedOver = false;
  try {
    const mode = gcs.credentials ?? 'auto';
    const metaBase = gcs.metadataBase ?? (process.env.GCE_METADATA_HOST ? `http://${process.env.GCE_METADATA_HOST}` : 'http://169.254.169.254');
    let token: string | undefined;
    if (mode !== 'anonymous') {
      try {
        token = await gceToken(metaBase, deadline.signal);
      } catch (err) {
        if (mode === 'metadata') throw new FetchError(`${where}: no GCS token from the metadata server: ${describeCause(err)}`, { cause: err });
        log.debug(`falling back to unauthenticated GCS access: ${describeCause(err)}`);
      }
    }
    const storage = (gcs.storageBase ?? 'https://storage.googleapis.com').replace(/\/+$/, '');
    const url = `${storage}/${encodeURIComponent(bucket)}/${object.split('/').map(encodeURIComponent).join('/')}`;
    const headers = buildHeaders(transport, where, token ? { Authorization: `Bearer ${token}` } : undefined);
    const r = await httpOpen({ url, headers }, { ...transport, maxAttempts: transport.maxAttempts ?? 3 }, deadline);
    if (r.status !== 200) {
      const detail = (await readAll(r.body, 16 * 1024, where).catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 200).trim();
      const why = `error while reading content from (${where}): HTTP ${r.status}${detail ? ` ${detail.replace(/\s+/g, ' ')}` : ''}`;
      throw new FetchError(why, { status: r.status, notFound: r.status === 404 });
    }
    bindBodyToDeadline(r.body, deadline, where);
    r.body.once('close', () => deadline.dispose());
    handedOver = true;
    return r.body;
  } finally {
    if (!handedOver) deadline.dispose();
  }
}
