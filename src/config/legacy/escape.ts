// The two percent-encodings Flatcar's translation uses to turn inline text into data: URLs, so
// that Kindling produces byte-identical sources.

const HEX = '0123456789ABCDEF';

function encode(text: string, keep: (c: number) => boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += keep(byte) ? String.fromCharCode(byte) : '%' + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

function unreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5f || // _
    c === 0x7e // ~
  );
}

/** Go's url.PathEscape: a path segment keeps unreserved characters and $ & + , : ; = @. */
export function goPathEscape(text: string): string {
  return encode(text, (c) => unreserved(c) || '$&+,:;=@'.includes(String.fromCharCode(c)));
}

/** The escaping of spec 1 inline file contents (RFC 2397 data URL, only unreserved kept). */
export function dataUrlEscape(text: string): string {
  return encode(text, unreserved);
}
