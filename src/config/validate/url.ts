// URL checks with Ignition's messages. Ignition parses with Go's net/url, which accepts almost
// anything; we refuse what it refuses (bad escapes, control characters, malformed hosts/ports)
// and then check the scheme.
export const ERR_INVALID_URL = 'unable to parse url';
export const ERR_INVALID_SCHEME = 'invalid url scheme';
export const ERR_INVALID_S3_ARN = 'invalid S3 ARN format';
export const ERR_INVALID_S3_VERSION = 'invalid S3 object VersionId';

export interface GoUrl {
  scheme: string;
  /** everything after "scheme:" up to "?" / "#" */
  rest: string;
  query: string;
  host?: string;
}

/** A small model of Go's url.Parse: null where Go returns an error. */
export function parseGoUrl(raw: string): GoUrl | null {
  if (/[\x00-\x1f\x7f]/.test(raw)) return null;
  let s = raw;
  const hash = s.indexOf('#');
  if (hash >= 0) {
    if (!validEscapes(s.slice(hash + 1))) return null;
    s = s.slice(0, hash);
  }
  let scheme = '';
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(s);
  if (m) {
    scheme = m[1].toLowerCase();
    s = s.slice(m[0].length);
  } else if (s.startsWith(':')) {
    return null; // "missing protocol scheme"
  }
  let query = '';
  const q = s.indexOf('?');
  if (q >= 0) {
    query = s.slice(q + 1);
    s = s.slice(0, q);
  }
  let host: string | undefined;
  if (s.startsWith('//') && (scheme !== '' || true)) {
    const authEnd = s.indexOf('/', 2);
    const authority = authEnd >= 0 ? s.slice(2, authEnd) : s.slice(2);
    const at = authority.lastIndexOf('@');
    const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
    if (!validHostPort(hostPort)) return null;
    host = hostPort;
    if (!validEscapes(authEnd >= 0 ? s.slice(authEnd) : '')) return null;
  } else if ((scheme === '' || s.startsWith('/')) && !validEscapes(s)) {
    // Go leaves an opaque part ("data:,%zz") unparsed; only paths are unescaped.
    return null;
  }
  if (scheme === '' && /^[^/]*:/.test(s)) return null; // "first path segment in URL cannot contain colon"
  return { scheme, rest: s, query, host };
}

function validEscapes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      if (!/^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) return false;
      i += 2;
    }
  }
  return true;
}

function validHostPort(hp: string): boolean {
  let port = '';
  if (hp.startsWith('[')) {
    const close = hp.indexOf(']');
    if (close < 0) return false;
    const after = hp.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return false;
    port = after.slice(1);
    if (after.startsWith(':') && !/^\d*$/.test(port)) return false;
    return true;
  }
  const colon = hp.lastIndexOf(':');
  if (colon >= 0) {
    port = hp.slice(colon + 1);
    if (!/^\d*$/.test(port)) return false;
  }
  if (!validEscapes(hp)) return false;
  return !/[ <>"{}|\\^`]/.test(hp.slice(0, colon >= 0 ? colon : undefined));
}

function queryValue(query: string, key: string): string | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = eq >= 0 ? part.slice(0, eq) : part;
    if (k === key) return eq >= 0 ? part.slice(eq + 1) : '';
  }
  return undefined;
}

/** The resource schemes of spec 3.x: http, https, tftp, s3, gs, arn, data. */
export function validateUrl(raw: string): string | undefined {
  const u = parseGoUrl(raw);
  if (!u) return ERR_INVALID_URL;
  switch (u.scheme) {
    case 'http':
    case 'https':
    case 'tftp':
    case 'gs':
      return undefined;
    case 's3': {
      const v = queryValue(u.query, 'versionId');
      return v === '' ? ERR_INVALID_S3_VERSION : undefined;
    }
    case 'arn':
      return validateS3Arn(u);
    case 'data':
      return dataUrlError(raw);
    default:
      return ERR_INVALID_SCHEME;
  }
}

/** nil and "" are fine (an empty file / nothing to fetch). */
export function validateUrlNilOk(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  return validateUrl(raw);
}

