// Fetching a resource named by URL: data:, http(s):, tftp:, s3:, arn:, gs:, oem://.
// Verification and decompression happen while streaming. Each scheme lives in its own module and
// is imported lazily (eagerly bundled: no chunk files), so a boot whose config only holds data:
// URLs never loads node:http, node:tls or node:dgram.
//
// What callers can rely on:
//  - every failure is a FetchError (a KindlingError of kind "fetch") whose message names the URL
//    without secrets (no user:password, no signature/token query values, no data: URL bodies);
//    .notFound tells "the resource does not exist" apart, .status carries an HTTP status;
//  - openResource's stream ends cleanly only after everything arrived, decompressed and matched
//    the verification hash; otherwise it errors. Write to a temporary file and rename it only
//    after the stream ended: nothing half-written or unverified is ever presented as done;
//  - fetchResource returns the whole (decompressed, verified) contents or throws.
import { createHash } from 'node:crypto';
import { finished, Readable, PassThrough, type Transform } from 'node:stream';
import type { HttpHeader, Proxy, Resource } from '../config/types.js';
import { checkCompression, decompressBuffer, decompressStream, type Compression } from './decompress.js';
import { decodeDataUrl, DataUrlError } from './data.js';
import { describeCause, displayUrl, FetchError } from './errors.js';
import { hashMismatch, parseHash, verifyBuffer, VerifyStream, type ExpectedHash } from './verify.js';
import { schemeOf, SUPPORTED_SCHEMES } from './scheme.js';
import type { TftpOptions } from './tftp.js';
import type { S3Options } from './s3.js';
import type { GcsOptions } from './gs.js';
import type { HttpCallOptions, HttpCallResult } from './http.js';

export { FetchError, displayUrl } from './errors.js';
export type { TftpOptions } from './tftp.js';
export type { S3Options } from './s3.js';
export type { GcsOptions } from './gs.js';
export type { HttpCallOptions, HttpCallResult } from './http.js';
export type { AwsCredentials } from './sigv4.js';

export interface FetchOptions {
  /** Seconds, from ignition.timeouts. Defaults: headers 10, total 0 (none). */
  httpResponseHeaders?: number;
  httpTotal?: number;
  proxy?: Proxy;
  /** PEM bundles from security.tls.certificateAuthorities, already fetched. */
  caCertificates?: string[];
  /** Extra headers (the resource's own httpHeaders are applied after them and win). */
  headers?: HttpHeader[];
  /** Where oem:// URLs resolve (the mounted OEM partition). */
  oemRoot?: string;
  /** Abort everything (e.g. the fetch stage's -fetch-timeout). */
  signal?: AbortSignal;
  /**
   * The spec version in the Accept header. Ignition sends "application/vnd.coreos.ignition+json;
   * version=<newest>, *\/*;q=0.1" on EVERY HTTP fetch (contents too; the conformance fixture checks
   * it), so this only changes the version (default 3.6.0).
   */
  acceptConfigVersion?: string;
  /** HTTP retry backoff; default Ignition's 200 ms doubling to 5 s. Tests shorten it. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Give up after this many HTTP attempts. Default: no limit (Ignition retries until httpTotal
   *  or the signal ends the fetch). */
  maxAttempts?: number;
  /** TCP connect + TLS handshake timeout per HTTP attempt, ms (default 30 000). */
  connectTimeoutMs?: number;
  /** Overrides the User-Agent (default "Ignition/2.26.0 (Kindling <version>)"). */
  userAgent?: string;
  tftp?: TftpOptions;
  /** S3 credentials, region hint and endpoints (the aws provider sets instanceCredentials). */
  s3?: S3Options;
  /** GCS credentials mode and endpoints. */
  gcs?: GcsOptions;
  /** fetchResource refuses more than this many bytes (default 256 MiB); it buffers in memory. */
  maxBytes?: number;
}

// Kept in a module of their own so that deciding "local or network?" does not load this one.
export { needsNetwork, schemeOf, SUPPORTED_SCHEMES } from './scheme.js';

