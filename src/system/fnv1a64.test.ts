import { describe, expect, it } from 'vitest';
import { fnv1a64Hex } from './fnv1a64.js';

/** The definition, with BigInt: h = (h ^ byte) * prime mod 2^64. */
function reference(bytes: Uint8Array): string {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

describe('fnv1a64Hex', () => {
  it('gives the published FNV-1a 64 test vectors', () => {
    expect(fnv1a64Hex('')).toBe('cbf29ce484222325');
    expect(fnv1a64Hex('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64Hex('foobar')).toBe('85944171f73967e8');
  });

  it('matches the BigInt definition on every length to 300 and on random inputs, strings as UTF-8', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (let n = 0; n <= 300; n++) {
      const b = Uint8Array.from({ length: n }, rand);
      expect(fnv1a64Hex(b), `length ${n}`).toBe(reference(b));
    }
    for (const n of [4096, 65537, 300_000]) {
      const b = Uint8Array.from({ length: n }, rand);
      expect(fnv1a64Hex(b)).toBe(reference(b));
    }
    const s = '{"path":"/é/✓/🔥"}';
    expect(fnv1a64Hex(s)).toBe(reference(Buffer.from(s, 'utf8')));
  });
});
