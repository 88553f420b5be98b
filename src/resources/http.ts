// HTTP(S) the way Ignition fetches (internal/resource/http.go, url.go), on Node's own http/https
// modules rather than undici: measured here, node:http loads in ~4 ms and its first request takes
// ~10 ms at 45 MB RSS, where undici costs ~100 ms to import plus its WebAssembly parser and ~98 MB
// RSS (bench/resources.mjs prints both). For a first-boot tool that fetches a handful of small
// things, the built-in client wins; it also parses with the C llhttp, so no --liftoff-only games.
//
// Semantics copied from Ignition:
//  - headers: User-Agent "Ignition/<version>", Accept "application/vnd.coreos.ignition+json;
//    version=<newest spec>, */*;q=0.1" and Accept-Encoding "identity" on every request (configs and
//    contents alike: the fixture's /contents_headers requires the config Accept), then the caller's
//    headers, then the resource's httpHeaders, each replacing same-named earlier ones;
//  - redirects (301/302/303/307/308, at most 10) are followed WITHOUT any of those custom headers
//    (Ignition's CheckRedirect clears the header; we still send our User-Agent and identity);
//  - retries: any connection error, any timeout of one attempt, and any status >= 500 (plus the
//    caller's retryCodes) are retried after a backoff of 200 ms doubling up to 5 s, forever, until
//    timeouts.httpTotal or the caller's signal ends the fetch; other statuses end the fetch:
//    200/204 succeed, 404 is "not found", anything else fails;
//  - timeouts: connect 30 s, response headers timeouts.httpResponseHeaders (default 10 s, 0 = none)
//    per attempt; timeouts.httpTotal (default 0 = none) over all attempts and the body;
//  - proxies from ignition.proxy with Go's matching rules (proxy.ts): http URLs in absolute form to
//    the proxy, https URLs through a CONNECT tunnel;
//  - TLS trust: the system roots plus security.tls.certificateAuthorities.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type * as HttpsModule from 'node:https';
import type * as TlsModule from 'node:tls';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { Readable, type Duplex } from 'node:stream';
import type { HttpHeader, Proxy } from '../config/types.js';
import { NEWEST_VERSION } from '../config/types.js';
import { KINDLING_VERSION } from '../version.js';
import { getLogger } from '../log/logger.js';
import { Deadline, sleep } from './deadline.js';
import { describeCause, displayUrl, FetchError } from './errors.js';
import { compileProxy, proxyFor, type ProxyRules } from './proxy.js';
import { rawRequest, RawResponse, type BodySink } from './http1.js';

// node:https and node:tls are loaded on the first https request (or https proxy): measured here
// they cost 2-12 ms to load, and a boot that only talks plain http to a metadata service never
// needs them. ensureTls() runs before any request that needs them; the code that uses `https` and
// `tls` below only runs after it.
let https: typeof HttpsModule;
let tls: typeof TlsModule;
async function ensureTls(): Promise<void> {
  if (https) return;
  tls = await import('node:tls');
  https = await import('node:https');
}

/** The Ignition release whose behaviour Kindling follows (the conformance corpus' version). */
export const IGNITION_COMPAT_VERSION = '2.26.0';
export const USER_AGENT = `Ignition/${IGNITION_COMPAT_VERSION} (Kindling ${KINDLING_VERSION})`;
export const INITIAL_BACKOFF_MS = 200;
export const MAX_BACKOFF_MS = 5000;
const MAX_REDIRECTS = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_HEADER_TIMEOUT_S = 10;

export function acceptHeader(version: string = NEWEST_VERSION): string {
  return `application/vnd.coreos.ignition+json;version=${version}, */*;q=0.1`;
}