function validateS3Arn(u: GoUrl): string | undefined {
  // arn:partition:service:region:account-id:resource
  const parts = u.rest.split(':');
  if (parts.length < 5) return ERR_INVALID_S3_ARN;
  const [partition, service] = parts;
  const resource = parts.slice(4).join(':');
  if (partition === '' || service !== 's3') return ERR_INVALID_S3_ARN;
  if (resource.startsWith('accesspoint/')) {
    const segs = resource.slice('accesspoint/'.length).split('/');
    if (segs.length < 2 || segs[0] === '' || segs.slice(1).join('/') === '') return ERR_INVALID_S3_ARN;
  } else {
    const slash = resource.indexOf('/');
    if (slash <= 0 || slash === resource.length - 1) return ERR_INVALID_S3_ARN;
  }
  if (queryValue(u.query, 'versionId') === '') return ERR_INVALID_S3_VERSION;
  return undefined;
}

const TOKEN = /[A-Za-z0-9!#$%&'*+.^_`|~-]/;
const URIC = /[A-Za-z0-9;/?:@&=+$,\-_.!~*'()]/;

/**
 * RFC 2397 data: URLs, with the messages of the decoder Ignition uses (vincent-petithory/dataurl):
 * "missing media type slash", "invalid character for media type", "invalid data character", …
 */
export function dataUrlError(raw: string): string | undefined {
  const body = raw.slice(raw.indexOf(':') + 1);
  let i = 0;
  if (body[i] !== ';' && body[i] !== ',') {
    while (i < body.length && TOKEN.test(body[i])) i++;
    if (i >= body.length) return 'missing media type slash';
    if (body[i] !== '/') return 'invalid character for media type';
    i++;
    while (i < body.length && TOKEN.test(body[i])) i++;
    if (i >= body.length) return 'unexpected EOF';
    if (body[i] !== ';' && body[i] !== ',') return 'invalid character for media subtype';
  }
  let base64 = false;
  while (body[i] === ';') {
    const end = body.slice(i + 1).search(/[;,]/);
    if (end < 0) return 'unexpected EOF';
    const param = body.slice(i + 1, i + 1 + end);
    if (param === 'base64') base64 = true;
    else if (!/^[^=]+=.*$/.test(param)) return 'invalid character for media type parameter';
    i += end + 1;
  }
  if (body[i] !== ',') return 'unexpected EOF';
  const data = body.slice(i + 1);
  for (let j = 0; j < data.length; j++) {
    const c = data[j];
    if (c === '%') {
      if (!/^[0-9a-fA-F]{2}$/.test(data.slice(j + 1, j + 3))) return 'rfc2396: invalid char 0x25 in unescape sequence';
      j += 2;
    } else if (!(base64 ? /[A-Za-z0-9+/=]/ : URIC).test(c)) return 'invalid data character';
  }
  if (base64) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(data);
    } catch {
      return 'rfc2396: invalid char 0x25 in unescape sequence';
    }
    // Go's StdEncoding wants padding: the error names the start of the broken 4-byte quantum.
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(decoded)) return `illegal base64 data at input byte ${decoded.search(/=[^=]|[^A-Za-z0-9+/=]/)}`;
    if (decoded.length % 4 !== 0) return `illegal base64 data at input byte ${Math.floor(decoded.length / 4) * 4}`;
  }
  return undefined;
}

export const ERR_INVALID_PROXY = 'proxies must be http(s)';
export const ERR_INSECURE_PROXY = 'insecure plaintext HTTP proxy specified for HTTPS resources';

/** Proxy URLs: https always, http only for httpProxy (a warning for httpsProxy). */
export function validateProxyUrl(raw: string | undefined, httpOk: boolean): { error?: string; warning?: string } {
  if (raw === undefined) return {};
  const u = parseGoUrl(raw);
  if (!u) return { error: ERR_INVALID_URL };
  if (u.scheme === 'https') return {};
  if (u.scheme === 'http') return httpOk ? {} : { warning: ERR_INSECURE_PROXY };
  return { error: ERR_INVALID_PROXY };
}
