// Decompression of resource contents (Resource.compression). Ignition knows only "gzip" (the
// spec's field allows null or "gzip"); anything else is refused with a sentence saying so. The
// server's Content-Encoding plays no part: we ask for identity and gzip is inside the body.
import { createGunzip, gunzipSync } from 'node:zlib';
import type { Transform } from 'node:stream';
import { describeCause, FetchError } from './errors.js';

export type Compression = '' | 'gzip';

export function checkCompression(compression: string | undefined, where: string): Compression {
  if (compression === undefined || compression === '') return '';
  if (compression === 'gzip') return 'gzip';
  throw new FetchError(`${where}: unsupported compression "${compression}" (Ignition supports only gzip)`);
}

export function decompressStream(c: Compression): Transform | undefined {
  return c === 'gzip' ? createGunzip() : undefined;
}

export function decompressBuffer(buf: Buffer, c: Compression, where: string): Buffer {
  if (c === '') return buf;
  try {
    return gunzipSync(buf);
  } catch (err) {
    throw new FetchError(`${where}: ${describeCause(err)}`, { cause: err });
  }
}
