// Unit and drop-in contents are checked the way go-systemd's deserializer reads them; this pins the
// corner cases found by the generated suite against ignition-validate itself: text before the first
// "[" is skipped (comments hide a "["), a line without "=" inside a section is an error that names
// what followed it (a newline, or the end of the text: "EOF").
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { KindlingError } from '../../../src/errors.js';
import { IGNITION_VALIDATE, judgeFiles } from './oracle.js';

const TEXTS = [
  'not a unit',
  'x',
  'Key=value\n[Service]\n',
  'foo\n[Service]\nA=b\n',
  'a b c\n',
  '[Service]\nfoo\n',
  '[Service]\nfoo',
  '#c\nx=1\n[Unit]\n',
  '# [x\nfoo',
  'foo ; [Unit\n[Unit]\nA=1',
  '[Unit]\nA=1\n\n[Service]\nB',
  '[Service]\n  \nfoo\n\n',
  '[Unit\nA=b',
  '[Service]\nExecStart=/bin/true \\\n  --flag\n',
  '[Service]\nExecStart=/bin/true \\',
  '[]\n',
];

function kindlingVerdict(text: string): string {
  try {
    parseConfig(text);
    return 'valid';
  } catch (e) {
    if (!(e instanceof KindlingError)) throw e;
    const err = e.entries.find((x) => x.kind === 'error');
    return `invalid: ${err?.message ?? e.message}`;
  }
}

describe.skipIf(!existsSync(IGNITION_VALIDATE))('unit contents: Kindling vs ignition-validate', () => {
  test('same verdict and message for every corner case, in units and drop-ins', async () => {
    const configs = TEXTS.flatMap((t) => [
      JSON.stringify({ ignition: { version: '3.3.0' }, systemd: { units: [{ name: 'a.service', contents: t }] } }),
      JSON.stringify({ ignition: { version: '3.0.0' }, systemd: { units: [{ name: 'a.service', dropins: [{ name: 'a.conf', contents: t }] }] } }),
    ]);
    const oracle = await judgeFiles(IGNITION_VALIDATE, [], configs, 2);
    const ignition = oracle.map((v) => (v.valid ? 'valid' : `invalid: ${v.output.trim().split(': ').slice(1).join(': ')}`));
    expect(configs.map(kindlingVerdict)).toEqual(ignition);
  });
});
