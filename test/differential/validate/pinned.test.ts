// Cases the generated suite found and the config engine fixed, pinned against ignition-validate:
// same verdict, and every error line Kindling prints is one Ignition prints (path and message;
// line/column left out). Ignition 2.14 repeats a config reference's bad-scheme error at the entry
// itself for specs 3.1+ ("...merge.0: invalid url scheme"); Kindling reports it once, at .source.
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { KindlingError } from '../../../src/errors.js';
import { IGNITION_VALIDATE, judgeFiles } from './oracle.js';

const HASH = 'sha512-' + 'a'.repeat(128);
const cfg = (version: string, rest: object): string => JSON.stringify({ ignition: { version, ...rest } });
const luks = (version: string, clevis: object): string =>
  JSON.stringify({ ignition: { version }, storage: { luks: [{ name: 'cl', device: '/dev/x', clevis }] } });
const CLEVIS = [
  { custom: { pin: 'nope', config: '{}' } },
  { custom: { pin: 'nope' } },
  { custom: { pin: 'tpm2' } },
  { custom: { pin: '', config: '{}' } },
  { custom: { config: '{}' } },
  { custom: { needsNetwork: true } },
  { custom: { pin: '', config: '' } },
  { custom: { pin: 'TPM2', config: '{}' } },
  { custom: { pin: 'sss', config: '{}' } },
];
const CASES = [
  // custom clevis pins: tpm2/tang/sss only; 3.2 and 3.3 differ on empty pins and needsNetwork alone
  ...['3.2.0', '3.3.0'].flatMap((v) => CLEVIS.map((c) => luks(v, c))),
  // gs:// exists from spec 3.2, arn: from 3.4
  ...['3.0.0', '3.1.0', '3.2.0', '3.3.0'].flatMap((v) => [cfg(v, { config: { merge: [{ source: 'gs://bucket/obj' }] } }), cfg(v, { config: { merge: [{ source: 'arn:aws:s3:::bucket/key' }] } })]),
  // config references: source optional in 3.0, required from 3.1; a 3.0 CA source is a plain string
  ...['3.0.0', '3.1.0', '3.3.0'].flatMap((v) => [
    cfg(v, { config: { merge: [{}] } }),
    cfg(v, { config: { merge: [{ source: null }] } }),
    cfg(v, { config: { replace: {} } }),
    cfg(v, { security: { tls: { certificateAuthorities: [{}] } } }),
    cfg(v, { security: { tls: { certificateAuthorities: [{ source: '' }] } } }),
    // "verification needs a source": files always, config/CA references only from 3.1
    cfg(v, { config: { merge: [{ verification: { hash: HASH } }] } }),
    cfg(v, { config: { replace: { verification: { hash: HASH } } } }),
    cfg(v, { security: { tls: { certificateAuthorities: [{ verification: { hash: HASH } }] } } }),
    JSON.stringify({ ignition: { version: v }, storage: { files: [{ path: '/a', contents: { verification: { hash: HASH } } }] } }),
    // merge entries and CAs are keyed by source (a missing source is the key "")
    cfg(v, { config: { merge: [{ source: 'http://a/b' }, { source: 'http://a/b' }] } }),
    cfg(v, { config: { merge: [{}, {}] } }),
    cfg(v, { security: { tls: { certificateAuthorities: [{}, {}] } } }),
  ]),
];

function errorLines(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('error'))
    .map((l) => l.replace(/, line \d+ col \d+/, ''))
    .sort();
}

function kindling(text: string): { valid: boolean; lines: string[] } {
  try {
    parseConfig(text);
    return { valid: true, lines: [] };
  } catch (e) {
    if (!(e instanceof KindlingError)) throw e;
    const lines = e.entries
      .filter((x) => x.kind === 'error')
      .map((x) => `error at $${(x.location?.pointer ?? '').split('/').slice(1).map((p) => '.' + p).join('')}: ${x.message}`);
    return { valid: false, lines: lines.sort() };
  }
}

describe.skipIf(!existsSync(IGNITION_VALIDATE))('pinned cases: Kindling vs ignition-validate', () => {
  test('same verdict and same error lines', async () => {
    const oracle = await judgeFiles(IGNITION_VALIDATE, [], CASES, 2);
    const got = CASES.map((t) => ({ t, ...kindling(t) }));
    expect(got.map(({ t, valid }) => ({ t, valid }))).toEqual(CASES.map((t, i) => ({ t, valid: oracle[i].valid })));
    got.forEach(({ t, valid, lines }, i) => {
      if (!valid) expect(lines.length, t).toBeGreaterThan(0);
      for (const line of lines) expect(errorLines(oracle[i].output), t).toContain(line);
    });
  });
});
