// The published schemas (schema/ignition-*.json) must match what src/config/schema/spec.ts defines.
// Regenerate: KINDLING_WRITE_SCHEMAS=1 npx vitest run test/config/schema-files.test.ts
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildSchema, SPEC_VERSIONS } from '../../src/config/schema/spec.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

describe('published schemas', () => {
  for (const v of SPEC_VERSIONS) {
    it(`schema/ignition-${v}.json is current`, () => {
      const file = join(root, `schema/ignition-${v}.json`);
      const want = JSON.stringify(buildSchema(v), null, 2) + '\n';
      if (process.env.KINDLING_WRITE_SCHEMAS === '1') writeFileSync(file, want);
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe(want);
    });
  }

  it('each version adds fields the way the spec docs list them', () => {
    const props = (v: (typeof SPEC_VERSIONS)[number], def: string) =>
      Object.keys(((buildSchema(v).definitions as Record<string, { properties: object }>)[def] ?? { properties: {} }).properties);
    expect(props('3.0.0', 'ignition')).not.toContain('proxy');
    expect(props('3.1.0', 'ignition')).toContain('proxy');
    expect(props('3.0.0', 'resource')).toEqual(['source', 'verification']);
    expect(props('3.1.0', 'filesystem')).toContain('mountOptions');
    expect(props('3.1.0', 'partition')).not.toContain('resize');
    expect(props('3.2.0', 'partition')).toContain('resize');
    expect(Object.keys(buildSchema('3.1.0').definitions as object)).not.toContain('luks');
    expect(Object.keys(buildSchema('3.2.0').properties as object)).not.toContain('kernelArguments');
    expect(Object.keys(buildSchema('3.3.0').properties as object)).toContain('kernelArguments');
    expect(props('3.3.0', 'luks')).not.toContain('discard');
    expect(props('3.4.0', 'luks')).toEqual(expect.arrayContaining(['discard', 'openOptions']));
    expect(props('3.4.0', 'tang')).toContain('advertisement');
    expect(props('3.4.0', 'luks')).not.toContain('cex');
    expect(props('3.5.0', 'luks')).toContain('cex');
    expect(props('3.6.0', 'luks')).toContain('cex');
  });
});
