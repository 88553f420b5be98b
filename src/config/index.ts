// The config engine's public face. Everything else imports config behaviour from here.
//
// parseConfig follows Ignition's config.Parse step by step (plus Flatcar's 1.x/2.x support):
//   empty text                      -> "not a config (empty)"
//   not JSON                        -> "config is not valid" + the syntax error's line/column
//   ignition.version not semver     -> "invalid config version (couldn't parse)"
//   1.x / 2.x                       -> translateLegacy, then the 3.x steps below
//
// The 1.x/2.x translators (./legacy/) are not loaded with this module: a 3.x config, what nearly
// every boot carries, never initialises them (docs/startup.md). parseConfigAsync loads them when
// the text turns out to need them; the synchronous parseConfig handles 3.x, and 1.x/2.x only once
// loadLegacyTranslators() has resolved (tests and tools that parse many configs in a loop).
//   version not supported           -> "unsupported config version"
//   JSON types wrong for the spec   -> "config is not valid" + Go-style type errors
//   semantic rules fail             -> "config is not valid" + every error (and warnings)
import { KindlingError, toPointer, type ConfigLocation, type ReportEntry } from '../errors.js';
import { byPosition, decodeDocument, dropNulls } from './decode.js';
import { JsonSyntaxError, MAX_DEPTH, parseJson, type JsonValue, type ParsedJson, type Position } from './json/parse.js';
import { mergeConfigs as mergeConfigTrees } from './merge.js';
import { minorOf, type SpecVersion } from './schema/spec.js';
import type { Config } from './types.js';
import { EXPERIMENTAL_VERSION, NEWEST_VERSION } from './types.js';
import type { Finding } from './validate/report.js';
import { validateTree } from './validate/walk.js';
import { parseSemver, supportedSpec } from './version.js';

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

export const ERR_EMPTY = 'not a config (empty)';
export const ERR_INVALID = 'config is not valid';
export const ERR_INVALID_VERSION = "invalid config version (couldn't parse)";
export const ERR_UNKNOWN_VERSION = 'unsupported config version';

type LegacyModule = typeof import('./legacy/index.js');
let legacy: LegacyModule | undefined;

/**
 * Loads the spec 1.x/2.x translators. Eager import: the code is inside the one bundle file, but
 * its modules are initialised only when this runs. Set KINDLING_DEBUG_MODULES=1 to see when.
 */
export async function loadLegacyTranslators(): Promise<void> {
  legacy ??= await import(/* webpackMode: "eager" */ './legacy/index.js');
}

/** Thrown by the synchronous parseConfig for a 1.x/2.x config before loadLegacyTranslators(). */
export class LegacyTranslatorsNotLoaded extends Error {
  constructor(readonly declared: string) {
    super(`internal error: a spec ${declared} config needs the 1.x/2.x translators; parse it with parseConfigAsync (or await loadLegacyTranslators() first)`);
  }
}

/**
 * Parse config text of any supported version, validate it (schema and semantic rules), and
 * translate it to the newest spec. Throws KindlingError (kind config-syntax, config-version or
 * config-invalid) whose entries carry every error with JSON pointer, line and column.
 * Loads the 1.x/2.x translators when (and only when) the text declares such a version.
 */
export async function parseConfigAsync(text: string | Uint8Array, opts: ParseOptions = {}): Promise<ParseResult> {
  try {
    return parseConfig(text, opts);
  } catch (err) {
    if (!(err instanceof LegacyTranslatorsNotLoaded)) throw err;
  }
  await loadLegacyTranslators();
  return parseConfig(text, opts);
}

/**
 * parseConfig, synchronously: any 3.x config; a 1.x/2.x one only after loadLegacyTranslators()
 * resolved (else LegacyTranslatorsNotLoaded). Errors as parseConfigAsync.
 */
