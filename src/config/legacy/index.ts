// Spec 1.x and 2.0–2.4 configs translated to 3.x the way Flatcar's Ignition does it: the 2.x
// config is decoded and validated by the rules of its own version (1.x is first turned into 2.0),
// then translated to a spec 3.1.0 document, which the 3.x parser validates like any other.
// Versions accepted: ignitionVersion 1, and 2.0.0, 2.1.0, 2.2.0, 2.3.0, 2.4.0 (Flatcar's v2_4
// parser chain; experimental 2.x versions are refused, as there).
import { writeSync } from 'node:fs';
import { KindlingError, type ReportEntry } from '../../errors.js';
import { checkShape, obj, Report, type JsonObject } from './check.js';
import { checkRules2 } from './rules.js';
import { SPEC1, SPEC2 } from './schemas.js';
import { translate2to3 } from './to3.js';
import { translateV1 } from './v1.js';

export { TARGET_VERSION } from './to3.js';

// This module is loaded on demand (loadLegacyTranslators in ../index.ts): a 3.x config must not
// initialise it. KINDLING_DEBUG_MODULES=1 says when it is (test/config/lazy-legacy.test.ts).
if (process.env.KINDLING_DEBUG_MODULES) writeSync(2, 'kindling: debug: module config/legacy initialised\n');

/** The 2.x minor version of a declared version, or undefined when Flatcar does not accept it. */
export function legacyMinor(version: string): number | undefined {
  const m = /^2\.([0-4])\.0$/.exec(version);
  return m ? Number(m[1]) : undefined;
}

export interface LegacyResult {
  /** The spec 3.1.0 document (plain JSON). */
  config: Record<string, unknown>;
  /** Warnings about the old config (unknown keys, deprecated fields), located in the input. */
  warnings: ReportEntry[];
}

/**
 * Translate a parsed (JSON.parse'd) spec 1.x/2.x document into a spec 3.x JSON document (plain
 * object with ignition.version set to a 3.x version) that the 3.x parser then validates.
 * Throws KindlingError('config-invalid') naming the JSON pointer of what cannot be translated.
 */
export function translateLegacy(doc: unknown, declaredVersion: string): Record<string, unknown> {
  return translateLegacyWithReport(doc, declaredVersion).config;
}

/** translateLegacy, also returning the warnings. */
export function translateLegacyWithReport(doc: unknown, declaredVersion: string): LegacyResult {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new KindlingError('config-invalid', 'a config must be a JSON object', { location: { pointer: '' } });
  }
  const raw = doc as Record<string, unknown>;
  const ignition = raw.ignition;
  const hasV2Version = ignition !== null && typeof ignition === 'object' && !Array.isArray(ignition) && (ignition as Record<string, unknown>).version !== undefined;
  const isV1 = !hasV2Version && (declaredVersion === '1' || /^1(\.0\.0)?$/.test(declaredVersion) || raw.ignitionVersion !== undefined);

  let report: Report;
  let v2: JsonObject;
  let minor: number;
  if (isV1) {
    if (raw.ignitionVersion !== 1) {
      throw new KindlingError('config-version', `unsupported config version: ignitionVersion ${JSON.stringify(raw.ignitionVersion ?? null)} (spec 1 configs say "ignitionVersion": 1)`, {
        location: { pointer: '/ignitionVersion' },
      });
    }
    const shapeReport = new Report();
    const v1 = obj(checkShape(raw, SPEC1, [], 1, shapeReport) ?? {});
    fail(shapeReport, '1');
    const t = translateV1(v1);
    report = new Report(t.remap);
    report.entries.push(...shapeReport.entries);
    v2 = t.doc;
    minor = 0;
  } else {
    const version = hasV2Version ? (ignition as Record<string, unknown>).version : declaredVersion;
    const m = typeof version === 'string' ? legacyMinor(version) : undefined;
    if (m === undefined) {
      throw new KindlingError('config-version', `unsupported config version ${JSON.stringify(version)}: spec 2 configs must say 2.0.0, 2.1.0, 2.2.0, 2.3.0 or 2.4.0`, {
        location: { pointer: '/ignition/version' },
      });
    }
    minor = m;
    report = new Report();
    v2 = obj(checkShape(raw, SPEC2, [], minor, report) ?? {});
    fail(report, String(version));
  }
  checkRules2(v2, minor, report);
  fail(report, isV1 ? '1' : `2.${minor}.0`);
  const config = translate2to3(v2, report);
  fail(report, isV1 ? '1' : `2.${minor}.0`, 'cannot be translated to spec 3');
  return { config, warnings: report.entries.filter((e) => e.kind !== 'error') };
}

function fail(report: Report, version: string, what = 'is not valid'): void {
  if (!report.failed) return;
  const errors = report.entries.filter((e) => e.kind === 'error');
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
  throw new KindlingError('config-invalid', `spec ${version} config ${what}: ${first.message}${more}`, {
    location: first.location,
    entries: report.entries,
  });
}
