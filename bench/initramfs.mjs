#!/usr/bin/env node
// What Kindling adds to an initramfs, next to what Debian's Ignition 2.14 module adds: builds the
// three flavours of qemu/initramfs.sh (base, base+kindling, base+ignition) for the same kernel
// and prints their zstd sizes, the differences, and the biggest files each engine brings.
// Usage: node bench/initramfs.mjs [--reuse]   (--reuse: keep images already in .cache/bench)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(repo, '.cache', 'bench');
mkdirSync(work, { recursive: true });
const reuse = process.argv.includes('--reuse');

function build(flavour) {
  const out = join(work, `${flavour}.initramfs.img`);
  if (!(reuse && existsSync(out))) {
    const args = [flavour, out];
    if (flavour === 'kindling' && process.env.KINDLING_BIN) args.push('--kindling-bin', process.env.KINDLING_BIN);
    const t0 = Date.now();
    execFileSync(join(repo, 'qemu', 'initramfs.sh'), args, { stdio: ['ignore', 'ignore', 'inherit'] });
    console.log(`built ${flavour} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return out;
}

/** path -> unpacked size, from lsinitrd's listing. */
function listing(img) {
  const files = new Map();
  for (const line of execFileSync('lsinitrd', [img], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 9 && /^[-l]/.test(f[0])) files.set(f.slice(8).join(' ').replace(/ -> .*/, ''), Number(f[4]));
  }
  return files;
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
const imgs = Object.fromEntries(['base', 'kindling', 'ignition'].map((f) => [f, build(f)]));
const size = Object.fromEntries(Object.entries(imgs).map(([f, p]) => [f, statSync(p).size]));
const lists = Object.fromEntries(Object.entries(imgs).map(([f, p]) => [f, listing(p)]));
const unpacked = (l) => [...l.values()].reduce((a, b) => a + b, 0);

console.log('\ninitramfs (zstd, as dracut writes it; unpacked = sum of file sizes)');
console.log('flavour     compressed   unpacked   added over base (compressed / unpacked)');
for (const f of ['base', 'kindling', 'ignition']) {
  const add = f === 'base' ? '' : `${mb(size[f] - size.base)} / ${mb(unpacked(lists[f]) - unpacked(lists.base))}`;
  console.log(`${f.padEnd(10)}  ${mb(size[f]).padStart(9)}  ${mb(unpacked(lists[f])).padStart(9)}   ${add}`);
}
console.log(`kindling / ignition, compressed: ${(size.kindling / size.ignition).toFixed(2)}x; added bytes ratio: ${((size.kindling - size.base) / (size.ignition - size.base)).toFixed(2)}x`);

for (const f of ['kindling', 'ignition']) {
  const extra = [...lists[f]].filter(([p]) => !lists.base.has(p)).sort((a, b) => b[1] - a[1]);
  console.log(`\nlargest files ${f} adds (unpacked):`);
  for (const [p, n] of extra.slice(0, 8)) console.log(`  ${mb(n).padStart(8)}  ${p}`);
  console.log(`  (${extra.length} files in all)`);
}