export function parseConfig(text: string | Uint8Array, opts: ParseOptions = {}): ParseResult {
  const str = typeof text === 'string' ? text : new TextDecoder().decode(text);
  if (str.length === 0) throw new KindlingError('config-syntax', ERR_EMPTY);
  const clean = parseClean(str, opts);
  if (clean) {
    parsePaths.clean++;
    return clean;
  }
  parsePaths.tracked++;
  return parseTracked(str, opts);
}

/** parseConfig without the fast path: what every report comes from (exported for tests). */
export function parseTracked(str: string, opts: ParseOptions = {}): ParseResult {
  if (str.length === 0) throw new KindlingError('config-syntax', ERR_EMPTY);
  return parseDocument(parseJsonOrThrow(str), str, opts, true);
}

/** How many texts each path of parseConfig returned (tests check that the fast path is taken). */
export const parsePaths = { clean: 0, tracked: 0 };

/**
 * The fast path. Most configs are valid and draw no finding at all, and for those the positions
 * the tracking parser records (src/config/json/parse.ts: a pointer, a line and a column for every
 * value) are never used. So the text is first read by node's own JSON.parse and decoded and
 * validated without positions; the result is kept only when it has no finding. Anything else —
 * a warning, an error, a 1.x/2.x config, a number literal Go might refuse (420.0, 4.2e2), nesting
 * the tracking parser refuses, text JSON.parse refuses — returns undefined, and the caller parses
 * again with positions, so every report is the tracking parser's. JSON.parse and that parser give
 * the same values for what gets here (RFC 8259 both, last duplicate key wins, \u escapes kept as
 * UTF-16 code units); test/config/fast-parse.test.ts compares the two paths.
 */
function parseClean(str: string, opts: ParseOptions): ParseResult | undefined {
  if (!plainLiterals(str)) return undefined;
  let value: JsonValue;
  try {
    value = JSON.parse(str) as JsonValue;
  } catch {
    return undefined;
  }
  try {
    const r = parseDocument({ value, valueAt: new Map(), keyAt: new Map(), valueEnd: new Map(), numberText: new Map() }, str, opts, false);
    return r.report.length === 0 ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether every number literal in `text` is a plain integer (no fraction, no exponent: Go refuses
 * those for int fields, and only the literal says so), and no object or array nests as deep as
 * the tracking parser refuses. Strings are skipped; outside them "." belongs to a number, and an
 * "e" after a digit too ("true" and "false" have theirs after a letter).
 */
function plainLiterals(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_DEPTH) return false;
      depth++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2e) {
      return false;
    } else if ((c === 0x65 || c === 0x45) && i > 0) {
      const p = text.charCodeAt(i - 1);
      if (p >= 0x30 && p <= 0x39) return false;
    }
  }
  return true;
}

/** A parsed document to a config; `track`: the document carries positions (see parseClean). */
function parseDocument(parsed: ParsedJson, str: string, opts: ParseOptions, track: boolean): ParseResult {
  if (opts.exactVersion !== undefined) {
    const spec = opts.exactVersion as SpecVersion;
    const decoded = decodeOrThrow(parsed, spec, track);
    const declared = readVersion(decoded.config);
    const sv = typeof declared === 'string' ? parseSemver(declared) : null;
    if (!sv || supportedSpec(sv) !== spec) throw new KindlingError('config-version', ERR_UNKNOWN_VERSION);
    return finish(decoded.config, spec, declared as string, parsed, decoded.positions, decoded.warnings);
  }

  const stub = readVersionStub(parsed);
  const legacy = (version: string): ParseResult => {
    if (!track) throw new Error('1.x and 2.x configs take the tracking path');
    return parseLegacy(str, version);
  };
  if (stub.legacy !== undefined) return legacy(stub.legacy);
  const sv = parseSemver(stub.version);
  if (!sv) throw new KindlingError('config-version', ERR_INVALID_VERSION, { location: stub.location });
  if (sv.major === 2 && sv.metadata === '' && sv.preRelease === '') return legacy(stub.version);
  const spec = supportedSpec(sv);
  if (!spec) throw new KindlingError('config-version', ERR_UNKNOWN_VERSION, { location: stub.location });
  const decoded = decodeOrThrow(parsed, spec, track);
  return finish(decoded.config, spec, stub.version, parsed, decoded.positions, decoded.warnings);
}

