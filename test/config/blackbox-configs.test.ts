// Every config of Ignition's blackbox suite (blackbox.json, 189 end-to-end cases) run through
// parseConfig at every spec version the case is registered for:
//  - the 3 cases marked configShouldBeBad with kind negative must be rejected;
//  - every other case's config must be accepted (the upstream harness itself checks that those
//    configs parse before running Ignition).
// Placeholders are filled as the corpus README says: $version, $uuidN, mntDevices substitutions,
// $diskN, {{server:id}}.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KindlingError } from '../../src/errors.js';
import { parseConfig } from '../../src/config/index.js';

interface BlackboxCase {
  name: string;
  kind: 'positive' | 'negative';
  config: string;
  configShouldBeBad: boolean;
  registeredVersions: string[] | null;
  mntDevices: { label: string; substitution: string }[] | null;
  in: unknown[];
}

const here = dirname(fileURLToPath(import.meta.url));
const candidates = [
  '/work/shared/conformance/ignition/blackbox.json',
  join(here, '../conformance/fixtures/ignition/blackbox.json'),
];
const file = candidates.find((f) => existsSync(f));

function fill(c: BlackboxCase, version: string): string {
  let text = c.config.replaceAll('$version', version);
  text = text.replace(/\$uuid(\d+)/g, (_m, n: string) => `8a7a6e26-5e8f-4cca-a654-46215${n.padStart(7, '0')}`);
  (c.mntDevices ?? []).forEach((m, i) => {
    text = text.replaceAll(m.substitution, `/dev/loop0p${i + 1}`);
  });
  text = text.replace(/\$disk(\d+)/g, (_m, n: string) => `/dev/loop${n}`);
  text = text.replace(/\{\{server:[^}]+\}\}/g, 'http://127.0.0.1:1234');
  return text;
}

describe.skipIf(!file)('blackbox.json configs', () => {
  const cases = (JSON.parse(readFileSync(file!, 'utf8')) as { cases: BlackboxCase[] }).cases;
  const bad = cases.filter((c) => c.configShouldBeBad && c.kind === 'negative');
  const good = cases.filter((c) => !(c.configShouldBeBad && c.kind === 'negative') && c.config !== '');

  it('has the cases the corpus README counts', () => {
    expect(cases.length).toBe(189);
    expect(bad.length).toBe(3);
    expect(good.length).toBe(184);
  });

  for (const c of bad) {
    it(`rejects ${c.name}`, () => {
      for (const v of c.registeredVersions ?? ['']) {
        expect(() => parseConfig(fill(c, v)), `${c.name} @ ${v}`).toThrow(KindlingError);
      }
    });
  }

  for (const c of good) {
    it(`accepts ${c.name}`, () => {
      for (const v of c.registeredVersions ?? ['']) {
        if (v === '3.0.0-experimental') {
          // Registered by upstream below 3.0.0 but its config hard-codes "3.0.0".
          expect(c.config).not.toContain('$version');
        }
        try {
          parseConfig(fill(c, v));
        } catch (err) {
          const entries = err instanceof KindlingError ? JSON.stringify(err.entries) : '';
          throw new Error(`${c.name} @ ${v}: ${(err as Error).message} ${entries}`);
        }
      }
    });
  }
});
