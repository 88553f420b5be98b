// parseConfig's fast path (src/config/index.ts, parseClean: node's JSON.parse, decoding and
// validation without positions, kept only when nothing at all is reported) must give exactly what
// the tracking path gives: the same config, or no answer so that the tracking path reports. Every
// config of Ignition's blackbox and validation corpora, hand-picked corner cases, and generated
// documents go through both.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadLegacyTranslators, parseConfig, parsePaths, parseTracked } from '../../src/config/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** What a parse gives, comparable across paths: the result, or the error's message and entries. */
function outcome(parse: () => unknown): unknown {
  try {
    return { ok: parse() };
  } catch (err) {
    const e = err as { message: string; entries?: unknown };
    return { error: e.message, entries: e.entries };
  }
}

function same(text: string, opts = {}): void {
  expect(outcome(() => parseConfig(text, opts)), text.slice(0, 200)).toEqual(outcome(() => parseTracked(text, opts)));
}

/** Runs `f` and says which path(s) parseConfig took. */
function paths(f: () => void): { clean: number; tracked: number } {
  const before = { ...parsePaths };
  f();
  return { clean: parsePaths.clean - before.clean, tracked: parsePaths.tracked - before.tracked };
}

describe('parseConfig fast path', () => {
  it('takes the fast path for a clean config, the tracking path for anything reported', () => {
    const clean = '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/hostname","mode":420,"contents":{"source":"data:,n"}}]}}';
    expect(paths(() => parseConfig(clean))).toEqual({ clean: 1, tracked: 0 });
    expect(paths(() => parseConfig(clean.replace('"mode":420', '"mode":420,"extra":1')))).toEqual({ clean: 0, tracked: 1 });
    expect(paths(() => outcome(() => parseConfig(clean.replace('"/etc/hostname"', '"etc"'))))).toEqual({ clean: 0, tracked: 1 });
  });

  it('the corpora: every blackbox config and validation document gives the same on both paths', async () => {
    await loadLegacyTranslators();
    const texts: string[] = [];
    const bb = ['/work/shared/conformance/ignition/blackbox.json', join(here, '../conformance/fixtures/ignition/blackbox.json')].find((f) => existsSync(f));
    if (bb) {
      for (const c of (JSON.parse(readFileSync(bb, 'utf8')) as { cases: { config: string; registeredVersions: string[] | null }[] }).cases) {
        for (const v of c.registeredVersions ?? ['3.0.0']) if (c.config) texts.push(c.config.replaceAll('$version', v));
      }
    }
    const val = JSON.parse(readFileSync(join(here, 'fixtures/validation.json'), 'utf8')) as { cases: { scope: string; input: unknown; table: string }[] };
    for (const c of val.cases) if (c.scope === 'config-document' && typeof c.input === 'string') texts.push(c.input);
    expect(texts.length).toBeGreaterThan(300);
    let fast = 0;
    for (const t of texts) {
      fast += paths(() => same(t)).clean;
      same(t, { exactVersion: '3.6.0' });
    }
    // Most of them are clean and went the fast way (the comparison above ran both).
    expect(fast).toBeGreaterThan(100);
  });

  it('corner cases decline or agree', async () => {
    await loadLegacyTranslators();
    const v = '"ignition":{"version":"3.3.0"}';
    const cases = [
      `{${v},"storage":{"files":[{"path":"/a","mode":420.0}]}}`,
      `{${v},"storage":{"files":[{"path":"/a","mode":4.2e2}]}}`,
      `{${v},"storage":{"files":[{"path":"/a","mode":42E1}]}}`,
      `{${v},"storage":{"files":[{"path":"/a","mode":-0}]}}`,
      `{${v},"storage":{"files":[{"path":"/a","mode":99999999999999999999}]}}`,
      `{${v},"storage":{"files":[{"path":"/a","mode":"420"}]}}`,
      `{${v},"storage":{"files":[{"path":"/a","Path":"/b"}]}}`,
      `{${v},"storage":{"files":[{"path":"/a","path":"/b"}]}}`,
      `{${v},"storage":{"files":[{"path":"/a"},{"path":"/a"}]}}`,
      `{${v},"__proto__":{"x":1}}`,
      `{${v},"storage":{"files":[{"path":"/\\ud800\\u00e9\\n"}]}}`,
      `{${v},"storage":{"files":[{"path":"/a","contents":{"source":"data:,true e5 1.5"}}]}}`,
      `{${v},"storage":{"files":[null,{"path":"/b"}]}}`,
      `{${v},"storage":null,"passwd":{"users":[{"name":"core","uid":1000,"sshAuthorizedKeys":["k",null]}]}}`,
      `\ufeff{${v}}`,
      `{${v}} x`,
      `{${v},}`,
      `[${v}]`,
      `"3.3.0"`,
      `null`,
      `{"ignition":{"version":"2.3.0"}}`,
      `{"ignitionVersion":1}`,
      `{"ignition":{"version":"3.7.0-experimental"}}`,
      `{"ignition":{"version":"3.9.0"}}`,
      `{"IGNITION":{"VERSION":"3.1.0"}}`,
      `{${v},"x":${'['.repeat(1000)}${']'.repeat(1000)}}`,
      `{${v},"x":${'['.repeat(999)}${']'.repeat(999)}}`,
      `{${v},"kernelArguments":{"shouldExist":["a","a"]}}`,
    ];
    for (const t of cases) same(t);
  });

  it('generated documents give the same on both paths', () => {
    const num = fc.oneof(fc.integer({ min: -5, max: 0o7777 }), fc.constantFrom('420.0', '4.2e2', '-0', '1e400', '0.5', '9007199254740993'));
    const str = fc.oneof(fc.constantFrom('/etc/a', 'etc/b', '/a/../b', 'data:,x', 'https://h/x', '', '\\u00e9', '\\ud83d\\ude00', 'sha512-00'), fc.string({ maxLength: 4 }).map((s) => JSON.stringify(s).slice(1, -1)));
    const scalar = fc.oneof(num.map(String), str.map((s) => `"${s}"`), fc.constantFrom('true', 'false', 'null'));
    const key = fc.constantFrom('path', 'Path', 'mode', 'contents', 'source', 'overwrite', 'name', 'user', 'id', 'bogus', 'verification', 'hash');
    const value: fc.Arbitrary<string> = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 3 }).map((a) => `[${a.join(',')}]`), fc.array(fc.tuple(key, tie('v')), { maxLength: 3 }).map((kv) => `{${kv.map(([k, x]) => `"${k}":${x}`).join(',')}}`)),
    })).v as fc.Arbitrary<string>;
    const file = fc.array(fc.tuple(key, value), { maxLength: 4 }).map((kv) => `{${kv.map(([k, x]) => `"${k}":${x}`).join(',')}}`);
    const doc = fc
      .tuple(fc.constantFrom('3.0.0', '3.3.0', '3.4.0', '3.6.0'), fc.array(file, { maxLength: 3 }), fc.array(value, { maxLength: 2 }))
      .map(([ver, files, dirs]) => `{"ignition":{"version":"${ver}"},"storage":{"files":[${files.join(',')}],"directories":[${dirs.join(',')}]}}`);
    let clean = 0;
    fc.assert(
      fc.property(doc, (t) => {
        clean += paths(() => same(t)).clean;
      }),
      { numRuns: 3000, seed: 29112026 },
    );
    // The generator must reach the fast path often enough for the comparison to mean something.
    expect(clean).toBeGreaterThan(100);
  });
});