function parseJsonOrThrow(str: string): ParsedJson {
  try {
    return parseJson(str);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const location: ConfigLocation = { pointer: '', line: err.position.line, column: err.position.column };
    throw new KindlingError('config-syntax', ERR_INVALID, {
      location,
      entries: [{ kind: 'error', message: err.message, location }],
      cause: err,
    });
  }
}

interface VersionStub {
  version: string;
  legacy?: string;
  location?: ConfigLocation;
}

/** The part of the document that names its version, read as Go reads Ignition's versionStub. */
function readVersionStub(parsed: ParsedJson): VersionStub {
  const root = parsed.value;
  const typeError = (what: string, into: string, pointer: string): never => {
    const pos = parsed.valueEnd.get(pointer);
    const location: ConfigLocation = { pointer, line: pos?.line, column: pos?.column };
    throw new KindlingError('config-invalid', ERR_INVALID, {
      location,
      entries: [{ kind: 'error', message: `json: cannot unmarshal ${what} into ${into}`, location }],
    });
  };
  if (root === null) return { version: '' };
  if (typeof root !== 'object' || Array.isArray(root)) return typeError(goJsonType(root), 'Go value of type util.versionStub', '');
  const ignKey = lastKeyFolded(root, 'ignition');
  // Spec 1: {"ignitionVersion": 1} and no ignition section.
  const v1Key = lastKeyFolded(root, 'ignitionVersion');
  if (v1Key !== undefined && root[v1Key] === 1 && ignKey === undefined) return { version: '', legacy: '1' };
  if (ignKey === undefined) return { version: '' };
  const ign = root[ignKey];
  if (ign === null) return { version: '' };
  if (typeof ign !== 'object' || Array.isArray(ign)) return typeError(goJsonType(ign), 'Go struct field versionStub.ignition of type struct { Version string "json:\\"version,omitempty\\"" }', toPointer([ignKey]));
  const verKey = lastKeyFolded(ign, 'version');
  if (verKey === undefined) return { version: '' };
  const ver = ign[verKey];
  const pointer = toPointer([ignKey, verKey]);
  const pos = parsed.valueAt.get(pointer);
  const location: ConfigLocation = { pointer, line: pos?.line, column: pos?.column };
  if (ver === null) return { version: '', location };
  if (typeof ver !== 'string') return typeError(goJsonType(ver), 'Go struct field .ignition.version of type string', pointer);
  return { version: ver, location };
}

/** The key Go's decoder would use for `field`: the last one matching case-insensitively, exact matches included. */
function lastKeyFolded(obj: { [k: string]: JsonValue }, field: string): string | undefined {
  let found: string | undefined;
  for (const k of Object.keys(obj)) if (k.toLowerCase() === field.toLowerCase()) found = k;
  return found;
}

function goJsonType(v: JsonValue): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return v === null ? 'null' : typeof v;
}

function readVersion(cfg: Config): unknown {
  return (cfg as { ignition?: { version?: unknown } }).ignition?.version;
}

interface DecodedConfig {
  config: Config;
  positions: Map<string, Position>;
  warnings: ReportEntry[];
}

function decodeOrThrow(parsed: ParsedJson, spec: SpecVersion, track = true): DecodedConfig {
  const decoded = decodeDocument(parsed, minorOf(spec), track);
  if (decoded.errors.length > 0) {
    throw new KindlingError('config-invalid', ERR_INVALID, { location: decoded.errors[0].location, entries: [...decoded.errors, ...decoded.warnings] });
  }
  const config = (dropNulls(decoded.doc) ?? {}) as unknown as Config;
  if (typeof config !== 'object' || config === null) throw new KindlingError('config-invalid', ERR_INVALID);
  config.ignition ??= { version: '' };
  return { config, positions: decoded.positions, warnings: decoded.warnings };
}