/** Transport settings shared by every HTTP request (FetchOptions carries them). */
export interface HttpTransportOptions {
  /** Seconds to wait for response headers per attempt; default 10, 0 = no limit. */
  httpResponseHeaders?: number;
  /** Seconds for the whole fetch, retries and body included; default 0 = no limit. */
  httpTotal?: number;
  proxy?: Proxy;
  caCertificates?: string[];
  signal?: AbortSignal;
  /** Retry backoff; default Ignition's 200 ms doubling to 5 s (tests shorten it). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Stop after this many attempts (default: no limit, as Ignition). */
  maxAttempts?: number;
  /** TCP connect (+ TLS handshake) timeout per attempt, ms; default 30 000 (Go's dialer). */
  connectTimeoutMs?: number;
  /** Spec version in the Accept header (default the newest, 3.6.0). */
  acceptConfigVersion?: string;
  /** Overrides the User-Agent (default "Ignition/2.26.0 (Kindling x.y.z)"). */
  userAgent?: string;
}

/** Headers as given: names keep their case, later entries replace same-named (any case) ones. */
export type HeaderInput = HttpHeader[] | Record<string, string | undefined>;

class HeaderSet {
  private readonly map = new Map<string, [string, string]>();
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), [name, value]);
  }
  addAll(h: HeaderInput | undefined, where: string): void {
    if (!h) return;
    const entries: [string, string | undefined][] = Array.isArray(h) ? h.map((x) => [x.name, x.value]) : Object.entries(h);
    for (const [name, value] of entries) {
      if (!name) throw new FetchError(`${where}: an HTTP header has an empty name`);
      // Ignition refuses a header without a value (ErrInvalidHTTPHeader) rather than sending "".
      if (value === undefined || value === '') throw new FetchError(`${where}: HTTP header "${name}" has no value`);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new FetchError(`${where}: "${name}" is not a valid HTTP header name`);
      // Values: visible ASCII, spaces and tabs (no line breaks, no control characters).
      if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) throw new FetchError(`${where}: HTTP header "${name}" has a character not allowed in a header value`);
      this.set(name, value);
    }
  }
  toObject(): OutgoingHttpHeaders {
    const o: OutgoingHttpHeaders = {};
    for (const [name, value] of this.map.values()) o[name] = value;
    return o;
  }
}

// ---------------------------------------------------------------------------------------------
// TLS trust and connection reuse

const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Flatcar, Alpine
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

let systemRootsCache: string[] | undefined;
/** Node's bundled roots plus the distribution's bundle (Go's SystemCertPool reads the latter). */
function systemRoots(): string[] {
  if (systemRootsCache) return systemRootsCache;
  const roots = [...tls.rootCertificates];
  for (const f of SYSTEM_BUNDLES) {
    try {
      roots.push(readFileSync(f, 'utf8'));
      break;
    } catch {
      /* next */
    }
  }
  systemRootsCache = roots;
  return roots;
}

/**
 * Splits a PEM bundle into certificates and checks each one parses (Ignition fails the fetch stage
 * on a CA it cannot decode: ErrPEMDecodeFailed). Returns the PEM blocks.
 */
export function parseCaBundle(pem: string, where = 'CA bundle'): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const rest = pem.replace(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g, '').trim();
  if (blocks.length === 0 || rest !== '') throw new FetchError(`${where}: unable to decode PEM block (not a PEM certificate bundle)`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw new FetchError(`${where}: unable to parse CA certificate: ${(err as Error).message}`, { cause: err });
    }
  }
  return blocks;
}

/** Connection pools for one set of trusted CAs; the TLS side is built on first https use, so a
 *  plain-http boot never reads the system bundle or builds a secure context. */
class Agents {
  readonly http = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private httpsAgent?: HttpsModule.Agent;
  private ctx?: TlsModule.SecureContext;
  constructor(private readonly extra: string[]) {}
  get secureContext(): TlsModule.SecureContext {
    this.ctx ??= tls.createSecureContext({ ca: [...systemRoots(), ...this.extra] });
    return this.ctx;
  }
  get https(): HttpsModule.Agent {
    // Keep-alive as Go's transport does; Node unrefs idle sockets, so they never hold the process.
    this.httpsAgent ??= new https.Agent({ keepAlive: true, maxSockets: 16, secureContext: this.secureContext });
    return this.httpsAgent;
  }
}
const agentCache = new Map<string, Agents>();

