// Which (case, version) runs to make, for which binary, and what is expected of them.
//   BLACKBOX_BIN       binary to test (default dist/kindling)
//   BLACKBOX_FILTER    regex on "name version" (e.g. '^files\.create' or 'tls\..* 3\.3\.0')
//   BLACKBOX_VERSIONS  ci (default: the newest stable registered version the binary accepts),
//                      newest, oldest, all, or a comma list (3.3.0,3.6.0)
//   BLACKBOX_MAX_SPEC  newest spec version the binary accepts (auto: 3.3.0 for Ignition 2.14;
//                      none for Kindling)
//   BLACKBOX_KNOWN_FAILURES  list of expected failures (default: known-failures.json for Kindling,
//                      known-failures-ignition-2.14.json for Debian's Ignition 2.14)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseSpec } from './corpus.js';
import { HERE } from './corpus.js';
import { run } from './exec.js';

export interface Target {
  bin: string;
  /** "kindling" or "ignition-2.14" etc. */
  flavour: string;
  versionText: string;
  isIgnition: boolean;
  maxSpec?: string;
  knownFailuresFile: string;
}

export async function detectTarget(bin: string): Promise<Target> {
  const r = await run(bin, ['-version'], { timeoutMs: 30_000 });
  const text = r.output.trim();
  const ig = /^Ignition .*?(\d+)\.(\d+)\.(\d+)/.exec(text);
  const isIgnition = !!ig;
  let maxSpec: string | undefined = process.env.BLACKBOX_MAX_SPEC || undefined;
  let flavour = 'kindling';
  if (ig) {
    const minor = Number(ig[2]);
    flavour = `ignition-${ig[1]}.${ig[2]}`;
    // Stable specs accepted by Ignition releases (3.3.0 since 2.14, 3.4.0 since 2.15, 3.5.0 since 2.20, 3.6.0 since 2.25).
    maxSpec ??= minor >= 25 ? '3.6.0' : minor >= 20 ? '3.5.0' : minor >= 15 ? '3.4.0' : minor >= 14 ? '3.3.0' : '3.2.0';
  }
  const knownFailuresFile = process.env.BLACKBOX_KNOWN_FAILURES || join(HERE, isIgnition ? `known-failures-${flavour}.json` : 'known-failures.json');
  return { bin, flavour, versionText: text, isIgnition, maxSpec, knownFailuresFile };
}

function parseVersion(v: string): [number, number, number, boolean] {
  const m = /^(\d+)\.(\d+)\.(\d+)(-experimental)?$/.exec(v);
  if (!m) return [0, 0, 0, false];
  return [Number(m[1]), Number(m[2]), Number(m[3]), !!m[4]];
}

/** Ignition accepts an experimental version only if it is its own; the corpus' experimental
 * versions (3.0.0-, 3.7.0-experimental) are newer than any stable spec an old binary knows. */
function accepted(v: string, maxSpec?: string): boolean {
  if (!maxSpec) return true;
  const [a, b, c, exp] = parseVersion(v);
  const [x, y, z] = parseVersion(maxSpec);
  const cmp = a !== x ? a - x : b !== y ? b - y : c - z;
  if (exp) return false;
  return cmp <= 0;
}

export interface PlannedRun {
  c: CaseSpec;
  version: string;
  /** "kind/name version": upstream names subtests "name version" under TestIgnitionBlackBox
   * (positive) or TestIgnitionBlackBoxNegative; two names exist in both. */
  id: string;
}

export interface SkippedCase {
  c: CaseSpec;
  reason: string;
}

export function planRuns(cases: CaseSpec[], target: Target): { runs: PlannedRun[]; skipped: SkippedCase[] } {
  const mode = process.env.BLACKBOX_VERSIONS || 'ci';
  const filter = process.env.BLACKBOX_FILTER ? new RegExp(process.env.BLACKBOX_FILTER) : undefined;
  const runs: PlannedRun[] = [];
  const skipped: SkippedCase[] = [];
  for (const c of cases) {
    // Version-less cases run once, with the config as written.
    const registered = c.registeredVersions.length ? c.registeredVersions : [''];
    const ok = registered.filter((v) => v === '' || accepted(v, target.maxSpec));
    let chosen: string[];
    if (!ok.length) {
      if (!filter || filter.test(c.name)) skipped.push({ c, reason: `registered only at ${registered.join(', ')}, newer than the ${target.maxSpec} this binary accepts` });
      continue;
    }
    if (mode === 'all') chosen = ok;
    else if (mode === 'oldest') chosen = [ok[0]];
    else if (mode === 'newest') chosen = [ok[ok.length - 1]];
    else if (mode === 'ci') {
      const stable = ok.filter((v) => !v.endsWith('-experimental'));
      chosen = [stable.length ? stable[stable.length - 1] : ok[ok.length - 1]];
    } else {
      const want = mode.split(',').map((s) => s.trim());
      chosen = ok.filter((v) => want.includes(v));
      if (!chosen.length) continue;
    }
    for (const version of chosen) {
      if (filter && !filter.test(`${c.name} ${version}`)) continue;
      const id = `${c.kind}/${c.name} ${version}`;
      runs.push({ c, version, id });
    }
  }
  return { runs, skipped };
}

export interface KnownFailure {
  case: string;
  /** positive or negative: needed only for the two names that exist as both. */
  kind?: 'positive' | 'negative';
  reason: string;
  /** Only at these versions (default: every version). */
  versions?: string[];
  /** Fails only sometimes (e.g. state shared between runs): a pass is reported, not an error. */
  flaky?: boolean;
}

export interface KnownFailures {
  description?: string;
  failures: KnownFailure[];
}

export function loadKnownFailures(file: string): KnownFailures {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as KnownFailures;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { failures: [] };
    throw err;
  }
}

export function knownFailure(list: KnownFailures, kind: string, name: string, version: string): KnownFailure | undefined {
  return list.failures.find((f) => f.case === name && (!f.kind || f.kind === kind) && (!f.versions || f.versions.includes(version)));
}
