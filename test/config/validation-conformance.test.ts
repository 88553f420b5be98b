// Replays every case of Ignition's own config-validation tests (validation.json, extracted from
// coreos/ignition v2.26+: config/v3_6/config_test.go and config/v3_6/types/*_test.go).
//  - config documents go through parseConfig: table "tests" with exactVersion 3.6.0 (Ignition's
//    exact-version Parse), table "testsCompt" with the default parser (ParseCompatibleVersion);
//  - typed configs and fragments go through the fragment validators, keyed by fragmentType.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KindlingError } from '../../src/errors.js';
import { parseConfig } from '../../src/config/index.js';
import { FRAGMENT_VALIDATORS, renderFindings } from '../../src/config/fragments.js';

interface Expected {
  kind: 'error' | 'warning';
  message: string;
  path?: (string | number)[];
  pathText?: string;
  level?: string;
}
interface Case {
  id: string;
  scope: 'config-document' | 'config-struct' | 'fragment';
  table: string;
  input: unknown;
  valid: boolean;
  expected: Expected[];
  parseError?: { message: string } | null;
  expectedConfig?: unknown;
  fragmentType?: string;
  check?: string;
  httpOk?: boolean;
  expectedReportText?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const corpus = JSON.parse(readFileSync(join(here, 'fixtures/validation.json'), 'utf8')) as { cases: Case[] };

describe('validation.json: config documents', () => {
  const docs = corpus.cases.filter((c) => c.scope === 'config-document');
  it('has the 44 document cases', () => expect(docs.length).toBe(44));
  for (const c of docs) {
    it(c.id, () => {
      const opts = c.table === 'tests' ? { exactVersion: '3.6.0' } : {};
      if (c.valid) {
        const res = parseConfig(c.input as string, opts);
        expect(res.config).toEqual(c.expectedConfig);
        return;
      }
      let thrown: unknown;
      try {
        parseConfig(c.input as string, opts);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(KindlingError);
      expect((thrown as KindlingError).message).toBe(c.parseError!.message);
      // The report entries Ignition produced for this case, when it produced any, must appear too.
      const observed = (c as unknown as { observedReport: { kind: string; message: string; path: (string | number)[] }[] }).observedReport;
      for (const o of observed) {
        const entries = (thrown as KindlingError).entries;
        const pointer = o.path.map((p) => '/' + String(p)).join('');
        expect(entries.some((e) => e.kind === o.kind && e.message === o.message && (o.path.length === 0 || e.location?.pointer === pointer)), `${o.kind} ${o.message} at ${pointer}`).toBe(true);
      }
    });
  }
});

describe('validation.json: typed configs and fragments', () => {
  const rest = corpus.cases.filter((c) => c.scope !== 'config-document');
  it('has the 180 other cases', () => expect(rest.length).toBe(180));
  for (const c of rest) {
    it(`${c.id} (${c.fragmentType})`, () => {
      const validator = FRAGMENT_VALIDATORS[c.fragmentType!];
      expect(validator, `validator for ${c.fragmentType}`).toBeDefined();
      const findings = validator(c.input, { httpOk: c.httpOk, check: c.check });
      const errors = findings.filter((f) => f.kind === 'error');
      expect(errors.length === 0).toBe(c.valid);
      if (c.expectedReportText !== undefined) {
        expect(renderFindings(findings)).toBe(c.expectedReportText);
        return;
      }
      for (const exp of c.expected) {
        const match = findings.find((f) => f.kind === exp.kind && f.message === exp.message);
        expect(match, `${exp.kind}: ${exp.message}`).toBeDefined();
        if (exp.path) expect(match!.path).toEqual(exp.path);
      }
      // Nothing beyond what Ignition reports.
      expect(findings.length).toBe(c.expected.length);
    });
  }
});
