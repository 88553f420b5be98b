// Ignition's state file (-state-file, default /run/ignition/state): JSON carried from stage to
// stage. Written exactly as Ignition 2.14 writes it (measured: run its fetch stage on the file
// platform and read the file): the keys fetchedConfigs, luksPersistKeyFiles, notatedDirectories
// in that order, null for an empty map or list, a final newline, mode 0600 in a 0700 directory.
// Every stage appends {kind:"base",source:"system"} when the system base configs were read, and
// the fetch stages add the user config's provider and each referenced config's URL path.
// Ignition 2.16 added a fourth key, providerOutputFiles: files a provider hands to the files stage
// (the hyperv platform's KVP pools, src/acquire/kvp.ts), each a config file entry as Go's
// encoding/json writes one. It is written after notatedDirectories only when there are such files,
// so every other state file stays byte for byte what 2.14 writes.
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KindlingError } from '../errors.js';

export interface FetchedConfig {
  kind: 'base' | 'user';
  source: string;
  referenced: boolean;
}

/** Owner of a provider output file (always empty from the providers: root). */
export interface ProviderOutputOwner {
  id?: number;
  name?: string;
}

/** One of Ignition's providerOutputFiles: a storage.files entry (types.File), contents as a data: URL. */
export interface ProviderOutputFile {
  group?: ProviderOutputOwner;
  overwrite?: boolean;
  path: string;
  user?: ProviderOutputOwner;
  contents?: { compression?: string; httpHeaders?: unknown[]; source?: string; verification?: { hash?: string } };
  append?: unknown[];
  mode?: number;
}

export interface IgnitionState {
  fetchedConfigs: FetchedConfig[] | null;
  luksPersistKeyFiles: Record<string, string> | null;
  notatedDirectories: string[] | null;
  /** Files a provider hands to the files stage (Ignition ≥ 2.16). Absent or null: none. */
  providerOutputFiles?: ProviderOutputFile[] | null;
  /** Anything else a stage (or a newer Ignition) keeps there, preserved as is. */
  [key: string]: unknown;
}

export function emptyState(): IgnitionState {
  return { fetchedConfigs: null, luksPersistKeyFiles: null, notatedDirectories: null };
}

export function loadState(path: string): IgnitionState {
  let text: string;
  try {
    // On a first boot there is none yet: say so without building an ENOENT error and its stack.
    if (!statSync(path, { throwIfNoEntry: false })) return emptyState();
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new KindlingError('system', `reading state file ${path}: ${(err as Error).message}`);
  }
  try {
    const s = JSON.parse(text) as Partial<IgnitionState>;
    return { ...emptyState(), ...s };
  } catch (err) {
    throw new KindlingError('system', `parsing state file ${path}: ${(err as Error).message}`);
  }
}

export function recordFetched(state: IgnitionState, entry: FetchedConfig): void {
  (state.fetchedConfigs ??= []).push(entry);
}

/**
 * Ignition's MakeProviderOutputFile: the bytes as a base64 data: URL (its dataurl.EncodeBytes names
 * them application/octet-stream, or text/plain;charset=utf-8 when empty, as Go's content sniffing
 * does for NUL-padded records), the mode, overwrite: true, and the empty group, user and
 * verification objects Go's encoding/json writes for those structs.
 */
export function makeProviderOutputFile(path: string, mode: number, data: Buffer): ProviderOutputFile {
  const type = data.length === 0 ? 'text/plain;charset=utf-8' : 'application/octet-stream';
  return { group: {}, overwrite: true, path, user: {}, contents: { source: `data:${type};base64,${data.toString('base64')}`, verification: {} }, mode };
}

export function serializeState(state: IgnitionState): string {
  const { fetchedConfigs, luksPersistKeyFiles, notatedDirectories, providerOutputFiles, ...rest } = state;
  const ordered = {
    fetchedConfigs: fetchedConfigs && fetchedConfigs.length ? fetchedConfigs : null,
    luksPersistKeyFiles: luksPersistKeyFiles && Object.keys(luksPersistKeyFiles).length ? luksPersistKeyFiles : null,
    notatedDirectories: notatedDirectories && notatedDirectories.length ? notatedDirectories : null,
    ...(providerOutputFiles && providerOutputFiles.length ? { providerOutputFiles } : {}),
    ...rest,
  };
  return JSON.stringify(ordered) + '\n';
}

export function saveState(path: string, state: IgnitionState): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, serializeState(state), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (err) {
    throw new KindlingError('system', `writing state file ${path}: ${(err as Error).message}`);
  }
}
