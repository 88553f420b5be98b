// Bundles the engine into one executable file, dist/kindling: ncc (webpack) inlines every
// dependency, we add the shebang and the run bit. Static imports (and `import()` with
// webpackMode "eager") only, so no chunk files appear. An eager `import()` is also how a module
// stays out of start-up: its code is in the file but runs only when the import is reached
// (commands, stages, execa, the HTTP stack; docs/startup.md).
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
// Assets would break "one file" (pino's transport workers were such assets until the logger
// stopped using pino); fail the build so that nobody ships a partial bundle.
const extra = Object.keys(assets ?? {});
if (extra.length) {
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
