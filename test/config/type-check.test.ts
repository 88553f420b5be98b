// typeMismatches (src/config/schema/spec.ts) is the decoder's JSON type check: it must find exactly
// the "type" errors a real JSON Schema validator (ajv, compiled here from each published schema
// file, schema/ignition-*.json) finds in the same decoded document, and in the same order.
// Documents are generated from the schema itself: every field either well typed (recursively) or
// given a value of another JSON kind, nulls and nested lists included.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { KindlingError } from '../../src/errors.js';
import { SPEC_VERSIONS, typeMismatches } from '../../src/config/schema/spec.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; items?: Schema; $ref?: string; definitions?: Record<string, Schema> };

/** The pointers of ajv's "type" errors, first per pointer, in ajv's order. */
function ajvTypeErrors(validate: ReturnType<Ajv['compile']>, doc: unknown): string[] {
  if (validate(doc)) return [];
  const seen: string[] = [];
  for (const e of validate.errors ?? []) if (e.keyword === 'type' && !seen.includes(e.instancePath)) seen.push(e.instancePath);
  return seen;
}

/** Any JSON value: what a wrong-typed field gets. */
const anyJson = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 4 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 2 }), fc.constant(null)), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('a', 'path', 'name'), fc.oneof(fc.integer(), fc.string({ maxLength: 2 })), { maxKeys: 2 }),
);

/** A document shaped by `schema`, each field well typed or not, bounded in depth. */
function docOf(schema: Schema, defs: Record<string, Schema>, depth: number): fc.Arbitrary<unknown> {
  const s = schema.$ref ? defs[schema.$ref.replace('#/definitions/', '')] : schema;
  const types = ([] as string[]).concat(s.type ?? []);
  const right: fc.Arbitrary<unknown>[] = [];
  if (types.includes('string')) right.push(fc.string({ maxLength: 3 }));
  if (types.includes('integer')) right.push(fc.integer({ min: -5, max: 0o7777 }));
  if (types.includes('boolean')) right.push(fc.boolean());
  if (types.includes('array') && s.items) right.push(depth > 0 ? fc.array(docOf(s.items, defs, depth - 1), { maxLength: 2 }) : fc.constant([]));
  if (types.includes('object') && s.properties) {
    const props = s.properties;
    right.push(
      depth > 0
        ? fc.subarray(Object.keys(props), { maxLength: Math.min(4, Object.keys(props).length) }).chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, docOf(props[k], defs, depth - 1)]))))
        : fc.constant({}),
    );
  }
  // Mostly well typed, so that the generator reaches deep fields; sometimes anything at all.
  return fc.oneof({ arbitrary: fc.oneof(...right), weight: 4 }, { arbitrary: anyJson, weight: 1 });
}

describe('typeMismatches agrees with the published JSON Schemas', () => {
  for (const version of SPEC_VERSIONS) {
    it(`spec ${version}: same "type" errors as ajv, in the same order`, () => {
      const schema = JSON.parse(readFileSync(join(root, `schema/ignition-${version}.json`), 'utf8')) as Schema;
      const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
      const defs = schema.definitions ?? {};
      let withErrors = 0;
      fc.assert(
        fc.property(fc.oneof({ arbitrary: docOf({ ...schema, type: 'object' }, defs, 5), weight: 9 }, { arbitrary: anyJson, weight: 1 }), (doc) => {
          const want = ajvTypeErrors(validate, doc);
          if (want.length) withErrors++;
          expect(typeMismatches(doc)).toEqual(want);
        }),
        { numRuns: 1500, seed: 20261129 + version.length },
      );
      // The generator must produce plenty of wrong documents, or the comparison proves little.
      expect(withErrors).toBeGreaterThan(300);
    });
  }

  it('known cases: root, nested lists, integers, nulls', () => {
    expect(typeMismatches([])).toEqual(['']);
    expect(typeMismatches(null)).toEqual(['']);
    expect(typeMismatches({ ignition: null, storage: { files: [{ path: 1, mode: 4.5 }, null, { contents: 'x' }] } })).toEqual([
      '/storage/files/0/path',
      '/storage/files/0/mode',
      '/storage/files/2/contents',
    ]);
    expect(typeMismatches({ passwd: { users: [{ name: 'a', sshAuthorizedKeys: [1, 'k', true] }] } })).toEqual([
      '/passwd/users/0/sshAuthorizedKeys/0',
      '/passwd/users/0/sshAuthorizedKeys/2',
    ]);
    expect(typeMismatches({ unknown: 5, systemd: { units: {} } })).toEqual(['/systemd/units']);
  });

  it('the decoder reports the first type error in document order, in Go words', () => {
    let err: unknown;
    try {
      parseConfig('{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/a","mode":"420"}],"directories":5}}');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KindlingError);
    expect((err as KindlingError).entries.map((e) => [e.message, e.location?.pointer])).toEqual([
      ['json: cannot unmarshal string into Go struct field File.storage.files.mode of type int', '/storage/files/0/mode'],
    ]);
  });
});
