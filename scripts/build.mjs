// Bundles the engine into one executable file, dist/kindling: ncc (webpack) inlines every
// dependency; the file gets a shebang, the run bit, and a V8 code cache for the bundle. Static
// imports (and `import()` with webpackMode "eager") only, so no chunk files appear. An eager
// `import()` is also how a module stays out of start-up: its code is in the file but runs only when
// the import is reached (commands, stages, providers, the HTTP stack; docs/startup.md).
//
// The file (docs/startup.md, "One file with its own code cache"):
//   #!/usr/bin/env -S node -e '<read this file into b; eval line 2>'
//   ///*kindling-bundle 2*/{<the loader, on one line, with offsets>}
//   <line 1's code again, for `node dist/kindling`>
//   /*(function (exports, require, module, __filename, __dirname) {<bundle>\n})<V8 code cache>*/
// Run as a program, the kernel starts `env -S node -e CODE FILE ARGS`: node never parses the file.
// The inline code reads it into one Buffer and evals line 2, which slices the bundle source out of
// it and hands V8 the raw cache bytes beside it as vm.Script's cachedData, so V8 deserialises
// bytecode instead of parsing 0.4 MB. Node's own main-module path (read as UTF-8, a second copy
// as a string, scan) and a base64 cache cost ~400 page faults more per start, the largest item
// left of start-up in this VM. Run as `node dist/kindling` (tests, a node flag), node parses the
// file: line 3 does what line 1 does, and the rest is one comment; each "*/" in the payload (in
// the bundle's strings, and wherever the cache bytes happen to hold one) is stored as "*" NUL at
// an offset line 2 lists, and put back before use. A cache V8 rejects (another node version, any
// V8 flag) only costs that time back: the source is then compiled as usual. The bundle text is
// made pure ASCII (\uXXXX escapes), so that its bytes are its characters.
// The cache comes from running the bundle at build time (scripts/code-cache.cjs) on the commands
// whose start-up matters: --version, validate, and a fetch-offline of a fw_cfg config into a
// scratch directory, as bench/startup.mjs measures them. It is made by the node that runs this
// build, and used only by the same node version.
// Usage: node scripts/build.mjs [--out PATH] [--no-code-cache]   (default dist/kindling)
// Types are checked by `tsc --noEmit` (scripts/test.sh); the bundler only transpiles, which is
// faster and lets a half-finished file elsewhere in the tree not block a build.
import ncc from '@vercel/ncc';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STARTUP_CONFIG, fwCfgSandbox } from './sandbox.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const out = outArg !== -1 ? resolve(process.argv[outArg + 1]) : join(root, 'dist/kindling');

// A .cjs entry makes ncc emit CommonJS, which node runs from an extensionless file anywhere.
const { code, assets } = await ncc(join(root, 'scripts/entry.cjs'), {
  minify: true,
  sourceMap: false,
  quiet: true,
  target: 'es2022',
  transpileOnly: true,
});
// Assets would break "one file" (pino's transport workers were such assets until the logger
// stopped using pino); fail the build so that nobody ships a partial bundle.
const extra = Object.keys(assets ?? {});
if (extra.length) {
  console.error('build: unexpected extra assets:', extra.join(', '));
  process.exit(1);
}
mkdirSync(dirname(out), { recursive: true });
const body = code.startsWith('#!') ? code.slice(code.indexOf('\n') + 1) : code;

