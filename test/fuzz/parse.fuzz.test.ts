// Fuzzing the config front door: whatever bytes arrive (random JSON, mutated valid configs of every
// spec version, truncated or corrupted text), parseConfig either returns a config or throws a
// KindlingError of a config kind whose entries carry a location. Nothing else may escape: no
// TypeError from a missing field, no RangeError from deep nesting, no hang.
// Fixed seed, bounded run count; the whole file stays well under 30 s.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { loadLegacyTranslators, parseConfig } from '../../src/config/index.js';
import { translateLegacy } from '../../src/config/legacy/index.js';
import { KindlingError } from '../../src/errors.js';
import { MUTATIONS, MUTATION_NAMES, Rng, validConfig, VERSIONS } from '../differential/validate/generate.js';

// The 1.x/2.x translators load on demand; the synchronous parseConfig needs them loaded first.
await loadLegacyTranslators();

const SEED = 424242;
const CONFIG_KINDS = new Set(['config-syntax', 'config-version', 'config-invalid']);

/** The property every input must satisfy. */
function outcomeIsClean(text: string | Uint8Array): void {
  let result;
  try {
    result = parseConfig(text);
  } catch (e) {
    if (!(e instanceof KindlingError)) throw new Error(`parseConfig threw ${e instanceof Error ? e.name + ': ' + e.message : String(e)}`);
    if (!CONFIG_KINDS.has(e.kind)) throw new Error(`parseConfig threw kind ${e.kind}`);
    if (typeof e.message !== 'string' || e.message.length === 0) throw new Error('empty error message');
    for (const entry of e.entries) {
      if (entry.kind === 'error' && (entry.location === undefined || typeof entry.location.pointer !== 'string')) {
        throw new Error(`error entry without a location: ${entry.message}`);
      }
    }
    return;
  }
  expect(typeof result.config.ignition.version).toBe('string');
  expect(Array.isArray(result.report)).toBe(true);
}

// Keys the config language uses, so random objects often hit real fields with wrong values.
const KEYS = ['ignition', 'version', 'config', 'merge', 'append', 'replace', 'source', 'storage', 'files', 'directories', 'links', 'filesystems', 'disks', 'partitions', 'raid', 'luks', 'path', 'mode', 'contents', 'systemd', 'units', 'name', 'dropins', 'passwd', 'users', 'groups', 'filesystem', 'mount', 'device', 'format', 'verification', 'hash', 'httpHeaders', 'overwrite', 'user', 'group', 'id', 'target', 'hard', 'label', 'number', 'sizeMiB', 'networkd', 'ignitionVersion', 'kernelArguments', 'clevis', 'tang', 'keyFile', 'proxy', 'timeouts'];
const VERSION_STRINGS = ['3.0.0', '3.1.0', '3.2.0', '3.3.0', '3.4.0', '3.5.0', '3.6.0', '3.7.0-experimental', '2.0.0', '2.1.0', '2.2.0', '2.3.0', '2.4.0', '1', '3.3', 'x', ''];

const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(...VERSION_STRINGS), fc.constantFrom('/etc/a', 'data:,x', 'http://h/x', 'a.service', 'x.conf', 'sha512-' + 'a'.repeat(128)));
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('arr'), tie('obj')),
  arr: fc.array(tie('tree'), { maxLength: 4 }),
  obj: fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), tie('tree'), { maxKeys: 5 }),
}));

/** A random document that at least looks like a config: an ignition.version (or ignitionVersion). */
const configLike = fc.tuple(fc.constantFrom(...VERSION_STRINGS), tree, fc.boolean()).map(([version, body, v1]) => {
  const doc: Record<string, unknown> = body !== null && typeof body === 'object' && !Array.isArray(body) ? { ...body } : { body };
  if (v1) doc.ignitionVersion = 1;
  else doc.ignition = { version, ...(doc.ignition && typeof doc.ignition === 'object' && !Array.isArray(doc.ignition) ? doc.ignition : {}) };
  return JSON.stringify(doc);
});