function agentsFor(cas: string[] | undefined): Agents {
  // Keyed by the PEM text as given, so the bundles are parsed once, not on every request.
  const key = (cas ?? []).join('\n\0\n');
  let a = agentCache.get(key);
  if (!a) {
    const extra = (cas ?? []).flatMap((pem, i) => parseCaBundle(pem, `certificate authority #${i + 1}`));
    a = new Agents(extra);
    agentCache.set(key, a);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// One attempt

interface AttemptContext {
  /** Plain-http GETs without a proxy may use the raw client (http1.ts). */
  raw: boolean;
  agents: Agents;
  rules: ProxyRules;
  headerTimeoutMs: number; // 0 = none
  connectTimeoutMs: number;
  signal: AbortSignal;
}

function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': 'Basic ' + Buffer.from(cred).toString('base64') };
}

function defaultPort(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

function bareHost(u: URL): string {
  return u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
}

/** Opens a TLS connection to target through an HTTP CONNECT tunnel. */
function tunnel(proxy: URL, target: URL, ctx: AttemptContext, cb: (err: Error | null, s?: Duplex) => void): void {
  const authority = `${bareHost(target).includes(':') ? `[${bareHost(target)}]` : bareHost(target)}:${defaultPort(target)}`;
  const mod = proxy.protocol === 'https:' ? https : http;
  const req = mod.request({
    host: bareHost(proxy),
    port: defaultPort(proxy),
    method: 'CONNECT',
    path: authority,
    headers: { host: authority, 'user-agent': USER_AGENT, ...proxyAuthorization(proxy) },
    agent: false,
    ...(proxy.protocol === 'https:' ? { secureContext: ctx.agents.secureContext } : {}),
  });
  let done = false;
  const finish = (err: Error | null, s?: Duplex) => {
    if (done) return;
    done = true;
    cb(err, s);
  };
  req.once('connect', (res, socket) => {
    if (res.statusCode !== 200) {
      socket.destroy();
      finish(new Error(`proxy ${proxy.host} answered ${res.statusCode} to CONNECT ${authority}`));
      return;
    }
    const host = bareHost(target);
    const t = tls.connect({ socket, servername: net.isIP(host) ? undefined : host, secureContext: ctx.agents.secureContext });
    t.once('secureConnect', () => finish(null, t));
    t.once('error', (e) => finish(e));
  });
  req.on('error', (e) => finish(e)); // "on": a late second error must not go unhandled
  req.end();
}

/**
 * Go's client turns user:password@ in the URL into Basic authorization (unless the request already
 * carries an Authorization header); so does Ignition, so we do too. Returns a copy.
 */
function withUrlAuthorization(url: URL, h: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...h };
  if (url.username && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) {
    const cred = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers['authorization'] = 'Basic ' + Buffer.from(cred).toString('base64');
  }
  return headers;
}

interface Attempt {
  method: string;
  url: URL;
  headers: OutgoingHttpHeaders;
  body?: Buffer;
}

/** One request, no retries, no redirects: resolves with the response once its headers arrived. */
function requestOnce(a: Attempt, ctx: AttemptContext): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const { url } = a;
    const secure = url.protocol === 'https:';
    const proxy = proxyFor(url, ctx.rules);
    if (proxy && proxy.protocol === 'socks5:') {
      reject(new FetchError(`${displayUrl(url.href)}: SOCKS5 proxies are not supported`));
      return;
    }
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    let headerTimer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      clearTimeout(connectTimer);
      clearTimeout(headerTimer);
      ctx.signal.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      req.destroy();
      reject(err);
    };
    const onAbort = () => fail(ctx.signal.reason as Error);
    const headers = withUrlAuthorization(url, a.headers);
    if (a.body) headers['content-length'] = String(a.body.length);
    let req: http.ClientRequest;
    try {
      if (proxy && !secure) {
        // Absolute-form request to the proxy, as Go's transport does for http:// URLs.
        const mod = proxy.protocol === 'https:' ? https : http;
        req = mod.request({
          host: bareHost(proxy),
          port: defaultPort(proxy),
          method: a.method,
          path: url.href,
          headers: { host: url.host, ...headers, ...proxyAuthorization(proxy) },
          agent: proxy.protocol === 'https:' ? ctx.agents.https : ctx.agents.http,
        });
      } else if (proxy && secure) {
        req = https.request({
          host: bareHost(url),
          port: defaultPort(url),
          method: a.method,
          path: url.pathname + url.search,
          headers,
          // No agent at all: with agent:false Node makes a fresh Agent, which ignores createConnection.
          createConnection: ((_o: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
            tunnel(proxy, url, ctx, cb);
            return undefined;
          }) as unknown as HttpsModule.RequestOptions['createConnection'],
        });
      } else {
        req = (secure ? https : http).request({
          host: bareHost(url),
          port: defaultPort(url),
          method: a.method,
          path: url.pathname + url.search,
          headers,
          agent: secure ? ctx.agents.https : ctx.agents.http,
          ...(secure && !net.isIP(bareHost(url)) ? { servername: bareHost(url) } : {}),
        });
      }
    } catch (err) {
      // Node refuses some requests synchronously (a bad header, a bad host): not worth a retry.
      settled = true;
      reject(new FetchError(`${displayUrl(url.href)}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    const startHeaderTimer = () => {
      clearTimeout(connectTimer);
      if (ctx.headerTimeoutMs > 0 && !headerTimer && !settled) {
        headerTimer = setTimeout(
          () => fail(new Error(`no response headers within ${ctx.headerTimeoutMs / 1000} s (ignition.timeouts.httpResponseHeaders)`)),
          ctx.headerTimeoutMs,
        );
      }
    };
    connectTimer = setTimeout(() => fail(new Error(`could not connect within ${ctx.connectTimeoutMs / 1000} s`)), ctx.connectTimeoutMs);
    req.once('socket', (s) => {
      const isTls = (s as { encrypted?: boolean }).encrypted === true; // a TLSSocket, without touching node:tls
      const established = isTls ? Boolean((s as unknown as { _secureEstablished?: boolean })._secureEstablished) : !s.connecting;
      if (established) startHeaderTimer();
      else s.once(isTls ? 'secureConnect' : 'connect', startHeaderTimer);
    });
    req.once('response', (res) => {
      if (settled) {
        res.destroy();
        return;
      }
      settled = true;
      cleanup();
      resolve(res);
    });
    req.on('error', (e) => fail(e)); // "on": errors after the response must not go unhandled
    if (ctx.signal.aborted) {
      onAbort();
      return;
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    req.end(a.body);
  });
}

// ---------------------------------------------------------------------------------------------
// Redirects and retries

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A response from either client: node:http's IncomingMessage or the raw client's. */
export type AnyResponse = IncomingMessage | RawResponse;

/** Does this attempt go through the raw client? (KINDLING_HTTP_CLIENT=node turns it off.) */
function useRaw(a: Attempt, ctx: AttemptContext): boolean {
  return (
    ctx.raw &&
    a.url.protocol === 'http:' &&
    !a.body &&
    (a.method === 'GET' || a.method === 'HEAD') &&
    !proxyFor(a.url, ctx.rules) &&
    process.env.KINDLING_HTTP_CLIENT !== 'node'
  );
}

function attemptOnce(a: Attempt, ctx: AttemptContext): Promise<AnyResponse> {
  if (useRaw(a, ctx)) {
    return rawRequest(
      { method: a.method, url: a.url, headers: withUrlAuthorization(a.url, a.headers) },
      { connectTimeoutMs: ctx.connectTimeoutMs, headerTimeoutMs: ctx.headerTimeoutMs, signal: ctx.signal },
    );
  }
  return requestOnce(a, ctx);
}

async function followRedirects(first: Attempt, plainHeaders: OutgoingHttpHeaders, ctx: AttemptContext, follow: boolean): Promise<{ res: AnyResponse; url: URL }> {
  let a = first;
  for (let hops = 0; ; hops++) {
    if (a.url.protocol === 'https:' || proxyFor(a.url, ctx.rules)?.protocol === 'https:') await ensureTls();
    const res = await attemptOnce(a, ctx);
    const loc = res.headers.location;
    if (!follow || !REDIRECTS.has(res.statusCode ?? 0) || !loc) return { res, url: a.url };
    res.resume(); // drain, so the keep-alive socket can be reused
    if (hops >= MAX_REDIRECTS) throw new Error(`stopped after ${MAX_REDIRECTS} redirects`);
    let next: URL;
    try {
      next = new URL(loc, a.url);
    } catch {
      throw new Error(`redirect to an invalid location`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Error(`redirect to unsupported scheme ${next.protocol}`);
    getLogger().debug(`following redirect ${res.statusCode} to ${displayUrl(next.href)}`);
    // Go: 301/302/303 turn a non-GET/HEAD request into GET without body; 307/308 keep both.
    const keep = res.statusCode === 307 || res.statusCode === 308;
    const method = keep || a.method === 'HEAD' ? a.method : 'GET';
    a = { method, url: next, headers: plainHeaders, body: keep ? a.body : undefined };
  }
}

export interface HttpRequest {
  url: string;
  method?: string;
  /** The complete header set for the first hop (see buildHeaders). */
  headers: OutgoingHttpHeaders;
  body?: Buffer;
  /** Statuses retried besides >= 500 (Ignition's FetchOptions.RetryCodes). */
  retryCodes?: number[];
  /** Return 3xx responses instead of following them (S3's bucket-region probe reads their headers). */
  noRedirects?: boolean;
  /** Return the first response whatever its status: the caller retries (S3's SDK-style retryer). */
  returnAll?: boolean;
}

export interface HttpOpened {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** After redirects. */
  url: string;
  attempts: number;
}

/**
 * Sends the request with Ignition's retry loop until a response that is not retried arrives, and
 * returns it with its body unread. Gives up (FetchError, timedOut) when the deadline's signal fires.
 */
export async function httpOpen(req: HttpRequest, opts: HttpTransportOptions, deadline: Deadline): Promise<HttpOpened> {
  const r = await openAny(req, opts, deadline, false);
  return { ...r, body: r.body as IncomingMessage };
}

/**
 * httpOpen for resource contents: plain-http GETs that need no proxy go through the raw client
 * (http1.ts), whose body is a RawResponse (pipeTo a sink, or rawToReadable); anything else is
 * node:http's IncomingMessage.
 */
export async function httpOpenAny(req: HttpRequest, opts: HttpTransportOptions, deadline: Deadline): Promise<Omit<HttpOpened, 'body'> & { body: AnyResponse }> {
  return openAny(req, opts, deadline, true);
}

async function openAny(req: HttpRequest, opts: HttpTransportOptions, deadline: Deadline, raw: boolean): Promise<Omit<HttpOpened, 'body'> & { body: AnyResponse }> {
  const log = getLogger();
  const where = displayUrl(req.url);
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw new FetchError(`${where}: not a valid URL`);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  let rules: ProxyRules;
  try {
    rules = compileProxy(opts.proxy);
  } catch (err) {
    throw new FetchError(`${where}: ${(err as Error).message}`);
  }
  const ctx: AttemptContext = {
    raw,
    agents: agentsFor(opts.caCertificates),
    rules,
    headerTimeoutMs: (opts.httpResponseHeaders ?? DEFAULT_HEADER_TIMEOUT_S) * 1000,
    connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    signal: deadline.signal,
  };
  const plainHeaders: OutgoingHttpHeaders = { 'user-agent': opts.userAgent ?? USER_AGENT, 'accept-encoding': 'identity' };
  let wait = opts.backoff?.initialMs ?? INITIAL_BACKOFF_MS;
  const maxWait = opts.backoff?.maxMs ?? MAX_BACKOFF_MS;
  let last = '';
  for (let attempt = 1; ; attempt++) {
    const giveUp = () =>
      new FetchError(`${where}: ${deadline.reason ?? 'aborted'} after ${attempt} attempt${attempt === 1 ? '' : 's'}${last ? `; last error: ${last}` : ''}`, {
        timedOut: true,
      });
    if (deadline.signal.aborted) throw giveUp();
    log.info(`${method} ${where}: attempt #${attempt}`);
    try {
      const { res, url: final } = await followRedirects({ method, url, headers: req.headers, body: req.body }, plainHeaders, ctx, !req.noRedirects);
      const status = res.statusCode ?? 0;
      log.info(`${method} result: ${status} ${http.STATUS_CODES[status] ?? ''}`.trimEnd());
      if (req.returnAll || !(status >= 500 || req.retryCodes?.includes(status))) {
        return { status, headers: res.headers, body: res, url: final.href, attempts: attempt };
      }
      res.resume();
      last = `HTTP ${status} ${http.STATUS_CODES[status] ?? ''}`.trimEnd();
    } catch (err) {
      if (deadline.signal.aborted) throw giveUp();
      if (err instanceof FetchError) throw err; // a problem with the request itself: not retried
      last = describeCause(err);
      log.info(`${method} error: ${last}`);
    }
    if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) {
      throw new FetchError(`${where}: gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}; last error: ${last}`);
    }
    try {
      await sleep(wait, deadline.signal);
    } catch {
      throw giveUp();
    }
    wait = Math.min(wait * 2, maxWait);
  }
}