/** Opens the raw (still compressed) bytes of a URL. */
async function openRaw(resource: Resource, source: string, opts: FetchOptions): Promise<Readable> {
  const where = displayUrl(source);
  const scheme = schemeOf(source);
  switch (scheme) {
    case 'data':
      return Readable.from([decodeData(source, where)]);
    case 'http':
    case 'https': {
      const h = await import(/* webpackMode: "eager" */ './http.js');
      const o = await openHttp(resource, source, opts, where);
      const body = o.body instanceof h.RawResponse ? h.rawToReadable(o.body) : o.body;
      h.bindBodyToDeadline(body, o.deadline, where);
      body.once('close', () => o.deadline.dispose());
      return body;
    }
    case 'tftp': {
      const { openTftp } = await import(/* webpackMode: "eager" */ './tftp.js');
      return openTftp(source, opts.tftp, opts.signal);
    }
    case 's3':
    case 'arn': {
      const { openS3 } = await import(/* webpackMode: "eager" */ './s3.js');
      return openS3(source, resource.compression, opts, opts.s3);
    }
    case 'gs': {
      const { openGcs } = await import(/* webpackMode: "eager" */ './gs.js');
      return openGcs(source, opts, opts.gcs);
    }
    case 'oem': {
      const { openOem } = await import(/* webpackMode: "eager" */ './oem.js');
      return openOem(source, opts.oemRoot);
    }
    default:
      throw new FetchError(
        scheme === ''
          ? `${where}: not a URL (no scheme); supported schemes: ${SUPPORTED_SCHEMES.join(', ')}`
          : `${where}: unsupported source scheme "${scheme}"; supported schemes: ${SUPPORTED_SCHEMES.join(', ')}`,
      );
  }
}

/**
 * GETs an http(s) resource with Ignition's headers and retry loop; the status is checked (the body
 * of a refused response is drained). The caller binds the body to the deadline and disposes it.
 */
async function openHttp(resource: Resource, source: string, opts: FetchOptions, where: string) {
  const h = await import(/* webpackMode: "eager" */ './http.js');
  const { Deadline } = await import(/* webpackMode: "eager" */ './deadline.js');
  const deadline = new Deadline(opts.httpTotal, opts.signal);
  try {
    const headers = h.buildHeaders(opts, where, opts.headers, resource.httpHeaders);
    const r = await h.httpOpenAny({ url: source, headers }, opts, deadline);
    try {
      h.checkStatus(r.status, where);
    } catch (err) {
      r.body.resume();
      throw err;
    }
    return { body: r.body, deadline };
  } catch (err) {
    deadline.dispose();
    throw err;
  }
}

function decodeData(source: string, where: string): Buffer {
  try {
    // As written: Ignition's validation decodes the raw string, so "DATA:" fails there
    // ("missing data prefix", measured with Ignition 2.14) even though Go's fetch would accept it.
    return decodeDataUrl(source).data;
  } catch (err) {
    if (err instanceof DataUrlError) throw new FetchError(`${where}: invalid data URL: ${err.message}`);
    throw err;
  }
}

interface Prepared {
  source: string;
  where: string;
  compression: Compression;
  expected?: ExpectedHash;
}

function prepare(resource: Resource): Prepared | undefined {
  const source = resource.source;
  // Ignition: an empty source means empty contents, fetched from nowhere and not verified.
  if (source === undefined || source === '') return undefined;
  const where = displayUrl(source);
  const compression = checkCompression(resource.compression, where);
  const expected = resource.verification?.hash ? parseHash(resource.verification.hash, where) : undefined;
  return { source, where, compression, expected };
}

/**
 * Joins raw → gunzip → verify into one stream whose errors are FetchErrors naming the URL. A
 * consumer that stops early (destroys the result) tears the whole chain down, sockets included.
 */
function chain(raw: Readable, p: Prepared): Readable {
  const stages: Transform[] = [];
  const gunzip = decompressStream(p.compression);
  if (gunzip) stages.push(gunzip);
  if (p.expected) stages.push(new VerifyStream(p.expected, p.where));
  const out = new PassThrough();
  const all = [raw, ...stages];
  let failed = false;
  const onError = (e: Error) => {
    if (failed) return;
    failed = true;
    const err = e instanceof FetchError ? e : new FetchError(`${p.where}: ${describeCause(e)}`, { cause: e });
    for (const s of all) s.destroy();
    out.destroy(err);
  };
  for (const s of all) s.on('error', onError);
  let cur: Readable = raw;
  for (const t of stages) cur = cur.pipe(t);
  cur.pipe(out);
  out.once('close', () => {
    if (!out.readableEnded) for (const s of all) s.destroy();
  });
  return out;
}

/**
 * Fetch a whole resource into memory (configs, CA bundles, key files: small things), decompressed
 * and verified against resource.verification.hash (the hash of the decompressed contents).
 */
export async function fetchResource(resource: Resource, opts: FetchOptions = {}): Promise<Buffer> {
  const p = prepare(resource);
  if (!p) return Buffer.alloc(0);
  if (schemeOf(p.source) === 'data') {
    // In memory already: no streams needed.
    const buf = decompressBuffer(decodeData(p.source, p.where), p.compression, p.where);
    verifyBuffer(buf, p.expected, p.where);
    return buf;
  }
  const s = chain(await openRaw(resource, p.source, opts), p);
  const max = opts.maxBytes ?? 256 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    s.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) s.destroy(new FetchError(`${p.where}: larger than ${max} bytes, too large to fetch into memory`));
      else chunks.push(c);
    });
    s.once('end', () => resolve(Buffer.concat(chunks, n)));
    s.once('error', reject);
  });
}

