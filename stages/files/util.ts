// Small helpers shared by the planners and executors of the files stage.
import { displayUrl, needsNetwork, schemeOf } from '../../src/resources/index.js';
import type { Config, NodeUser, Resource } from '../../src/config/types.js';
import { KindlingError } from '../../src/errors.js';
import type { OwnerSpec, ResourceSummary } from './types.js';

/** The value at an RFC 6901 pointer of the config (apply reads secrets and contents this way). */
export function entryAt<T>(config: Config, pointer: string): T {
  let cur: unknown = config;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') {
      throw new KindlingError('files', `internal error: the plan names ${pointer}, which is not in the config`);
    }
    cur = (cur as Record<string, unknown>)[key];
  }
  if (cur === undefined) throw new KindlingError('files', `internal error: the plan names ${pointer}, which is not in the config`);
  return cur as T;
}

export function summarizeResource(r: Resource): ResourceSummary | undefined {
  if (r.source === undefined) return undefined;
  const hash = r.verification?.hash;
  return {
    source: r.source === '' ? '(empty)' : displayUrl(r.source),
    scheme: schemeOf(r.source),
    ...(r.compression ? { compression: r.compression } : {}),
    ...(hash ? { verify: hash.slice(0, hash.indexOf('-') === -1 ? undefined : hash.indexOf('-')) } : {}),
    remote: r.source !== '' && needsNetwork(r.source),
  };
}

export function ownerSpec(u: NodeUser | undefined): OwnerSpec | undefined {
  if (!u) return undefined;
  if (u.id !== undefined) return { id: u.id };
  if (u.name !== undefined && u.name !== '') return { name: u.name };
  return undefined;
}

export function octal(mode: number): string {
  return '0' + (mode & 0o7777).toString(8).padStart(3, '0');
}

export function showOwner(user?: OwnerSpec, group?: OwnerSpec, dflt = 'root'): string {
  const u = user?.id ?? user?.name ?? dflt;
  const g = group?.id ?? group?.name ?? dflt;
  return `${u}:${g}`;
}

export function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}
