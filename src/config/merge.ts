// Ignition's config merge (ignition.config.merge): the child is laid over the parent, with the
// rules of Ignition's config/merge:
//  - a field set in the child replaces the parent's; objects merge field by field;
//  - keyed lists merge entry by entry: an entry whose key is in the parent merges into it in
//    place, new entries are appended in the child's order. Files, directories and links share one
//    key space (the path): a child directory at /x replaces a parent file at /x. Kernel arguments
//    likewise: an argument moves between shouldExist and shouldNotExist;
//  - lists of strings are keyed by their value (a set), except append/options lists, which are
//    concatenated;
//  - a child HTTP header without a value removes the parent's header of that name.
import type { Config } from './types.js';

type Obj = Record<string, unknown>;
type KeyFn = (entry: Obj) => string | undefined;

const byName: KeyFn = (e) => e.name as string | undefined;
const bySource: KeyFn = (e) => e.source as string | undefined;
const byPath: KeyFn = (e) => e.path as string | undefined;
const byDevice: KeyFn = (e) => e.device as string | undefined;
const byUrl: KeyFn = (e) => e.url as string | undefined;
const byPartition: KeyFn = (e) => {
  const n = (e.number as number | undefined) ?? 0;
  if (n !== 0) return `number:${n}`;
  return e.label !== undefined ? `label:${e.label as string}` : undefined;
};

/** Keys of object lists, by field name (Ignition's Key() methods). */
const LIST_KEYS: Record<string, KeyFn> = {
  merge: bySource,
  certificateAuthorities: bySource,
  httpHeaders: byName,
  users: byName,
  groups: byName,
  disks: byDevice,
  partitions: byPartition,
  raid: byName,
  filesystems: byDevice,
  files: byPath,
  directories: byPath,
  links: byPath,
  luks: byName,
  tang: byUrl,
  units: byName,
  dropins: byName,
};

/** Lists whose keys live in one space: an entry in one removes the same key from the others. */
const SHARED_KEY_SPACES: Record<string, string> = {
  files: 'nodes',
  directories: 'nodes',
  links: 'nodes',
  shouldExist: 'kargs',
  shouldNotExist: 'kargs',
};

/** Lists that are simply concatenated (Ignition's IgnoreDuplicates): fragments and option lists. */
const CONCATENATED = new Set(['append', 'options', 'mountOptions', 'openOptions']);

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Ignition's Key(): "" when an entry has no key (two such entries then share it, as in Go). */
function keyOfEntry(field: string, entry: unknown): string {
  if (isObj(entry)) return LIST_KEYS[field]?.(entry) ?? '';
  return String(entry);
}

const handleOf = (field: string) => SHARED_KEY_SPACES[field] ?? field;

interface ChildEntry {
  list: string;
  item: unknown;
}

/** handle + key -> where that key is in the child (the last one wins, as in Go's map). */
function indexChild(child: Obj): Map<string, ChildEntry> {
  const index = new Map<string, ChildEntry>();
  for (const [field, value] of Object.entries(child)) {
    if (!Array.isArray(value) || CONCATENATED.has(field)) continue;
    for (const item of value) index.set(handleOf(field) + '\u0000' + keyOfEntry(field, item), { list: field, item });
  }
  return index;
}

function mergeList(field: string, parent: unknown[], child: unknown[], childIndex: Map<string, ChildEntry>): unknown[] {
  const result: unknown[] = [];
  for (const p of parent) {
    const key = keyOfEntry(field, p);
    const hit = childIndex.get(handleOf(field) + '\u0000' + key);
    if (!hit) {
      result.push(p); // only in the parent
      continue;
    }
    if (hit.list !== field) continue; // the child moved this key to another list: it goes there
    if (isObj(p) && isObj(hit.item)) {
      // A child header without a value deletes the parent's header of that name.
      if (field === 'httpHeaders' && hit.item.value === undefined) continue;
      result.push(mergeObjects(p, hit.item));
    } else {
      result.push(hit.item);
    }
  }
  const parentKeys = new Set(parent.map((p) => keyOfEntry(field, p)));
  for (const c of child) if (!parentKeys.has(keyOfEntry(field, c))) result.push(c);
  return result;
}

function mergeObjects(parent: Obj, child: Obj): Obj {
  const out: Obj = {};
  const childIndex = indexChild(child);
  const fields = [...Object.keys(parent), ...Object.keys(child).filter((k) => !(k in parent))];
  for (const k of fields) {
    const pv = parent[k];
    const cv = child[k];
    let merged: unknown;
    if (Array.isArray(pv) || Array.isArray(cv)) {
      const pl = (pv as unknown[] | undefined) ?? [];
      const cl = (cv as unknown[] | undefined) ?? [];
      merged = CONCATENATED.has(k) ? [...pl, ...cl] : mergeList(k, pl, cl, childIndex);
      // Go leaves an empty result list empty, which the JSON form omits.
      if ((merged as unknown[]).length === 0) merged = undefined;
    } else if (isObj(pv) && isObj(cv)) {
      merged = mergeObjects(pv, cv);
    } else {
      merged = cv !== undefined ? cv : pv;
    }
    if (merged !== undefined) out[k] = merged;
  }
  return out;
}

/** Ignition's merge: `child` applied over `parent` (keyed lists, child wins, order kept). Pure. */
export function mergeConfigs(parent: Config, child: Config): Config {
  const merged = mergeObjects(structuredClone(parent) as unknown as Obj, structuredClone(child) as unknown as Obj) as unknown as Config;
  merged.ignition ??= { version: child.ignition?.version ?? parent.ignition?.version };
  return merged;
}
