// The config engine's public face. Everything else imports config behaviour from here.
// (Bodies are filled in by the config engine work; signatures are the contract.)
import { KindlingError, type ReportEntry } from '../errors.js';
import type { Config } from './types.js';

export interface ParseResult {
  /** The config, translated to the newest spec, nulls dropped, Ignition's defaults NOT filled in. */
  config: Config;
  /** The version the text declared ("2.3.0", "3.1.0", "1" ...). */
  sourceVersion: string;
  /** Warnings (and infos); errors make parseConfig throw instead. */
  report: ReportEntry[];
}

export interface ParseOptions {
  /** Accept only this exact version (Ignition's per-version Parse); default: any supported version. */
  exactVersion?: string;
}

/**
 * Parse config text of any supported version, validate it (schema and semantic rules), and
 * translate it to the newest spec. Throws KindlingError (kind config-syntax, config-version or
 * config-invalid) whose entries carry every error with JSON pointer, line and column.
 */
export function parseConfig(_text: string | Uint8Array, _opts: ParseOptions = {}): ParseResult {
  throw new KindlingError('config-invalid', 'config parsing is not implemented yet');
}

/** Ignition's merge: `child` applied over `parent` (keyed lists, child wins, order kept). */
export function mergeConfigs(_parent: Config, _child: Config): Config {
  throw new KindlingError('config-invalid', 'config merging is not implemented yet');
}

/** Validate an already-parsed newest-spec config (e.g. the result of a merge). */
export function validateConfig(_config: Config): ReportEntry[] {
  throw new KindlingError('config-invalid', 'config validation is not implemented yet');
}

/** An empty config of the newest version: what a boot with "no config provided" runs. */
export function emptyConfig(): Config {
  return { ignition: { version: '3.6.0' } };
}
