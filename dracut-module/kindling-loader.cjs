#!/usr/bin/env node
// /usr/bin/kindling in the initramfs: runs the bundle (/usr/lib/kindling/kindling.js) through a
// V8 code cache made at initramfs build time by the same node binary. Under QEMU TCG every stage
// is a fresh node process and compiling the 0.6 MB bundle was half of a stage's start-up cost;
// with the cache it is mostly gone (docs/boot.md). A cache V8 rejects (another node, other
// flags) only costs that time back: the bundle is then compiled as usual.
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
  // no cache: compile as usual
}
// The bundle starts with a #! line, which is only valid at the very start of a script: make it a
// comment (same length, so positions in stack traces stay right).
let source = fs.readFileSync(file, 'utf8');
if (source.startsWith('#!')) source = '//' + source.slice(2);
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
if (cachedData && script.cachedDataRejected) process.stderr.write(`kindling: code cache ${cacheFile} rejected by V8\n`);
if (make) process.on('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));

// Run it as node would run a CommonJS main module.
const mod = new Module(file, null);
mod.filename = file;
mod.paths = [];
process.mainModule = mod;
script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
