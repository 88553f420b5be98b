// Ignition's documented defaults, in one place, for stages that need a concrete value.
// Parsing never fills these in: an unset field stays unset in the Config, because "unset" can
// mean something different (e.g. an existing file keeps its mode when mode and contents are unset
// and overwrite is false).
import type { Directory, File, Link, Timeouts } from './types.js';

export const DEFAULTS = {
  fileMode: 0o644,
  directoryMode: 0o755,
  overwrite: false,
  linkHard: false,
  /** seconds */
  httpResponseHeaders: 10,
  /** seconds; 0 means no limit */
  httpTotal: 0,
  /** GPT type GUID Ignition gives new partitions (Linux filesystem data). */
  partitionTypeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  clevisThreshold: 1,
} as const;

export function fileMode(f: File): number {
  return f.mode ?? DEFAULTS.fileMode;
}

export function directoryMode(d: Directory): number {
  return d.mode ?? DEFAULTS.directoryMode;
}

export function overwriteOf(n: File | Directory | Link): boolean {
  return n.overwrite ?? DEFAULTS.overwrite;
}

export function isHardLink(l: Link): boolean {
  return l.hard ?? DEFAULTS.linkHard;
}

/** Timeouts with defaults filled in, in seconds (0 = no limit). */
export function resolveTimeouts(t: Timeouts | undefined): Required<Timeouts> {
  return {
    httpResponseHeaders: t?.httpResponseHeaders ?? DEFAULTS.httpResponseHeaders,
    httpTotal: t?.httpTotal ?? DEFAULTS.httpTotal,
  };
}
