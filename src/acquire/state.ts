// Ignition's state file (-state-file, default /run/ignition/state): JSON carried from stage to
// stage. Written exactly as Ignition 2.14 writes it (measured: run its fetch stage on the file
// platform and read the file): the keys fetchedConfigs, luksPersistKeyFiles, notatedDirectories
// in that order, null for an empty map or list, a final newline, mode 0600 in a 0700 directory.
// Every stage appends {kind:"base",source:"system"} when the system base configs were read, and
// the fetch stages add the user config's provider and each referenced config's URL path.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KindlingError } from '../errors.js';

export interface FetchedConfig {
  kind: 'base' | 'user';
  source: string;
  referenced: boolean;
}

export interface IgnitionState {
  fetchedConfigs: FetchedConfig[] | null;
  luksPersistKeyFiles: Record<string, string> | null;
  notatedDirectories: string[] | null;
  /** Anything else a stage (or a newer Ignition) keeps there, preserved as is. */
  [key: string]: unknown;
}

export function emptyState(): IgnitionState {
  return { fetchedConfigs: null, luksPersistKeyFiles: null, notatedDirectories: null };
}

export function loadState(path: string): IgnitionState {
  let text: string;
  try {
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

export function serializeState(state: IgnitionState): string {
  const { fetchedConfigs, luksPersistKeyFiles, notatedDirectories, ...rest } = state;
  const ordered = {
    fetchedConfigs: fetchedConfigs && fetchedConfigs.length ? fetchedConfigs : null,
    luksPersistKeyFiles: luksPersistKeyFiles && Object.keys(luksPersistKeyFiles).length ? luksPersistKeyFiles : null,
    notatedDirectories: notatedDirectories && notatedDirectories.length ? notatedDirectories : null,
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
