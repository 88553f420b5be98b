// Bundles the engine into one executable file, dist/kindling: ncc (webpack) inlines every
// dependency, we add the shebang and the run bit. Static imports only, so no chunk files appear.
import ncc from '@vercel/ncc';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { code, assets } = await ncc(join(root, 'scripts/entry.cjs'), {
  minify: true,
  sourceMap: false,
  quiet: true,
  target: 'es2022',
  externals: [],
});
mkdirSync(join(root, 'dist'), { recursive: true });
const out = join(root, 'dist/kindling');
const body = code.startsWith('#!') ? code.slice(code.indexOf('\n') + 1) : code;
writeFileSync(out, '#!/usr/bin/env node\n' + body);
chmodSync(out, 0o755);
// Inside this repository the root package.json says "type": "module"; the bundle is CommonJS.
// (In the initramfs the file stands alone and node's default, CommonJS, applies.)
writeFileSync(join(root, 'dist/package.json'), '{ "type": "commonjs" }\n');
const extra = Object.keys(assets ?? {});
if (extra.length) {
  // Extra assets would break "one file"; fail the build so that nobody ships a partial bundle.
  console.error('build: unexpected extra assets:', extra.join(', '));
  process.exit(1);
}
console.log(`built ${out} (${(body.length / 1024).toFixed(0)} KiB)`);
