// data: URLs (RFC 2397), decoded the way Ignition decodes them (Go's vincent-petithory/dataurl):
//   data:[<type>/<subtype>][;attr=value]*[;base64],<data>
// The grammar is strict where that library is strict, because a config that Ignition rejects must
// not be accepted here either:
//  - the media type must start with text|image|audio|video|application|message|multipart or x-;
//  - without ;base64 the data is percent-decoded only ("+" stays "+"); characters outside RFC 2396's
//    URL set (space, <, >, #, ", {, }, |, \, ^, [, ], `, controls, non-ASCII) are errors, and so is a
//    broken %-escape;
//  - with ;base64 the data is standard base64 with padding (no URL-safe alphabet, no whitespace).
// Decoding happens in one piece: data URLs live inside the config, so they are small already.

export class DataUrlError extends Error {}

export interface DataUrl {
  mediaType: string;
  params: Record<string, string>;
  base64: boolean;
  data: Buffer;
}

const TSPECIALS = new Set('()<>@,;:\\"/[]?='.split(''));

function isToken(c: string): boolean {
  const code = c.charCodeAt(0);
  return code > 0x20 && code < 0x7f && !TSPECIALS.has(c);
}

function isUrlChar(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code > 0x7f || code <= 0x1f || code === 0x7f) return false;
  return !' <>#"{}|\\^[]`'.includes(c);
}

const DISCRETE = ['text', 'image', 'audio', 'video', 'application', 'message', 'multipart'];

export function decodeDataUrl(url: string): DataUrl {
  if (!url.startsWith('data:')) throw new DataUrlError('missing data prefix');
  let i = 5;
  const n = url.length;
  let type = 'text';
  let subtype = 'plain';
  const params: Record<string, string> = { charset: 'US-ASCII' };
  let base64 = false;

  const c0 = url[i];
  if (c0 === undefined) throw new DataUrlError('missing comma before data');
  if (c0 !== ';' && c0 !== ',') {
    // type "/" subtype
    const start = i;
    while (i < n && url[i] !== '/') {
      if (!isToken(url[i]!)) throw new DataUrlError('invalid character for media type');
      i++;
    }
    if (i >= n) throw new DataUrlError('missing media type slash');
    type = url.slice(start, i);
    const xToken = /^x-/i.test(type);
    if (!xToken && !DISCRETE.some((d) => type.startsWith(d))) throw new DataUrlError('invalid media type');
    i++; // "/"
    const sstart = i;
    while (i < n && url[i] !== ';' && url[i] !== ',') {
      if (!isToken(url[i]!)) throw new DataUrlError('invalid character for media subtype');
      i++;
    }
    if (i >= n) throw new DataUrlError('incomplete media type');
    subtype = url.slice(sstart, i);
    delete params.charset;
  }
  // parameters, possibly ending in ";base64"
  while (url[i] === ';') {
    i++;
    const astart = i;
    if (i >= n || url[i] === '=' || url[i] === ',') throw new DataUrlError('unterminated parameter sequence');
    while (i < n && url[i] !== '=' && url[i] !== ',') {
      if (!isToken(url[i]!)) throw new DataUrlError('invalid character for parameter attribute');
      i++;
    }
    if (i >= n) throw new DataUrlError('unterminated parameter sequence');
    const attr = url.slice(astart, i);
    if (url[i] === ',') {
      if (attr !== 'base64') throw new DataUrlError(`expected base64, got ${attr}`);
      base64 = true;
      break;
    }
    i++; // "="
    let value: string;
    if (url[i] === '"') {
      i++;
      let raw = '';
      for (;;) {
        if (i >= n) throw new DataUrlError('unclosed quoted string');
        const c = url[i]!;
        if (c.charCodeAt(0) > 0x7f) throw new DataUrlError('invalid character for parameter value');
        if (c === '"') break;
        if (c === '\\') {
          if (i + 1 >= n) throw new DataUrlError('unexpected eof');
          raw += url[i + 1];
          i += 2;
          continue;
        }
        raw += c;
        i++;
      }
      i++; // closing quote
      value = raw;
    } else {
      const vstart = i;
      if (i >= n) throw new DataUrlError('missing comma before data');
      while (i < n && url[i] !== ';' && url[i] !== ',') {
        if (!isToken(url[i]!)) throw new DataUrlError('invalid character for parameter value');
        i++;
      }
      if (i >= n) throw new DataUrlError('missing comma before data');
      value = percentDecode(url.slice(vstart, i)).toString('latin1');
    }
    params[attr] = value;
    if (i >= n) throw new DataUrlError('missing comma before data');
    if (url[i] !== ';' && url[i] !== ',') throw new DataUrlError('expected semicolon or comma');
  }
  if (url[i] !== ',') throw new DataUrlError(i >= n ? 'missing comma before data' : 'expected semicolon or comma');
  const payload = url.slice(i + 1);
  let data: Buffer;
  if (base64) {
    if (!/^[A-Za-z0-9+/=]*$/.test(payload)) throw new DataUrlError('invalid data character');
    data = decodeStdBase64(payload);
  } else {
    for (const c of payload) if (!isUrlChar(c)) throw new DataUrlError('invalid data character');
    data = percentDecode(payload);
  }
  return { mediaType: `${type}/${subtype}`, params, base64, data };
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9A-Fa-f]$/.test(c);
}

/** RFC 2396 unescaping: "%XX" only; anything else is kept byte for byte (ASCII only). */
function percentDecode(s: string): Buffer {
  const out = Buffer.allocUnsafe(s.length);
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c.charCodeAt(0) > 0x7f) throw new DataUrlError('rfc2396: non-ASCII char detected');
    if (c === '%') {
      const a = s[i + 1];
      const b = s[i + 2];
      if (a === undefined || b === undefined) throw new DataUrlError('rfc2396: unexpected end of unescape sequence');
      if (!isHex(a) || !isHex(b)) throw new DataUrlError('rfc2396: invalid char in unescape sequence');
      out[o++] = parseInt(a + b, 16);
      i += 2;
    } else {
      out[o++] = c.charCodeAt(0);
    }
  }
  return out.subarray(0, o);
}

/** Go's base64.StdEncoding.DecodeString: padded, standard alphabet, "=" only at the end. */
function decodeStdBase64(s: string): Buffer {
  if (s.length % 4 !== 0) throw new DataUrlError(`illegal base64 data at input byte ${s.length - (s.length % 4)}`);
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const body = s.slice(0, s.length - pad);
  const bad = body.indexOf('=');
  if (bad !== -1) throw new DataUrlError(`illegal base64 data at input byte ${bad}`);
  return Buffer.from(s, 'base64');
}
