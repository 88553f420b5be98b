// Go's time.ParseDuration, which Ignition's -fetch-timeout flag uses: a sequence of decimal numbers
// each with a unit (ns, us, µs, ms, s, m, h), an optional sign, "0" alone allowed. "5" without a
// unit is an error, exactly as `ignition -fetch-timeout 5` says "parse error".
import { KindlingError } from '../errors.js';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds. Throws KindlingError("usage") for text Go would refuse. */
export function parseGoDuration(text: string): number {
  const bad = () => new KindlingError('usage', `invalid value "${text}" for flag -fetch-timeout: parse error`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) throw bad();
    total += parseFloat(m[1]!) * UNIT_MS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}
