// From parsed JSON to a document of one spec version, the way Go's json.Unmarshal fills
// Ignition's structs:
//  - object keys match struct fields case-insensitively ("Path" fills path), the last duplicate
//    wins; Ignition still warns "Unused key Path" because the key is not spelled as the spec says;
//  - unknown keys are ignored, with the warning "Unused key <key>";
//  - JSON types are checked against the spec's field types (typeMismatches, which agrees with
//    the version's JSON Schema) and reported in Go's words;
//  - an int field needs an integer literal (Go refuses 4.2e2 and 420.0).
// The result keeps nulls; dropNulls() removes them afterwards.
import { toPointer, type ReportEntry } from '../errors.js';
import type { JsonValue, ParsedJson, Position } from './json/parse.js';
import { fieldsOf, goElemName, goNameOf, goTypeName, typeMismatches, type FieldType, type Minor } from './schema/spec.js';

export interface Decoded {
  doc: JsonValue;
  /** Value positions by JSON pointer of the decoded (canonical-key) document. */
  positions: Map<string, Position>;
  warnings: ReportEntry[];
  errors: ReportEntry[];
}

type Path = (string | number)[];

function jsonTypeOf(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // string, number, object
}

function entry(kind: 'error' | 'warning', message: string, pointer: string, pos?: Position): ReportEntry {
  return { kind, message, location: { pointer, line: pos?.line, column: pos?.column } };
}

export function decodeDocument(parsed: ParsedJson, minor: Minor, track = true): Decoded {
  const positions = new Map<string, Position>();
  // Go reports a type error where it stopped reading: just after the value (as ignition-validate prints).
  const ends = new Map<string, Position>();
  const warnings: ReportEntry[] = [];
  const errors: ReportEntry[] = [];
  // Type descriptions of each decoded location, for Go-style type error messages.
  const fieldTypes = new Map<string, { goType: string; owner: string; keys: string[] }>();

  // Without `track` (parseConfig's fast path, for a document parsed without positions) nothing is
  // recorded per value: no pointers, positions or type names. Values come out the same; a finding
  // still comes out, but unplaced, and makes the caller parse again with positions.
  const walk = (value: JsonValue, type: FieldType, src: Path, dst: Path, owner: string, keys: string[], goType?: string): JsonValue => {
    let srcPointer = '';
    let dstPointer = '';
    if (track) {
      srcPointer = toPointer(src);
      dstPointer = toPointer(dst);
      const pos = parsed.valueAt.get(srcPointer);
      if (pos) positions.set(dstPointer, pos);
      const end = parsed.valueEnd.get(srcPointer);
      if (end) ends.set(dstPointer, end);
      fieldTypes.set(dstPointer, { goType: goType ?? goTypeName(type), owner, keys });
    }
    if (value === null) return null;
    if (type === 'integer') {
      // Untracked, the caller has checked that every number literal is a plain integer.
      const literal = track ? parsed.numberText.get(srcPointer) : typeof value === 'number' ? String(value) : undefined;
      if (typeof value === 'number' && literal !== undefined && (!/^-?\d+$/.test(literal) || !Number.isSafeInteger(value))) {
        errors.push(entry('error', `json: cannot unmarshal number ${literal} into Go struct field ${owner}.${keys.join('.')} of type int`, dstPointer, ends.get(dstPointer)));
      }
      return value;
    }
    if (typeof type === 'string') return value;
    if ('list' in type) {
      if (!Array.isArray(value)) return value;
      // A null list entry is the element's zero value in Go ("" for strings, an empty struct).
      if (!track) return value.map((item) => walk(item === null ? zeroOf(type.list) : item, type.list, src, dst, owner, keys));
      return value.map((item, i) =>
        walk(item === null ? zeroOf(type.list) : item, type.list, [...src, i], [...dst, i], owner, keys, goElemName(type)),
      );
    }
    if (typeof value !== 'object' || Array.isArray(value)) return value;
    const fields = fieldsOf(type.ref, minor);
    const goName = track ? goNameOf(type.ref) : owner;
    const out: Record<string, JsonValue> = {};
    for (const key of Object.keys(value)) {
      const exact = fields.find((fl) => fl.name === key);
      const folded = exact ?? fields.find((fl) => fl.name.toLowerCase() === key.toLowerCase());
      if (!exact) {
        const keyPos = track ? parsed.keyAt.get(toPointer([...src, key])) : undefined;
        warnings.push(entry('warning', `Unused key ${key}`, track ? toPointer([...dst, key]) : '', keyPos));
      }
      if (!folded) continue;
      out[folded.name] = track
        ? walk(value[key], folded.type, [...src, key], [...dst, folded.name], goName, [...keys, folded.name])
        : walk(value[key], folded.type, src, dst, owner, keys);
    }
    return out;
  };

  const doc = walk(parsed.value, { ref: 'config' }, [], [], 'Config', []);

  // JSON types last: Go reports a bad integer literal before any type error.
  if (errors.length === 0) {
    for (const pointer of typeMismatches(doc)) {
      const info = fieldTypes.get(pointer);
      const actual = valueAtPointer(doc, pointer);
      // Go stops just inside an object or array it cannot use, and after a literal.
      const pos = actual !== null && typeof actual === 'object' ? positions.get(pointer) : ends.get(pointer);
      let message: string;
      if (!info || pointer === '') {
        message = `json: cannot unmarshal ${jsonTypeOf(actual)} into Go value of type types.Config`;
      } else {
        message = `json: cannot unmarshal ${jsonTypeOf(actual)} into Go struct field ${info.owner}.${info.keys.join('.')} of type ${info.goType}`;
      }
      errors.push(entry('error', message, pointer, pos));
    }
  }
  errors.sort(byPosition);
  // Go's decoder reports only the first type error, in document order; so do we.
  return { doc, positions, warnings: warnings.sort(byPosition), errors: errors.slice(0, 1) };
}

function zeroOf(type: FieldType): JsonValue {
  if (type === 'string') return '';
  if (type === 'integer') return 0;
  if (type === 'boolean') return false;
  return 'list' in type ? [] : {};
}

export function byPosition(a: ReportEntry, b: ReportEntry): number {
  const la = a.location?.line ?? 0;
  const lb = b.location?.line ?? 0;
  if (la !== lb) return la - lb;
  return (a.location?.column ?? 0) - (b.location?.column ?? 0);
}

function valueAtPointer(doc: JsonValue, pointer: string): JsonValue {
  if (pointer === '') return doc;
  let cur: JsonValue = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return null;
    cur = Array.isArray(cur) ? cur[Number(key)] : cur[key];
  }
  return cur;
}

/** Drops nulls (Ignition's "unset") everywhere. (decodeDocument already made null list entries zero values.) */
export function dropNulls(value: JsonValue): JsonValue | undefined {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map((v) => dropNulls(v) ?? {});
  if (typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) {
      const d = dropNulls(v);
      if (d !== undefined) out[k] = d;
    }
    return out;
  }
  return value;
}
