#!/usr/bin/env node
// /usr/bin/kindling in the initramfs: runs the bundle (/usr/lib/kindling/kindling.js) through a
// V8 code cache made at initramfs build time by the same node binary. Under QEMU TCG every stage
// is a fresh node process and compiling the 0.6 MB bundle was half of a stage's start-up cost;
// with the cache it is mostly gone (docs/boot.md). A cache V8 rejects (another node, other
// flags) only costs that time back: the bundle is then compiled as usual. Without a cache file it
// uses the one dist/kindling carries (made by the node that built it).
// Build time: KINDLING_BUNDLE=... node kindling-loader.cjs --make-cache ARGS runs ARGS (module-
// setup.sh runs a dry-run `plan` that touches every stage's code, then a fetch-offline of the same
// config from the file platform into a scratch directory) and writes BUNDLE.cache at exit.
'use strict';
const fs = require('fs');
const vm = require('vm');
const Module = require('module');
const path = require('path');

const file = process.env.KINDLING_BUNDLE || '/usr/lib/kindling/kindling.js';
const cacheFile = file + '.cache';
const make = process.argv[2] === '--make-cache';
if (make) process.argv.splice(2, 1);

// With --make-cache an existing cache is read too: V8 then writes back what it had plus what this
// run compiled, so several warm-up runs add up.
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  // no cache file: the bundle's own (below), else compile as usual
}
const raw = fs.readFileSync(file);
let source;
let options;
// dist/kindling (scripts/build.mjs): its second line gives the byte offsets of the wrapped bundle
// source and of its raw code cache in the file, and where a "/" of a star-slash is stored as NUL
// (payload offsets). The script name and offsets are the ones the file's own loader uses, so that
// its cache also fits here (V8 keeps those of the run that made a cache).
const head = raw.toString('latin1', 0, Math.min(raw.length, 65536));
const m = /\n\/\/\/\*kindling-bundle 2\*\/\{const o=\[ *(\d+), *(\d+), *(\d+), *(\d+)\],p=\[([\d,]*)\];/.exec(head);
if (m) {
  const [s0, s1, c0, c1] = m.slice(1, 5).map(Number);
  for (const x of m[5] ? m[5].split(',').map(Number) : []) raw[s0 + x] = 0x2f;
  source = raw.toString('latin1', s0, s1);
  if (!cachedData && c1 > c0) cachedData = raw.subarray(c0, c1);
  const before = raw.toString('latin1', 0, s0);
  const lineOffset = before.split('\n').length - 1;
  options = { filename: 'kindling', lineOffset, columnOffset: s0 - (before.lastIndexOf('\n') + 1), cachedData };
} else {
  // A plain bundle (older builds): it starts with a #! line, which is only valid at the very start
  // of a script: make it a comment (same length, so positions in stack traces stay right).
  source = raw.toString('utf8');
  if (source.startsWith('#!')) source = '//' + source.slice(2);
  source = Module.wrap(source);
  options = { filename: file, cachedData };
}
const script = new vm.Script(source, options);
if (cachedData && script.cachedDataRejected) process.stderr.write(`kindling: code cache ${cacheFile} rejected by V8\n`);
if (make) process.on('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));

// Run it as node would run a CommonJS main module.
const mod = new Module(file, null);
mod.filename = file;
mod.paths = [];
process.mainModule = mod;
script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