describe('parseConfig never throws anything but a located KindlingError', () => {
  test('random JSON values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => outcomeIsClean(JSON.stringify(v) ?? 'null')), { seed: SEED, numRuns: 1500 });
  });

  test('random config-shaped documents of every version', () => {
    fc.assert(fc.property(configLike, (text) => outcomeIsClean(text)), { seed: SEED + 1, numRuns: 2500 });
  });

  test('valid configs of every spec 3 version, mutated', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(...VERSIONS, '3.4.0', '3.5.0', '3.6.0'), fc.constantFrom(...MUTATION_NAMES), (seed, version, mutation) => {
        const r = new Rng(seed);
        const base = validConfig(r, version, 3);
        outcomeIsClean(JSON.stringify(base));
        const out = MUTATIONS[mutation](r, structuredClone(base), version);
        if (out !== undefined) outcomeIsClean(typeof out === 'string' ? out : JSON.stringify(out));
      }),
      { seed: SEED + 2, numRuns: 2000 },
    );
  });

  test('truncated and byte-corrupted text', () => {
    const r = new Rng(SEED);
    const texts = VERSIONS.map((v) => JSON.stringify(validConfig(r, v, 6), null, 2));
    fc.assert(
      fc.property(fc.constantFrom(...texts), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (text, cut, pos, byte) => {
        outcomeIsClean(text.slice(0, cut % (text.length + 1)));
        const bytes = Buffer.from(text);
        bytes[pos % bytes.length] = byte;
        outcomeIsClean(new Uint8Array(bytes));
      }),
      { seed: SEED + 3, numRuns: 1500 },
    );
  });

  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  // Go's decoder stops at depth 10000 ("exceeded max depth"); below that Ignition accepts the text.
  test.each([
    ['100,000-deep array', deep(100_000)],
    ['100,000-deep array inside a config', `{"ignition":{"version":"3.3.0"},"x":${deep(100_000)}}`],
    ['9,000-deep array inside a config', `{"ignition":{"version":"3.3.0"},"x":${deep(9_000)}}`],
    ['3,000-deep objects', '{"a":'.repeat(3000) + '1' + '}'.repeat(3000)],
  ])('hostile nesting: %s', (_name, text) => outcomeIsClean(text));

  test.each([
    ['mode 1e400', '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/a","mode":1e400}]}}'],
    ['mode -0', '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/a","mode":-0}]}}'],
    ['uid 2^53+1', '{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"a","uid":9007199254740993}]}}'],
    ['__proto__ key', '{"__proto__":{"polluted":true},"ignition":{"version":"3.3.0"}}'],
    ['__proto__ in ignition', '{"ignition":{"version":"3.3.0","__proto__":{"version":"3.0.0"}}}'],
    ['BOM', '\ufeff{"ignition":{"version":"3.3.0"}}'],
    ['trailing NUL', '{"ignition":{"version":"3.3.0"}}\u0000'],
    ['lone surrogate', '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/\ud800"}]}}'],
    ['empty', ''],
    ['space', ' '],
    ['null', 'null'],
    ['array', '[]'],
    ['string', '"3.3.0"'],
  ])('hostile value: %s', (_name, text) => {
    outcomeIsClean(text);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('UTF-16 bytes', () => outcomeIsClean(new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00])));
});

describe('the legacy translator alone never throws anything but a located KindlingError', () => {
  test('random 1.x/2.x-shaped documents', () => {
    const legacyVersions = ['2.0.0', '2.1.0', '2.2.0', '2.3.0', '2.4.0', '1'];
    fc.assert(
      fc.property(fc.constantFrom(...legacyVersions), tree, (version, body) => {
        const doc: Record<string, unknown> = body !== null && typeof body === 'object' && !Array.isArray(body) ? { ...body } : { body };
        if (version === '1') doc.ignitionVersion = 1;
        else doc.ignition = { version };
        try {
          const out = translateLegacy(doc, version);
          expect((out.ignition as { version: string }).version).toBe('3.1.0');
        } catch (e) {
          if (!(e instanceof KindlingError)) throw e;
          expect(e.location?.pointer).toBeTypeOf('string');
        }
      }),
      { seed: SEED + 4, numRuns: 3000 },
    );
  });
});
