// Errors of the resources layer. Every failure is a KindlingError of kind "fetch" whose message
// names the URL as a user wrote it, minus anything secret: the password of user:pass@, the value
// of query parameters that look like signatures or tokens, and the body of data: URLs.
import { KindlingError } from '../errors.js';

export class FetchError extends KindlingError {
  /** HTTP status when the server answered (e.g. 403, 404). */
  readonly status?: number;
  /** The resource does not exist (HTTP 404, TFTP "file not found", S3 NoSuchKey, ...). Some
   *  providers treat this as "no config" rather than a failure, as Ignition does. */
  readonly notFound: boolean;
  /** The fetch was cut short by the caller's signal or the httpTotal deadline. */
  readonly timedOut: boolean;

  constructor(message: string, opts: { status?: number; notFound?: boolean; timedOut?: boolean; cause?: unknown } = {}) {
    super('fetch', message, { cause: opts.cause });
    this.name = 'FetchError';
    this.status = opts.status;
    this.notFound = opts.notFound ?? false;
    this.timedOut = opts.timedOut ?? false;
  }
}

const SECRET_PARAM = /sig|token|key|secret|pass|auth|credential|session|code/i;

/** The URL as it may appear in logs and error messages. */
export function displayUrl(source: string): string {
  if (/^data:/i.test(source)) {
    const comma = source.indexOf(',');
    const head = comma === -1 ? source.slice(0, 40) : source.slice(0, comma);
    return `${head},… (data URL, ${source.length} characters)`;
  }
  let u: URL;
  try {
    u = new URL(source);
  } catch {
    // Not parseable: show at most a prefix, without anything after "?" or "@".
    return source.replace(/\/\/[^/@]*@/, '//[redacted]@').replace(/\?.*$/, '?…').slice(0, 200);
  }
  if (u.password) u.password = 'redacted';
  if (u.search) {
    const parts = u.search
      .slice(1)
      .split('&')
      .map((kv) => {
        const eq = kv.indexOf('=');
        const k = eq === -1 ? kv : kv.slice(0, eq);
        return eq !== -1 && SECRET_PARAM.test(decodeURIComponentSafe(k)) ? `${k}=[redacted]` : kv;
      });
    u.search = '?' + parts.join('&');
  }
  return u.href;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A short reason from a low-level error (errno codes made readable). */
export function describeCause(err: unknown): string {
  if (err instanceof KindlingError) return err.message;
  const e = err as NodeJS.ErrnoException & { reason?: string };
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return e.message === 'aborted' ? 'the connection closed before the whole body arrived' : 'connection reset by peer';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name not resolved (${e.code})`;
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'EPIPE':
      return 'connection closed while sending';
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return 'the connection closed before the whole body arrived';
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
      return `gzip decompression failed: ${e.message}`;
    default:
      break;
  }
  if (typeof e?.code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO|TLS|SSL|DEPTH_ZERO|EPROTO/.test(e.code)) {
    return `TLS error: ${e.message} (${e.code})`;
  }
  if (e instanceof Error) return e.message;
  return String(err);
}