/** Ignition's header set for a resource: defaults, then the caller's, then the resource's own. */
export function buildHeaders(opts: HttpTransportOptions, where: string, ...layers: (HeaderInput | undefined)[]): OutgoingHttpHeaders {
  const h = new HeaderSet();
  h.set('User-Agent', opts.userAgent ?? USER_AGENT);
  h.set('Accept', acceptHeader(opts.acceptConfigVersion));
  h.set('Accept-Encoding', 'identity');
  for (const l of layers) h.addAll(l, where);
  return h.toObject();
}

/** Ties the response body to the deadline: when it fires mid-body, the body errors. */
export function bindBodyToDeadline(res: Readable, deadline: Deadline, where: string): void {
  const onAbort = () => res.destroy(new FetchError(`${where}: ${deadline.reason ?? 'aborted'} while reading the body`, { timedOut: true }));
  if (deadline.signal.aborted) {
    onAbort();
    return;
  }
  deadline.signal.addEventListener('abort', onAbort, { once: true });
  res.once('close', () => deadline.signal.removeEventListener('abort', onAbort));
}

/** Maps a final status to Ignition's outcome: 200/204 pass, 404 not found, others fail. */
export function checkStatus(status: number, where: string): void {
  if (status === 200 || status === 204) return;
  if (status === 404) throw new FetchError(`${where}: resource not found (HTTP 404)`, { status, notFound: true });
  const text = http.STATUS_CODES[status];
  throw new FetchError(`${where}: failed to fetch resource (HTTP ${status}${text ? ` ${text}` : ''})`, { status });
}

