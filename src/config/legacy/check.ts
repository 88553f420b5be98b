// A tiny schema language for the old specs and the pass that checks a parsed document against it.
// Ignition 1.x/2.x decoded configs with Go's encoding/json into typed structs, which means:
//  - a value of the wrong JSON type for a known field is a fatal error;
//  - JSON null is the Go zero value (as if the field were absent);
//  - unknown keys are ignored (ignition-validate warns about them).
// `checkShape` reproduces exactly that and returns a cleaned copy holding only the known fields of
// the declared version, so the translators never see a field the version did not have.
import { toPointer, type ReportEntry } from '../../errors.js';

/** One segment path from the document root, turned into a JSON pointer when reported. */
export type Path = ReadonlyArray<string | number>;

/** Collects errors and warnings with their location; translators add to it, never throw. */
export class Report {
  readonly entries: ReportEntry[] = [];
  /** Maps a pointer of the document being checked to the pointer the user wrote (1.x → 2.0). */
  constructor(private readonly remap: (pointer: string) => string = (p) => p) {}

  error(path: Path, message: string): void {
    this.entries.push({ kind: 'error', message, location: { pointer: this.remap(toPointer(path)) } });
  }
  warn(path: Path, message: string): void {
    this.entries.push({ kind: 'warning', message, location: { pointer: this.remap(toPointer(path)) } });
  }
  get failed(): boolean {
    return this.entries.some((e) => e.kind === 'error');
  }
}

export type Shape =
  | 'string'
  | 'int'
  | 'bool'
  | { list: Shape }
  | { object: Record<string, Field> };

/** A field of an object: its shape and the first 2.x minor version that has it (default 0). */
export interface Field {
  shape: Shape;
  since?: number;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Go's int is 64-bit; encoding/json refuses fractions and out-of-range numbers for it. */
function isGoInt(v: number): boolean {
  return Number.isInteger(v) && Math.abs(v) <= 9.223372036854775e18;
}

/**
 * Checks `value` against `shape` for the spec 2.x minor version `minor` (the 1.x schema passes 0)
 * and returns the cleaned value, or undefined when it is null/absent or wrong.
 */
export function checkShape(value: unknown, shape: Shape, path: Path, minor: number, report: Report): Json | undefined {
  if (value === null || value === undefined) return undefined;
  if (shape === 'string') {
    if (typeof value === 'string') return value;
    report.error(path, `expected a string, found ${jsonType(value)}`);
    return undefined;
  }
  if (shape === 'bool') {
    if (typeof value === 'boolean') return value;
    report.error(path, `expected a boolean, found ${jsonType(value)}`);
    return undefined;
  }
  if (shape === 'int') {
    if (typeof value === 'number' && isGoInt(value)) return value;
    report.error(path, typeof value === 'number' ? `expected an integer, found ${value}` : `expected an integer, found ${jsonType(value)}`);
    return undefined;
  }
  if ('list' in shape) {
    if (!Array.isArray(value)) {
      report.error(path, `expected a list, found ${jsonType(value)}`);
      return undefined;
    }
    // Go decodes null list items to the zero value of the item type: keep them as empty values.
    return value.map((item, i) => checkShape(item, shape.list, [...path, i], minor, report) ?? zeroOf(shape.list));
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    report.error(path, `expected an object, found ${jsonType(value)}`);
    return undefined;
  }
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = Object.prototype.hasOwnProperty.call(shape.object, key) ? shape.object[key] : undefined;
    if (!field || (field.since ?? 0) > minor) {
      report.warn([...path, key], `unrecognized key "${key}" (ignored by this spec version)`);
      continue;
    }
    const cleaned = checkShape(v, field.shape, [...path, key], minor, report);
    if (cleaned !== undefined) out[key] = cleaned;
  }
  return out;
}

function zeroOf(shape: Shape): Json {
  if (shape === 'string') return '';
  if (shape === 'int') return 0;
  if (shape === 'bool') return false;
  if ('list' in shape) return [];
  return {};
}

// Small typed readers over cleaned documents (the shape check already guaranteed the types).
export function obj(v: Json | undefined): JsonObject {
  return v !== undefined && v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
export function list(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}
export function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
export function int(v: Json | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
export function bool(v: Json | undefined): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}
