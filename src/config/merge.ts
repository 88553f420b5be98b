// Ignition's config merge (ignition.config.merge): the child is laid over the parent.
//  - a scalar set in the child replaces the parent's;
//  - objects merge field by field;
//  - keyed lists merge entry by entry: an entry whose key is in the parent merges into it in
//    place, new entries are appended in the child's order. Files, directories and links share one
//    key space (the path): a child directory at /x replaces a parent file at /x. Kernel arguments
//    likewise: an argument moves between shouldExist and shouldNotExist;
//  - lists of strings are sets: the child's new values are appended.
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
  append: bySource,
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
const SHARED_KEY_SPACES: string[][] = [
  ['files', 'directories', 'links'],
  ['shouldExist', 'shouldNotExist'],
];

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function keyOfEntry(field: string, entry: unknown): string | undefined {
  if (isObj(entry)) return LIST_KEYS[field]?.(entry);
  return typeof entry === 'string' || typeof entry === 'number' ? String(entry) : undefined;
}

function mergeList(field: string, parent: unknown[], child: unknown[]): unknown[] {
  const result = parent.map((p) => p);
  const index = new Map<string, number>();
  result.forEach((e, i) => {
    const k = keyOfEntry(field, e);
    if (k !== undefined && !index.has(k)) index.set(k, i);
  });
  for (const c of child) {
    const k = keyOfEntry(field, c);
    if (k !== undefined && index.has(k)) {
      const i = index.get(k)!;
      result[i] = isObj(result[i]) && isObj(c) ? mergeObjects(result[i] as Obj, c) : c;
    } else {
      if (k !== undefined) index.set(k, result.length);
      result.push(c);
    }
  }
  return result;
}

function mergeObjects(parent: Obj, child: Obj): Obj {
  const out: Obj = { ...parent };
  for (const [k, cv] of Object.entries(child)) {
    if (cv === undefined) continue;
    const pv = out[k];
    if (Array.isArray(cv) && Array.isArray(pv)) out[k] = mergeList(k, pv, cv);
    else if (isObj(cv) && isObj(pv)) out[k] = mergeObjects(pv, cv);
    else out[k] = structuredClone(cv);
  }
  // Shared key spaces: a key the child puts in one list leaves the parent's other lists.
  for (const space of SHARED_KEY_SPACES) {
    if (!space.some((name) => Array.isArray(child[name]))) continue;
    for (const name of space) {
      const childKeys = new Set<string>();
      for (const other of space) {
        if (other === name || !Array.isArray(child[other])) continue;
        for (const e of child[other] as unknown[]) {
          const k = keyOfEntry(other, e);
          if (k !== undefined) childKeys.add(k);
        }
      }
      if (childKeys.size === 0 || !Array.isArray(out[name])) continue;
      const mine = new Set(((child[name] as unknown[] | undefined) ?? []).map((e) => keyOfEntry(name, e)));
      out[name] = (out[name] as unknown[]).filter((e) => {
        const k = keyOfEntry(name, e);
        return k === undefined || !childKeys.has(k) || mine.has(k);
      });
    }
  }
  return out;
}

/** Ignition's merge: `child` applied over `parent` (keyed lists, child wins, order kept). Pure. */
export function mergeConfigs(parent: Config, child: Config): Config {
  return mergeObjects(structuredClone(parent) as unknown as Obj, structuredClone(child) as unknown as Obj) as unknown as Config;
}
