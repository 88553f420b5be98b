// Bundles the engine into one executable file, dist/kindling: ncc (webpack) inlines every
// dependency; the file gets a shebang, the run bit, and a V8 code cache for the bundle. Static
// imports (and `import()` with webpackMode "eager") only, so no chunk files appear. An eager
// `import()` is also how a module stays out of start-up: its code is in the file but runs only when
// the import is reached (commands, stages, providers, the HTTP stack; docs/startup.md).
//
// The file (docs/startup.md, "One file with its own code cache"):
//   #!/usr/bin/env node
//   //kindling-bundle 1 <source start> <source end> <cache start> <cache end> <escaped>
//   a loader of ~15 lines
//   /*(function (exports, require, module, __filename, __dirname) {<bundle>\n})*/
//   /*<V8 code cache, base64>*/
// node compiles only the loader: the rest is comments, which V8 skips without parsing. The loader
// reads its own file, slices the bundle source and the cache out of it (byte offsets from the
// line above, which dracut-module/kindling-loader.cjs also reads) and compiles the source with
// vm.Script's cachedData, so V8 deserialises bytecode instead of parsing 0.4 MB. A cache V8
// rejects (another node version, any V8 flag on the command line) only costs that time back: the
// source is then compiled as usual. The bundle text is made pure ASCII (\uXXXX escapes, so that
// byte offsets are string offsets), and each "*/" in it (inside strings) is stored as "*" NUL,
// restored by the loader, so that it cannot end the comment.
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
import { fwCfgSandbox } from './sandbox.mjs';

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