// Pure ASCII, so that the loader can take the source's bytes as its characters (latin1Slice):
// non-ASCII characters (a few: "µs", "…" in strings, regular expressions and template literals)
// become \uXXXX escapes, which mean the same there. Only a raw template (String.raw, which the
// bundle does not use) would see the escape itself.
if (/\\[^\x00-\x7f]/.test(body)) {
  // "\µ" would become "\\u00b5", an escaped backslash: refuse rather than change the meaning.
  console.error('build: a backslash before a non-ASCII character; cannot make the bundle ASCII');
  process.exit(1);
}
const ascii = body.replace(/[^\x00-\x7f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
// Node 20's CommonJS wrapper (Module.wrap), so the bundle sees exactly what a main module sees.
const source = `(function (exports, require, module, __filename, __dirname) {${ascii}\n})`;
// The script is named "kindling" wherever the file lies, and positioned where the bundle starts in
// the file (line 4, after "/*"), so stack traces give lines and columns of the file. V8 keeps the
// name and offsets the cache was made with (V8 11), so they must not depend on the path.
const SCRIPT_NAME = 'kindling';
const LINE_OFFSET = 3;
const COLUMN_OFFSET = 2;
// Lines 1 and 3: read the file (`f`) into `b` and eval line 2 (after its "//"). Line 1 goes through
// env -S inside single quotes: no single quote, backslash or "$" in it; with the interpreter it
// must stay under the kernel's 256-byte limit for a #! line.
const READ_AND_EVAL = 'b=require("fs").readFileSync(f),i=b.indexOf(10);eval(b.latin1Slice(i+3,b.indexOf(10,i+1)))';
const LINE1 = `#!/usr/bin/env -S node -e 'const f=process.argv[1],${READ_AND_EVAL}'`;
const LINE3 = `const f=__filename,${READ_AND_EVAL};`;
if (LINE1.length > 200 || /['\\$]/.test(READ_AND_EVAL)) throw new Error('build: #! line too long or not safe for env -S');

const withCache = !process.argv.includes('--no-code-cache');
const cache = withCache ? makeCodeCache(source) : Buffer.alloc(0);
writeFileSync(out, assemble(source, cache));
chmodSync(out, 0o755);
// Inside this repository the root package.json says "type": "module"; the bundle is CommonJS.
// (In the initramfs the file stands alone and node's default, CommonJS, applies.)
writeFileSync(join(dirname(out), 'package.json'), '{ "type": "commonjs" }\n');
if (withCache) {
  // The cache was made by this node a moment ago: V8 must take it, run as a program (env -S node
  // -e) and as `node FILE`, or the format is broken.
  for (const [cmd, args] of [[out, ['--version']], [process.execPath, [out, '--version']]]) {
    const run = spawnSync(cmd, args, { env: { PATH: process.env.PATH, KINDLING_DEBUG_CODE_CACHE: '1' }, encoding: 'utf8' });
    const said = `${run.stderr}`;
    if (run.status !== 0 || !said.includes('code cache accepted')) {
      console.error(`build: ${[cmd, ...args].join(' ')} does not use its own code cache: ${said.trim()}`);
      process.exit(1);
    }
  }
}
console.log(`built ${out} (${(body.length / 1024).toFixed(0)} KiB bundle, ${(cache.length / 1024).toFixed(0)} KiB code cache)`);

/**
 * Line 2: the loader, evaluated where `f` (the file's path) and `b` (its bytes) are defined.
 * Offsets are padded to a fixed width, so that its length does not depend on them; `p` lists the
 * payload offsets of the "/" of each star-slash stored as NUL.
 */
function loaderLine(o, patches) {
  const n = (x) => String(x).padStart(10, ' ');
  return (
    `///*kindling-bundle 2*/{const o=[${n(o.s0)},${n(o.s1)},${n(o.c0)},${n(o.c1)}],p=[${patches.join(',')}];` +
    `for(const x of p)b[o[0]+x]=47;` +
    `const path=require("path"),file=path.resolve(f),has=o[3]>o[2],use=has&&process.env.KINDLING_CODE_CACHE!=="0";` +
    `const s=new(require("vm").Script)(b.latin1Slice(o[0],o[1]),{filename:${JSON.stringify(SCRIPT_NAME)},lineOffset:${LINE_OFFSET},columnOffset:${COLUMN_OFFSET},cachedData:use?b.subarray(o[2],o[3]):undefined});` +
    `if(process.env.KINDLING_DEBUG_CODE_CACHE)require("fs").writeSync(2,"kindling: code cache "+(!has?"absent":!use?"disabled":s.cachedDataRejected?"rejected":"accepted")+"\\n");` +
    `process.argv[1]=file;s.runInThisContext()(module.exports,require,module,file,path.dirname(file))}`
  );
}

/** The file: three header lines, then the bundle source and the raw cache in one comment. */
function assemble(src, cache) {
  const payload = Buffer.concat([Buffer.from(src, 'latin1'), cache]);
  const patches = [];
  for (let i = payload.indexOf('*/'); i !== -1; i = payload.indexOf('*/', i + 1)) {
    patches.push(i + 1);
    payload[i + 1] = 0;
  }
  const head = (o) => `${LINE1}\n${loaderLine(o, patches)}\n${LINE3}\n/*`;
  const s0 = head({ s0: 0, s1: 0, c0: 0, c1: 0 }).length;
  const o = { s0, s1: s0 + src.length, c0: s0 + src.length, c1: s0 + payload.length };
  const text = head(o);
  if (text.length !== s0 || text.split('\n').length - 1 !== LINE_OFFSET) throw new Error('build: header length changed');
  return Buffer.concat([Buffer.from(text, 'latin1'), payload, Buffer.from('*/\n')]);
}

/** Runs the bundle on the warm-up commands in a scratch directory and returns V8's code cache. */
function makeCodeCache(src) {
  const work = mkdtempSync(join(tmpdir(), 'kindling-build-'));
  try {
    const sourceFile = join(work, 'kindling.js');
    const cacheFile = join(work, 'kindling.cache');
    writeFileSync(sourceFile, src, 'latin1');
    // The config bench/startup.mjs measures; the fw_cfg directory stands in for
    // /sys/firmware/qemu_fw_cfg, and every system path points into the scratch directory.
    const config = STARTUP_CONFIG;
    const small = join(work, 'small.ign');
    writeFileSync(small, config);
    const { env, args: stage } = fwCfgSandbox(work, config);
    for (const args of [stage, ['--version'], ['validate', small]]) {
      execFileSync(process.execPath, [join(root, 'scripts/code-cache.cjs'), sourceFile, cacheFile, SCRIPT_NAME, String(LINE_OFFSET), String(COLUMN_OFFSET), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    }
    return readFileSync(cacheFile);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
