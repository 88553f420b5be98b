// One ajv validator per spec version, compiled on first use (a process validates one or two
// versions, so compiling all eight up front would only cost start-up time).
import { Ajv, type ValidateFunction } from 'ajv';
import { buildSchema, SPEC_VERSIONS, type SpecVersion } from './spec.js';

const compiled = new Map<string, ValidateFunction>();
let ajv: Ajv | undefined;

export function schemaValidator(version: string): ValidateFunction {
  let fn = compiled.get(version);
  if (fn) return fn;
  if (!(SPEC_VERSIONS as readonly string[]).includes(version)) throw new Error(`no schema for spec ${version}`);
  ajv ??= new Ajv({ allErrors: true, strict: true });
  fn = ajv.compile(buildSchema(version as SpecVersion));
  compiled.set(version, fn);
  return fn;
}