// ---------------------------------------------------------------------------------------------
// A small client for providers (metadata services) and the S3/GCS modules

export interface HttpCallOptions extends HttpTransportOptions {
  method?: string;
  headers?: HeaderInput;
  body?: string | Buffer;
  /** Statuses to retry besides >= 500 (e.g. [404] while a metadata service warms up). */
  retryCodes?: number[];
  /** Return null for 404 instead of throwing. */
  notFoundAsNull?: boolean;
  /** Statuses returned rather than thrown (default: any 2xx). */
  okStatuses?: number[];
  /** Refuse bodies larger than this (default 64 MiB): these calls buffer in memory. */
  maxBytes?: number;
}

export interface HttpCallResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  url: string;
}

/**
 * One HTTP exchange with Ignition's retry loop, the body read into memory. For metadata services:
 *   await httpCall('http://169.254.169.254/latest/api/token',
 *     { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' }, maxAttempts: 3 })
 *   await httpCall(`${base}/computeMetadata/v1/instance/attributes/user-data`,
 *     { headers: { 'Metadata-Flavor': 'Google' }, notFoundAsNull: true })
 * Throws FetchError (with .status / .notFound) for statuses it does not return.
 */
export async function httpCall(url: string, o: HttpCallOptions & { notFoundAsNull: true }): Promise<HttpCallResult | null>;
export async function httpCall(url: string, o?: HttpCallOptions): Promise<HttpCallResult>;
export async function httpCall(url: string, o: HttpCallOptions = {}): Promise<HttpCallResult | null> {
  const where = displayUrl(url);
  const deadline = new Deadline(o.httpTotal, o.signal);
  try {
    const headers = buildHeaders(o, where, o.headers);
    const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
    const r = await httpOpen({ url, method: o.method, headers, body, retryCodes: o.retryCodes }, o, deadline);
    const ok = o.okStatuses ? o.okStatuses.includes(r.status) : r.status >= 200 && r.status < 300;
    if (!ok) {
      r.body.resume();
      if (r.status === 404 && o.notFoundAsNull) return null;
      if (r.status === 404) throw new FetchError(`${where}: resource not found (HTTP 404)`, { status: 404, notFound: true });
      throw new FetchError(`${where}: HTTP ${r.status} ${http.STATUS_CODES[r.status] ?? ''}`.trimEnd(), { status: r.status });
    }
    bindBodyToDeadline(r.body, deadline, where);
    const buf = await readAll(r.body, o.maxBytes ?? 64 * 1024 * 1024, where);
    return { status: r.status, headers: r.headers, body: buf, url: r.url };
  } finally {
    deadline.dispose();
  }
}

