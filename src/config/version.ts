// Spec version strings, read the way Ignition reads them (github.com/coreos/go-semver): exactly
// MAJOR.MINOR.PATCH, an optional -prerelease and +metadata, and a version is supported only if
// every part matches one of the spec versions exactly ("3.3.0+x" and "3.2.0-experimental" are not).
import { SPEC_VERSIONS, type SpecVersion } from './schema/spec.js';

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  preRelease: string;
  metadata: string;
}

const IDENTIFIER = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;

/** null when go-semver would refuse the string. */
export function parseSemver(text: string): SemVer | null {
  let rest = text;
  let metadata = '';
  let preRelease = '';
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    metadata = rest.slice(plus + 1);
    rest = rest.slice(0, plus);
  }
  const dash = rest.indexOf('-');
  if (dash >= 0) {
    preRelease = rest.slice(dash + 1);
    rest = rest.slice(0, dash);
  }
  const parts = splitN(rest, '.', 3);
  if (parts.length !== 3) return null;
  if (preRelease !== '' && !IDENTIFIER.test(preRelease)) return null;
  if (metadata !== '' && !IDENTIFIER.test(metadata)) return null;
  const nums: number[] = [];
  for (const p of parts) {
    // strconv.ParseInt: optional sign, decimal digits only.
    if (!/^[+-]?\d+$/.test(p)) return null;
    const n = Number(p);
    if (!Number.isSafeInteger(n)) return null;
    nums.push(n);
  }
  return { major: nums[0], minor: nums[1], patch: nums[2], preRelease, metadata };
}

function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  out.push(rest);
  return out;
}

/** The spec version this semver names exactly, if Kindling supports it. */
export function supportedSpec(v: SemVer): SpecVersion | undefined {
  if (v.metadata !== '') return undefined;
  const canonical = `${v.major}.${v.minor}.${v.patch}${v.preRelease ? '-' + v.preRelease : ''}`;
  return (SPEC_VERSIONS as readonly string[]).includes(canonical) ? (canonical as SpecVersion) : undefined;
}
