// Bundles the engine into one executable file, dist/kindling: ncc (webpack) inlines every
// dependency, we add the shebang and the run bit. Static imports (and `import()` with
// webpackMode "eager") only, so no chunk files appear.
// Usage: node scripts/build.mjs [--out PATH]   (default dist/kindling)
// Types are checked by `tsc --noEmit` (scripts/test.sh); the bundler only transpiles, which is
// faster and lets a half-finished file elsewhere in the tree not block a build.
import ncc from '@vercel/ncc';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
// pino's transport workers (thread-stream's worker.js, pino's lib/worker.js and file.js) come along
// with pino but are never loaded: the logger writes through pino.destination, not transports.
const PINO_TRANSPORT_ASSETS = new Set(['worker.js', 'worker1.js', 'file.js']);
const extra = Object.keys(assets ?? {}).filter((a) => !PINO_TRANSPORT_ASSETS.has(a));
if (extra.length) {
  // Extra assets would break "one file"; fail the build so that nobody ships a partial bundle.
  console.error('build: unexpected extra assets:', extra.join(', '));
  process.exit(1);
}
mkdirSync(dirname(out), { recursive: true });
const body = code.startsWith('#!') ? code.slice(code.indexOf('\n') + 1) : code;
writeFileSync(out, '#!/usr/bin/env node\n' + body);
chmodSync(out, 0o755);
// Inside this repository the root package.json says "type": "module"; the bundle is CommonJS.
// (In the initramfs the file stands alone and node's default, CommonJS, applies.)
writeFileSync(join(dirname(out), 'package.json'), '{ "type": "commonjs" }\n');
console.log(`built ${out} (${(body.length / 1024).toFixed(0)} KiB)`);
