// Reads a config file (or stdin) for the human subcommands and renders it to the newest spec.
// Remote child configs (ignition.config.merge/replace) are resolved only when asked (--fetch):
// a dry-run must not reach the network by surprise.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parseConfigAsync } from '../config/index.js';
import type { Config } from '../config/types.js';
import { formatError, KindlingError, type ReportEntry } from '../errors.js';
import { fnv1a64Hex } from '../system/fnv1a64.js';
import { KINDLING_VERSION } from '../version.js';

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

export async function loadConfig(origin: string): Promise<LoadedConfig> {
  const { config, sourceVersion, report } = await parseConfigAsync(readConfigText(origin));
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

// ---------------------------------------------------------------------------------------------
// The config cache (-config-cache) between the Ignition-compatible stages.
//
// The fetch stage validates the user config, renders it to the newest spec and writes it as JSON;
// every later stage (a new process each) reads it back. Parsing and validating it again costs
// ~35 ms per 1,000 entries (the position-tracking parser, the schema walk and the semantic rules),
// which was a quarter of the files stage for 10,000 files. So when the Ignition CLI's fetch stage
// writes the cache it also writes a stamp beside it: the writer, the Kindling version and a
// checksum (FNV-1a 64; SHA-256 over 256 KiB) of the exact text it wrote from the config it had
// just validated. A later stage trusts the cache (plain JSON.parse) only when the stamp is ours,
// from this very version, and the checksum of the bytes it read matches; anything else — no stamp (Ignition or another tool wrote the
// cache), a cache edited or truncated after the fact, a stamp from another version, a stamp that
// does not parse — goes through parseConfigAsync exactly as before, so a bad cache still fails closed.
// The stamp guards against accidents, not against an attacker: whoever can write /run as root can
// rewrite both files, as they could replace the cache before validation or the binary itself.

const STAMP_WRITER = 'kindling-fetch';

export function cacheStampPath(cachePath: string): string {
  return `${cachePath}.kindling-stamp`;
}

// The stamp's checksum. Up to 256 KiB (nearly every config) FNV-1a 64 in JavaScript: no
// node:crypto to load (~5 ms of CPU per process, docs/startup.md), and a few hundredths of a ms for
// a small config (a JavaScript SHA-256 was ~0.2 ms cold). Bigger texts: SHA-256 by node:crypto,
// faster per byte. The stamp names which one it holds; both sides choose by the same size.
const JS_CHECKSUM_LIMIT = 256 * 1024;

async function checksum(data: string | Uint8Array): Promise<{ kind: 'fnv1a64' | 'sha256'; value: string }> {
  if ((typeof data === 'string' ? Buffer.byteLength(data) : data.length) <= JS_CHECKSUM_LIMIT) return { kind: 'fnv1a64', value: fnv1a64Hex(data) };
  const { createHash } = await import('node:crypto');
  return { kind: 'sha256', value: createHash('sha256').update(data).digest('hex') };
}

/**
 * Records that `text` (what was just written to cachePath) is a config this Kindling validated.
 * Written atomically; a failure only costs later stages the fast path, so it is not fatal.
 */
export async function writeCacheStamp(cachePath: string, text: string): Promise<boolean> {
  const sum = await checksum(text);
  const stamp = JSON.stringify({ writer: STAMP_WRITER, version: KINDLING_VERSION, [sum.kind]: sum.value, bytes: Buffer.byteLength(text) }) + '\n';
  const target = cacheStampPath(cachePath);
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, stamp, { mode: 0o600 });
    renameSync(tmp, target);
    return true;
  } catch {
    rmSync(tmp, { force: true });
    return false;
  }
}

export interface CachedConfig {
  config: Config;
  /** True when the stamp vouched for the text and it was not validated again. */
  trusted: boolean;
}

async function stampVouchesFor(cachePath: string, text: Buffer): Promise<boolean> {
  let raw: string;
  try {
    raw = readFileSync(cacheStampPath(cachePath), 'utf8');
  } catch {
    return false;
  }
  try {
    const s = JSON.parse(raw) as Record<string, unknown>;
    if (s.writer !== STAMP_WRITER || s.version !== KINDLING_VERSION || s.bytes !== text.length) return false;
    const sum = await checksum(text);
    return typeof s[sum.kind] === 'string' && s[sum.kind] === sum.value;
  } catch {
    return false;
  }
}

/**
 * The user config from the cache: trusted as written when our stamp vouches for these exact bytes
 * (see above), parsed and validated with parseConfigAsync otherwise. Throws KindlingError (usage) when
 * the cache cannot be read and (config-*) when it is not a valid config.
 */
export async function loadCachedConfig(cachePath: string): Promise<CachedConfig> {
  let text: Buffer;
  try {
    text = readFileSync(cachePath);
  } catch (err) {
    throw new KindlingError('usage', `couldn't read the config cache ${cachePath} (did the fetch stage run?): ${(err as Error).message}`);
  }
  if (await stampVouchesFor(cachePath, text)) {
    try {
      const config = JSON.parse(text.toString('utf8')) as Config;
      if (config !== null && typeof config === 'object' && typeof config.ignition?.version === 'string') return { config, trusted: true };
    } catch {
      /* cannot happen for a text we wrote; fall through to the full parse and its error */
    }
  }
  try {
    return { config: (await parseConfigAsync(text)).config, trusted: false };
  } catch (err) {
    throw new KindlingError('config-invalid', `failed to parse cached config ${cachePath}: ${formatError(err)}`, { cause: err });
  }
}