/** Where a finding points: its own position, else the nearest enclosing value's. */
export function locate(path: (string | number)[], positions: Map<string, Position>): ConfigLocation {
  const pointer = toPointer(path);
  for (let n = path.length; n >= 0; n--) {
    const pos = positions.get(toPointer(path.slice(0, n)));
    if (pos) return { pointer, line: pos.line, column: pos.column };
  }
  return { pointer };
}

function toEntries(findings: Finding[], positions: Map<string, Position>): ReportEntry[] {
  return findings.map((f) => ({ kind: f.kind, message: f.message, location: locate(f.path, positions) }));
}

function finish(config: Config, spec: SpecVersion, declared: string, parsed: ParsedJson, positions: Map<string, Position>, unused: ReportEntry[]): ParseResult {
  void parsed;
  const findings = validateTree(config, minorOf(spec)).list;
  const entries = [...toEntries(findings, positions), ...unused];
  if (entries.some((e) => e.kind === 'error')) {
    const first = entries.find((e) => e.kind === 'error');
    throw new KindlingError('config-invalid', ERR_INVALID, { location: first?.location, entries });
  }
  return { config: translateToNewest(config, spec), sourceVersion: declared, report: entries.sort(byKind) };
}

function byKind(a: ReportEntry, b: ReportEntry): number {
  return a.kind === b.kind ? byPosition(a, b) : a.kind === 'error' ? -1 : 1;
}

/**
 * 3.0–3.5 configs are 3.6 configs with fewer fields: the version changes, and specs before 3.4
 * lose setuid/setgid/sticky bits on files and directories, as Ignition's translation drops them
 * (those specs only had permission bits; validation warns about them).
 */
export function translateToNewest(config: Config, spec: SpecVersion): Config {
  const version = spec === EXPERIMENTAL_VERSION ? EXPERIMENTAL_VERSION : NEWEST_VERSION;
  const out: Config = { ...config, ignition: { ...config.ignition, version } };
  if (minorOf(spec) < 4 && config.storage) {
    const permissionsOnly = <T extends { mode?: number }>(n: T): T => (n.mode !== undefined && (n.mode & 0o7000) !== 0 ? { ...n, mode: n.mode & 0o777 } : n);
    out.storage = {
      ...config.storage,
      ...(config.storage.files ? { files: config.storage.files.map(permissionsOnly) } : {}),
      ...(config.storage.directories ? { directories: config.storage.directories.map(permissionsOnly) } : {}),
    };
  }
  return out;
}

function parseLegacy(text: string, declared: string): ParseResult {
  if (!legacy) throw new LegacyTranslatorsNotLoaded(declared);
  const translated = legacy.translateLegacy(JSON.parse(text), declared);
  const result = parseConfig(JSON.stringify(translated));
  return { ...result, sourceVersion: declared };
}

/** Ignition's merge: `child` applied over `parent` (keyed lists, child wins, order kept). */
export function mergeConfigs(parent: Config, child: Config): Config {
  return mergeConfigTrees(parent, child);
}

/** Validate an already-parsed newest-spec config (e.g. the result of a merge). */
export function validateConfig(config: Config): ReportEntry[] {
  const spec: SpecVersion = config.ignition?.version === EXPERIMENTAL_VERSION ? EXPERIMENTAL_VERSION : NEWEST_VERSION;
  return toEntries(validateTree(config, minorOf(spec)).list, new Map());
}

/** An empty config of the newest version: what a boot with "no config provided" runs. */
export function emptyConfig(): Config {
  return { ignition: { version: '3.6.0' } };
}

export { DEFAULTS, resolveTimeouts, fileMode, directoryMode, overwriteOf, isHardLink } from './defaults.js';
export { SPEC_VERSIONS, buildSchema } from './schema/spec.js';