// Pure ASCII, so that the file is a one-byte string for V8 and byte offsets are string offsets:
// non-ASCII characters (a few: "µs", "…" in strings, regular expressions and template literals)
// become \uXXXX escapes, which mean the same there. Only a raw template (String.raw, which the
// bundle does not use) would see the escape itself.
if (/\\[^\x00-\x7f]/.test(body)) {
  // "\µ" would become "\\u00b5", an escaped backslash: refuse rather than change the meaning.
  console.error('build: a backslash before a non-ASCII character; cannot make the bundle ASCII');
  process.exit(1);
}
const ascii = body.replace(/[^\x00-\x7f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
if (ascii.includes('\0')) {
  console.error('build: the bundle contains a NUL character, which the file format reserves');
  process.exit(1);
}
// Node 20's CommonJS wrapper (Module.wrap), so the bundle sees exactly what a main module sees.
const source = `(function (exports, require, module, __filename, __dirname) {${ascii}\n})`;
const BUNDLE_OPEN = 'function kindlingBundle() {/*';
const BUNDLE_CLOSE = '*/}\n';
const CACHE_OPEN = 'function kindlingCodeCache() {/*';
const CACHE_CLOSE = '*/}\n';
// The bundle starts on the header's last line, after BUNDLE_OPEN: with these offsets stack traces
// give lines and columns of the file. The script is named "kindling" wherever the file lies: V8
// keeps the name and offsets the cache was made with (V8 11), so they must not depend on the path.
const SCRIPT_NAME = 'kindling';
const COLUMN_OFFSET = BUNDLE_OPEN.length;
const HEADER_LINES = header({ s0: 0, s1: 0, c0: 0, c1: 0, lines: 0 }).split('\n').length - 1;

const escaped = source.replaceAll('*/', '*\0');
const withCache = !process.argv.includes('--no-code-cache');
const cache = withCache ? makeCodeCache(source) : Buffer.alloc(0);
writeFileSync(out, assemble(escaped, cache.toString('base64')));
chmodSync(out, 0o755);
// Inside this repository the root package.json says "type": "module"; the bundle is CommonJS.
// (In the initramfs the file stands alone and node's default, CommonJS, applies.)
writeFileSync(join(dirname(out), 'package.json'), '{ "type": "commonjs" }\n');
if (withCache) {
  // The cache was made by this node a moment ago: V8 must take it, or the format is broken.
  const run = spawnSync(process.execPath, [out, '--version'], { env: { PATH: process.env.PATH, KINDLING_DEBUG_CODE_CACHE: '1' }, encoding: 'utf8' });
  const said = `${run.stderr}`;
  if (!said.includes('code cache accepted')) {
    console.error(`build: ${out} does not use its own code cache: ${said.trim()}`);
    process.exit(1);
  }
}
console.log(`built ${out} (${(body.length / 1024).toFixed(0)} KiB bundle, ${(cache.length / 1024).toFixed(0)} KiB code cache)`);

/**
 * Everything before the bundle: shebang, offsets line, loader, the bundle function's opening.
 * Numbers are padded to a fixed width, so its length (and line count) does not depend on them.
 */
function header(o) {
  const n = (x) => String(x).padStart(10, ' ');
  return `#!/usr/bin/env node
//kindling-bundle 1 ${n(o.s0)} ${n(o.s1)} ${n(o.c0)} ${n(o.c1)} ${o.esc ? 1 : 0}
'use strict';
// One file: this loader, the bundle, a V8 code cache for it (scripts/build.mjs; docs/startup.md).
// The bundle and the cache (base64) are comments inside two functions that are never called:
// node parses only this loader, and toString() gives their text back without reading the file
// again. KINDLING_CODE_CACHE=0 compiles without the cache; KINDLING_DEBUG_CODE_CACHE=1 says on
// stderr whether V8 took it (it refuses a cache made by another node version or with other flags).
{
  const text = (f) => {
    const s = Function.prototype.toString.call(f);
    return s.slice(s.indexOf('/*') + 2, s.length - 3);
  };
  let source = text(kindlingBundle);
  if (${o.esc ? ' true' : 'false'}) source = source.replaceAll('*\\0', '*/');
  const has = ${n(o.c1)} > ${n(o.c0)};
  const use = has && process.env.KINDLING_CODE_CACHE !== '0';
  const cachedData = use ? Buffer.from(text(kindlingCodeCache), 'base64') : undefined;
  const script = new (require('vm').Script)(source, { filename: ${JSON.stringify(SCRIPT_NAME)}, lineOffset: ${n(o.lines)}, columnOffset: ${COLUMN_OFFSET}, cachedData });
  if (process.env.KINDLING_DEBUG_CODE_CACHE) {
    require('fs').writeSync(2, \`kindling: code cache \${!has ? 'absent' : !use ? 'disabled' : script.cachedDataRejected ? 'rejected' : 'accepted'}\\n\`);
  }
  script.runInThisContext()(exports, require, module, __filename, __dirname);
}
${BUNDLE_OPEN}`;
}

/** The file: header, the (escaped) source in a comment, the base64 cache in a comment. */
function assemble(esc, b64) {
  const probe = header({ s0: 0, s1: 0, c0: 0, c1: 0, lines: HEADER_LINES });
  const s0 = probe.length;
  const s1 = s0 + esc.length;
  const c0 = s1 + BUNDLE_CLOSE.length + CACHE_OPEN.length;
  const c1 = c0 + b64.length;
  const head = header({ s0, s1, c0, c1, lines: HEADER_LINES, esc: esc !== source });
  if (head.length !== probe.length) throw new Error('build: header length changed');
  return head + esc + BUNDLE_CLOSE + CACHE_OPEN + b64 + CACHE_CLOSE;
}

/** Runs the bundle on the warm-up commands in a scratch directory and returns V8's code cache. */
function makeCodeCache(src) {
  const work = mkdtempSync(join(tmpdir(), 'kindling-build-'));
  try {
    const sourceFile = join(work, 'kindling.js');
    const cacheFile = join(work, 'kindling.cache');
    writeFileSync(sourceFile, src, 'latin1');
    // The same config bench/startup.mjs uses; the fw_cfg directory stands in for
    // /sys/firmware/qemu_fw_cfg, and every system path points into the scratch directory.
    const config = JSON.stringify({
      ignition: { version: '3.3.0' },
      passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBuild build'] }] },
      storage: { files: [{ path: '/etc/hostname', mode: 420, contents: { source: 'data:,node1' } }] },
      systemd: { units: [{ name: 'docker.service', enabled: true }] },
    });
    const small = join(work, 'small.ign');
    writeFileSync(small, config);
    const { env, args: stage } = fwCfgSandbox(work, config);
    for (const args of [stage, ['--version'], ['validate', small]]) {
      execFileSync(process.execPath, [join(root, 'scripts/code-cache.cjs'), sourceFile, cacheFile, SCRIPT_NAME, String(HEADER_LINES), String(COLUMN_OFFSET), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    }
    return readFileSync(cacheFile);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