/** httpCall with GET. */
export function httpGet(url: string, o: HttpCallOptions & { notFoundAsNull: true }): Promise<HttpCallResult | null>;
export function httpGet(url: string, o?: HttpCallOptions): Promise<HttpCallResult>;
export function httpGet(url: string, o: HttpCallOptions = {}): Promise<HttpCallResult | null> {
  return httpCall(url, { ...o, method: 'GET' });
}

export function readAll(s: NodeJS.ReadableStream & { destroy(e?: Error): void }, maxBytes: number, where: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    s.on('data', (c: Buffer) => {
      n += c.length;
      if (n > maxBytes) {
        s.destroy(new FetchError(`${where}: body larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(c);
    });
    s.once('end', () => resolve(Buffer.concat(chunks, n)));
    s.once('error', (e) => reject(e instanceof FetchError ? e : new FetchError(`${where}: ${describeCause(e)}`, { cause: e })));
  });
}

// ---------------------------------------------------------------------------------------------
// Bodies from the raw client

/**
 * Delivers a raw response's body to `sink` (views valid only during the call) until it is complete;
 * when the deadline fires first, rejects with a FetchError saying so ("... while reading the body").
 */
export async function pipeRawBody(res: RawResponse, deadline: Deadline, where: string, sink: BodySink): Promise<void> {
  const onAbort = () => res.destroy(new FetchError(`${where}: ${deadline.reason ?? 'aborted'} while reading the body`, { timedOut: true }));
  if (deadline.signal.aborted) onAbort();
  else deadline.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await res.pipeTo(sink);
  } finally {
    deadline.signal.removeEventListener('abort', onAbort);
  }
}

/** A raw response's body as a Readable (each chunk copied out of the shared read buffer). */
export function rawToReadable(res: RawResponse): Readable {
  let wake: (() => void) | undefined;
  const out = new Readable({
    read() {
      const w = wake;
      wake = undefined;
      w?.();
    },
    destroy(err, cb) {
      res.destroy(err ?? undefined);
      cb(err);
    },
  });
  res
    .pipeTo((view) => {
      if (!out.push(Buffer.from(view))) return new Promise<void>((r) => (wake = r));
    })
    .then(
      () => out.push(null),
      (e: unknown) => out.destroy(e as Error),
    );
  return out;
}

export { RawResponse, closeIdleConnections } from './http1.js';
export type { BodySink } from './http1.js';
