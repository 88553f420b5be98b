// Makes the V8 code cache that scripts/build.mjs embeds in dist/kindling (docs/startup.md).
//   node scripts/code-cache.cjs SOURCE CACHE NAME LINE_OFFSET COLUMN_OFFSET [ARGS...]
// compiles SOURCE (the wrapped bundle, exactly the text dist/kindling's loader will compile) the
// way the loader does (same script name and offsets: V8 keeps those of the run that made the
// cache), runs it as the main program with ARGS, and at exit writes everything V8
// compiled (top level, and every function the run called) to CACHE. When CACHE exists it is
// consumed first and written back with what this run added, so several runs accumulate.
'use strict';
const fs = require('fs');
const vm = require('vm');

const [sourceFile, cacheFile, name, lineOffset, columnOffset] = process.argv.splice(2, 5);
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  // first run: nothing to extend
}
const source = fs.readFileSync(sourceFile, 'latin1');
const script = new vm.Script(source, { filename: name, lineOffset: Number(lineOffset), columnOffset: Number(columnOffset), cachedData });
if (cachedData && script.cachedDataRejected) {
  process.stderr.write(`code-cache: V8 rejected ${cacheFile}, made by this very node a moment ago\n`);
  process.exit(70);
}
process.on('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
// Run it as dist/kindling's loader does: as the main module itself.
script.runInThisContext()(exports, require, module, __filename, __dirname);
