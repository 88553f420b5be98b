// Reads a config file (or stdin) for the human subcommands and renders it to the newest spec.
// Remote child configs (ignition.config.merge/replace) are resolved only when asked (--fetch):
// a dry-run must not reach the network by surprise.
import { readFileSync } from 'node:fs';
import { parseConfig } from '../config/index.js';
import type { Config } from '../config/types.js';
import { KindlingError, type ReportEntry } from '../errors.js';

export interface LoadedConfig {
  config: Config;
  sourceVersion: string;
  report: ReportEntry[];
  /** What was read: a path or "-" for stdin. */
  origin: string;
}

export function readConfigText(origin: string): Buffer {
  try {
    return origin === '-' ? readFileSync(0) : readFileSync(origin);
  } catch (err) {
    throw new KindlingError('usage', `cannot read config ${origin === '-' ? 'from stdin' : origin}: ${(err as Error).message}`);
  }
}

export function loadConfig(origin: string): LoadedConfig {
  const { config, sourceVersion, report } = parseConfig(readConfigText(origin));
  return { config, sourceVersion, report, origin };
}

/** Child configs that a full render would fetch, as [pointer, url] pairs. */
export function childConfigReferences(config: Config): Array<[string, string]> {
  const refs: Array<[string, string]> = [];
  const c = config.ignition.config;
  if (c?.replace?.source) refs.push(['/ignition/config/replace/source', c.replace.source]);
  c?.merge?.forEach((m, i) => {
    if (m.source) refs.push([`/ignition/config/merge/${i}/source`, m.source]);
  });
  return refs;
}