/**
 * Streams a resource's (decompressed) contents into `sink`, chunk by chunk as they arrive, hashing
 * them on the way; resolves only after the whole resource arrived and its hash matched, rejects
 * (FetchError naming the URL, or whatever the sink threw) otherwise. This is openResource without
 * the stream plumbing (a verifying Transform, a PassThrough and an async iterator per chunk): the
 * files stage writes 200 MiB of remote contents through it with one event per socket read. The
 * sink owns each chunk it is given, unless `how.borrowed` says it takes borrowed views: plain-http
 * bodies (the raw client, http1.ts) then arrive as views of the shared socket read buffer, marked
 * by the sink's second argument (true), and valid only until the sink returns (copy to keep).
 * When the sink returns a promise, reading pauses until that settles (backpressure); a rejection
 * ends the fetch. A sink writing to a temporary file must rename it only after the promise resolved.
 */
export async function streamResource(
  resource: Resource,
  opts: FetchOptions,
  sink: (chunk: Buffer, borrowed?: boolean) => void | Promise<void>,
  how: { borrowed?: boolean } = {},
): Promise<void> {
  const p = prepare(resource);
  if (!p) return;
  const scheme = schemeOf(p.source);
  if (scheme === 'data') {
    // In memory already: decoded, decompressed and verified before the sink sees a byte.
    const buf = decompressBuffer(decodeData(p.source, p.where), p.compression, p.where);
    verifyBuffer(buf, p.expected, p.where);
    if (buf.length) sink(buf);
    return;
  }
  if ((scheme === 'http' || scheme === 'https') && p.compression === '') {
    const h = await import(/* webpackMode: "eager" */ './http.js');
    const o = await openHttp(resource, p.source, opts, p.where);
    if (o.body instanceof h.RawResponse) {
      // The raw client: each socket read is hashed and handed to the sink straight from the shared
      // read buffer (copied first unless the sink takes borrowed views).
      try {
        await pipeRaw(h, o.body, o.deadline, p, sink, how.borrowed === true);
      } finally {
        o.deadline.dispose();
      }
      return;
    }
    h.bindBodyToDeadline(o.body, o.deadline, p.where);
    o.body.once('close', () => o.deadline.dispose());
    return pump(o.body, undefined, p, sink);
  }
  const raw = await openRaw(resource, p.source, opts);
  return pump(raw, decompressStream(p.compression), p, sink);
}

// hash-worker.ts, once a body could use it (loaded lazily: most boots never need it).
let hashWorkerModule: typeof import('./hash-worker.js') | undefined;

/**
 * Terminates the hash worker thread if one was started (the files stage calls this when it ends,
 * successful or not); a later large body starts a new one.
 */
export async function stopHashWorker(): Promise<void> {
  await hashWorkerModule?.stopHashWorker();
}

async function pipeRaw(
  h: typeof import('./http.js'),
  res: import('./http.js').RawResponse,
  deadline: import('./deadline.js').Deadline,
  p: Prepared,
  sink: (chunk: Buffer, borrowed?: boolean) => void | Promise<void>,
  borrowed: boolean,
): Promise<void> {
  // A large body with a sha256/sha512 hash is hashed on the second core (hash-worker.ts): each
  // read is copied once into the worker's ring while this thread writes it; the digest is awaited
  // below, before the caller renames anything.
  const size = Number(res.headers['content-length'] ?? 0);
  if (p.expected && size > 0) hashWorkerModule ??= await import(/* webpackMode: "eager" */ './hash-worker.js');
  const hw = p.expected && size > 0 ? hashWorkerModule!.hashWorkerFor(p.expected.algorithm, size) : undefined;
  const hash = p.expected && !hw ? createHash(p.expected.algorithm) : undefined;
  // What the sink threw or rejected with is passed on as it is (a full disk is not a fetch error).
  let sinkError: { e: unknown } | undefined;
  try {
    await h.pipeRawBody(res, deadline, p.where, (view) => {
      if (hw) hw.worker.update(hw.id, view);
      else hash?.update(view);
      let r;
      try {
        r = borrowed ? sink(view, true) : sink(Buffer.from(view));
      } catch (e) {
        sinkError = { e };
        throw e;
      }
      if (r) return r.catch((e: unknown) => Promise.reject((sinkError = { e }).e));
    });
  } catch (err) {
    hw?.worker.drop(hw.id);
    if (sinkError && err === sinkError.e) throw err;
    throw err instanceof FetchError ? err : new FetchError(`${p.where}: ${describeCause(err)}`, { cause: err });
  }
  if (!p.expected) return;
  let got: string;
  try {
    got = hw ? await hw.worker.digest(hw.id) : hash!.digest('hex');
  } catch (err) {
    throw new FetchError(`${p.where}: ${describeCause(err)}`, { cause: err });
  }
  if (got !== p.expected.hex) throw hashMismatch(p.where, p.expected, got);
}

