// The JavaScript SHA-256 against node:crypto's: every length around the padding boundaries (0 to
// 300 bytes: one, two and more blocks, the 55/56/63/64-byte edges), strings with non-ASCII
// characters (hashed as UTF-8), and pseudo-random inputs up to 1 MiB from a fixed seed.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from './sha256.js';

const ref = (d: string | Uint8Array) => createHash('sha256').update(d).digest('hex');

describe('sha256Hex', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches node:crypto on every length from 0 to 300 bytes', () => {
    const buf = Buffer.alloc(300);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 131 + 7) & 0xff;
    for (let n = 0; n <= 300; n++) expect(sha256Hex(buf.subarray(0, n)), `length ${n}`).toBe(ref(buf.subarray(0, n)));
  });

  it('hashes strings as UTF-8', () => {
    for (const s of ['µs', 'node1\n', '{"ignition":{"version":"3.3.0"}}', 'é'.repeat(1000), '\u{1f600}x'.repeat(33)]) expect(sha256Hex(s)).toBe(ref(s));
  });

  it('matches node:crypto on pseudo-random inputs up to 1 MiB', () => {
    let x = 0x12345678;
    for (const n of [1000, 4095, 4096, 4097, 65536, 100_003, 1 << 20]) {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) {
        x = (Math.imul(x, 1103515245) + 12345) | 0;
        b[i] = x >>> 24;
      }
      expect(sha256Hex(b), `length ${n}`).toBe(ref(b));
    }
  });
});
