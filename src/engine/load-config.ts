// Reads a config file (or stdin) for the human subcommands and renders it to the newest spec.
// Remote child configs (ignition.config.merge/replace) are resolved only when asked (--fetch):
// a dry-run must not reach the network by surprise.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parseConfigAsync } from '../config/index.js';
import type { Config } from '../config/types.js';
import { formatError, KindlingError, type ReportEntry } from '../errors.js';
import { sha256Hex } from '../system/sha256.js';
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
// writes the cache it also writes a stamp beside it: the writer, the Kindling version and the
// SHA-256 of the exact text it wrote from the config it had just validated. A later stage trusts
// the cache (plain JSON.parse) only when the stamp is ours, from this very version, and the hash
// of the bytes it read matches; anything else — no stamp (Ignition or another tool wrote the
// cache), a cache edited or truncated after the fact, a stamp from another version, a stamp that
// does not parse — goes through parseConfigAsync exactly as before, so a bad cache still fails closed.
// The stamp guards against accidents, not against an attacker: whoever can write /run as root can
// rewrite both files, as they could replace the cache before validation or the binary itself.

const STAMP_WRITER = 'kindling-fetch';

export function cacheStampPath(cachePath: string): string {
  return `${cachePath}.kindling-stamp`;
}

// Small texts (nearly every config) are hashed in JavaScript: loading node:crypto costs ~5 ms of
// CPU per process, more than hashing 4 KiB here (docs/startup.md); bigger ones by node:crypto.
// Same SHA-256 either way (src/system/sha256.test.ts).
const JS_HASH_LIMIT = 4096;

async function sha256(data: string | Uint8Array): Promise<string> {
  if ((typeof data === 'string' ? Buffer.byteLength(data) : data.length) <= JS_HASH_LIMIT) return sha256Hex(data);
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Records that `text` (what was just written to cachePath) is a config this Kindling validated.
 * Written atomically; a failure only costs later stages the fast path, so it is not fatal.
 */
export async function writeCacheStamp(cachePath: string, text: string): Promise<boolean> {
  const stamp = JSON.stringify({ writer: STAMP_WRITER, version: KINDLING_VERSION, sha256: await sha256(text), bytes: Buffer.byteLength(text) }) + '\n';
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
    return s.writer === STAMP_WRITER && s.version === KINDLING_VERSION && s.bytes === text.length && typeof s.sha256 === 'string' && s.sha256 === (await sha256(text));
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