/** streamResource over a Readable (node:http's body, tftp, s3, gs, oem), optionally gunzipped. */
async function pump(raw: Readable, gunzip: Transform | undefined, p: Prepared, sink: (chunk: Buffer) => void | Promise<void>): Promise<void> {
  const src: Readable = gunzip ?? raw;
  const expected = p.expected;
  const hash = expected ? createHash(expected.algorithm) : undefined;
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const fail = (e: unknown) => {
      if (done) return;
      done = true;
      raw.destroy();
      gunzip?.destroy();
      reject(e instanceof FetchError ? e : new FetchError(`${p.where}: ${describeCause(e)}`, { cause: e }));
    };
    if (gunzip) {
      raw.on('error', fail);
      raw.pipe(gunzip);
    }
    // The sink's own error (a full disk) is not a fetch error: passed on as it is.
    const sinkFailed = (err: unknown) => {
      if (done) return;
      done = true;
      raw.destroy();
      gunzip?.destroy();
      reject(err);
    };
    src.on('data', (chunk: Buffer) => {
      if (done) return;
      hash?.update(chunk);
      let r;
      try {
        r = sink(chunk);
      } catch (err) {
        return sinkFailed(err);
      }
      if (r) {
        src.pause();
        r.then(() => {
          if (!done) src.resume();
        }, sinkFailed);
      }
    });
    // finished() tells a clean end from a premature close (a connection cut mid-body).
    finished(src, (err) => {
      if (err) return fail(err);
      if (done) return;
      if (hash) {
        const got = hash.digest('hex');
        if (got !== expected!.hex) return fail(hashMismatch(p.where, expected!, got));
      }
      done = true;
      resolve();
    });
  });
}

/**
 * Open a resource as a stream (file contents: possibly large), decompressed on the fly; the
 * stream errors (KindlingError kind "fetch") at its end when the verification hash does not match,
 * so a caller writing to a temporary file must only rename it after the stream ended cleanly.
 */
export async function openResource(resource: Resource, opts: FetchOptions = {}): Promise<Readable> {
  const p = prepare(resource);
  if (!p) return Readable.from([]);
  return chain(await openRaw(resource, p.source, opts), p);
}

// ---------------------------------------------------------------------------------------------
// Helpers for providers (metadata services). Lazy wrappers, so importing this module stays cheap.

/**
 * One HTTP exchange with Ignition's headers and retry loop (5xx and connection errors retried with
 * backoff; add retryCodes for others), body in memory. Options: method ('PUT' for the IMDSv2
 * token), headers, body, maxAttempts, notFoundAsNull (404 → null), okStatuses, plus every transport
 * option of FetchOptions (timeouts, proxy, CAs, signal, backoff). Other statuses throw FetchError
 * with .status. Example:
 *   const r = await httpRequest(`${base}/latest/user-data`, { headers: { 'X-aws-ec2-metadata-token': t }, notFoundAsNull: true });
 *   if (r === null) { no user data } else { r.body: Buffer }
 */
export async function httpRequest(url: string, o: HttpCallOptions & { notFoundAsNull: true }): Promise<HttpCallResult | null>;
export async function httpRequest(url: string, o?: HttpCallOptions): Promise<HttpCallResult>;
export async function httpRequest(url: string, o: HttpCallOptions = {}): Promise<HttpCallResult | null> {
  const { httpCall } = await import(/* webpackMode: "eager" */ './http.js');
  return httpCall(url, o);
}

/** httpRequest with method GET. */
export async function httpGet(url: string, o: HttpCallOptions & { notFoundAsNull: true }): Promise<HttpCallResult | null>;
export async function httpGet(url: string, o?: HttpCallOptions): Promise<HttpCallResult>;
export async function httpGet(url: string, o: HttpCallOptions = {}): Promise<HttpCallResult | null> {
  const { httpCall } = await import(/* webpackMode: "eager" */ './http.js');
  return httpCall(url, { ...o, method: 'GET' });
}

/** Validates and splits a PEM CA bundle (throws FetchError like Ignition's ErrPEMDecodeFailed). */
export async function parseCaBundle(pem: string, where?: string): Promise<string[]> {
  const { parseCaBundle: parse } = await import(/* webpackMode: "eager" */ './http.js');
  return parse(pem, where);
}
