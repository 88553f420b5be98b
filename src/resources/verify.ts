// Verification: "sha512-<hex>" / "sha256-<hex>" of the DECOMPRESSED contents (Ignition hashes what
// it writes, after gzip). A Transform hashes what flows through and, at the end, either lets the
// stream end or fails it, so that a consumer never sees a clean end of unverified data.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { FetchError } from './errors.js';

export interface ExpectedHash {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

const HEX_LEN = { sha256: 64, sha512: 128 } as const;

/** Parses "sha512-<hex>"; throws a FetchError naming the problem for anything else. */
export function parseHash(spec: string, where: string): ExpectedHash {
  const dash = spec.indexOf('-');
  if (dash === -1) throw new FetchError(`${where}: verification hash "${spec}" is not of the form <function>-<hex>`);
  const fn = spec.slice(0, dash);
  const hex = spec.slice(dash + 1).toLowerCase();
  if (fn !== 'sha256' && fn !== 'sha512') throw new FetchError(`${where}: unsupported verification hash function "${fn}" (sha256 or sha512)`);
  if (hex.length !== HEX_LEN[fn] || !/^[0-9a-f]+$/.test(hex)) {
    throw new FetchError(`${where}: verification hash is not a ${fn} sum (${HEX_LEN[fn]} hex digits)`);
  }
  return { algorithm: fn, hex };
}

export function hashMismatch(where: string, expected: ExpectedHash, got: string): FetchError {
  return new FetchError(`${where}: ${expected.algorithm} of the contents is ${got}, the config expects ${expected.hex}`);
}

/** Checks a whole buffer. */
export function verifyBuffer(buf: Buffer, expected: ExpectedHash | undefined, where: string): void {
  if (!expected) return;
  const got = createHash(expected.algorithm).update(buf).digest('hex');
  if (got !== expected.hex) throw hashMismatch(where, expected, got);
}

/** A pass-through stream that fails at its end when the hash does not match. */
export class VerifyStream extends Transform {
  private readonly hash: Hash;

  constructor(
    private readonly expected: ExpectedHash,
    private readonly where: string,
  ) {
    super();
    this.hash = createHash(expected.algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const got = this.hash.digest('hex');
    if (got !== this.expected.hex) cb(hashMismatch(this.where, this.expected, got));
    else cb();
  }
}
