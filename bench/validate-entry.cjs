// A minimal "validate FILE" around parseConfig alone, bundled by bench/validate.mjs with ncc, so
// the config engine can be measured apart from the CLI (exit 0 valid, 1 invalid).
const { readFileSync } = require('node:fs');
const { parseConfig } = require('../src/config/index.ts');
try {
  parseConfig(readFileSync(process.argv[2]));
  process.exitCode = 0;
} catch (e) {
  process.stderr.write(String(e && e.message) + '\n');
  process.exitCode = 1;
}
