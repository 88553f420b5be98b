// FNV-1a, 64 bits, in plain JavaScript: a fast checksum for the config cache's stamp
// (src/engine/load-config.ts), which guards against accidents (a cache edited, truncated or
// written by another tool), not against an attacker. Cheaper to start than a cryptographic hash
// in JavaScript (node:crypto costs ~5 ms of start-up; a JavaScript SHA-256 of a small config was
// ~0.2 ms cold, this is a few hundredths). src/system/fnv1a64.test.ts checks it against a BigInt
// reference and the published test vectors.

/** FNV-1a 64 of `data` (a string is hashed as UTF-8), as 16 lower-case hex digits. */
export function fnv1a64Hex(data: string | Uint8Array): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  // The 64-bit state as four 16-bit limbs, least significant first (offset basis 0xcbf29ce484222325).
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i]!;
    // Multiply by the FNV prime 0x100000001b3 = 0x1b3 + (0x100 << 32), modulo 2^64.
    let t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + (h0 << 8);
    let t3 = h3 * 0x1b3 + (h1 << 8);
    t1 += t0 >>> 16;
    h0 = t0 & 0xffff;
    t2 += t1 >>> 16;
    h1 = t1 & 0xffff;
    t3 += t2 >>> 16;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  const hex = (x: number) => x.toString(16).padStart(4, '0');
  return hex(h3) + hex(h2) + hex(h1) + hex(h0);
}
