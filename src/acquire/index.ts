// Acquiring the config, in Ignition's order (internal/exec/engine.go):
//   1. the system base configs (base.d, base.platform.d/PLATFORM) -> state {base, system}
//   2. the user config, from the first source that has one:
//        cmdline (ignition.config.url / flatcar.config.url / coreos.config.url, or
//                 ignition.config.device + ignition.config.path)
//        system  (user.ign in /run, /etc, /usr/lib ignition dirs; Flatcar's OEM config.ign)
//        the platform's provider
//      -> state {user, <cmdline|system|platform>}
//   3. "no config" (empty bytes, a cloud-config, a script, a provider's 404) -> an empty config
//   4. render (merge/replace children) and validate
// The fetch stages write the rendered USER config to the cache (as Ignition does); every stage
// then runs with merge(base, cached user config).
import { mergeConfigs, parseConfigAsync, emptyConfig, validateConfig } from '../config/index.js';
import type { Config } from '../config/types.js';
import { KindlingError, formatError } from '../errors.js';
// The fetching machinery (resources/index.ts: node:crypto, node:stream, node:zlib) loads on the
// first fetch; a fetch-offline from fw_cfg or a file never needs it (docs/startup.md).
import { displayUrl, FetchError } from '../resources/errors.js';
import { needsNetwork } from '../resources/scheme.js';
import { readCmdline } from './cmdline.js';
import type { AcquireEnv } from './env.js';
import { platformFetchOptions } from './fetcher.js';
import { NeedNetError } from './errors.js';
import { makeHttpClient, type HttpClient } from './http.js';
import { loadProvider, providerNames } from './providers/index.js';
import type { ProviderContext } from './providers/types.js';
import { renderConfig } from './render.js';
import { findUserConfig, loadBaseConfig } from './system.js';
import { recordFetched, type IgnitionState } from './state.js';
import { classifyUserData, describeSkipped } from './userdata.js';

export interface AcquireOptions {
  platform: string;
  env: AcquireEnv;
  state: IgnitionState;
  offline: boolean;
  /** -fetch-timeout: applied as timeouts.httpTotal of the initial fetches, and bounds waits. */
  fetchTimeoutMs: number;
  signal?: AbortSignal;
  /** Tests inject a client; default the resources layer's (loaded lazily). */
  http?: HttpClient;
}

export interface AcquiredConfig {
  /** The rendered user config (what goes to the cache). */
  config: Config;
  /** Which source gave it: cmdline, system or the platform's name. */
  source: string;
  /** Why the config is empty, when it is. */
  emptyBecause?: string;
}

/** Step 1, also run by every later stage. Records {base, system} in the state on success. */
export async function acquireBaseConfig(env: AcquireEnv, platform: string, state: IgnitionState): Promise<Config> {
  let r;
  try {
    r = await loadBaseConfig(env, platform);
  } catch (err) {
    throw new KindlingError(err instanceof KindlingError ? err.kind : 'platform', `failed to acquire system base config: ${formatError(err)}`, {
      entries: err instanceof KindlingError ? err.entries : [],
      cause: err,
    });
  }
  recordFetched(state, { kind: 'base', source: 'system', referenced: false });
  return r.config;
}

async function parseUser(data: Buffer | null, source: string, env: AcquireEnv): Promise<{ config: Config; emptyBecause?: string }> {
  const kind = classifyUserData(data);
  if (kind !== 'config') {
    const why = describeSkipped(kind, source);
    env.log.info(why);
    return { config: emptyConfig(), emptyBecause: why };
  }
  try {
    const r = await parseConfigAsync(data!);
    for (const w of r.report) env.log.warn(`${source}: ${w.message}`);
    return { config: r.config };
  } catch (err) {
    throw new KindlingError(err instanceof KindlingError ? err.kind : 'config-invalid', `the config from ${source} ${formatError(err)}`, {
      entries: err instanceof KindlingError ? err.entries : [],
      cause: err,
    });
  }
}

/** The scheme Go's url.Parse finds ("" for a bare path such as /oem/config.ign). */
export function goUrlScheme(url: string): string {
  return /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase() ?? '';
}

/** The cmdline provider: bytes, or undefined when the command line names no config (Ignition's ErrNoProvider). */
async function fromCmdline(o: AcquireOptions, httpTotal: number): Promise<{ data: Buffer | null; what: string } | undefined> {
  const f = readCmdline(o.env.cmdlinePath);
  if (f.configUrl) {
    if (f.configDevice || f.configPath) o.env.log.warn(`"${f.configUrlKey}" takes precedence; ignoring "ignition.config.device" and "ignition.config.path"`);
    // Ignition hands the URL to its fetcher (checked against Ignition 2.14):
    //  - no scheme (a bare path): the fetcher returns nothing, so the config is empty, offline too;
    //  - fetch-offline: every scheme but data: needs the network (file:, oem:, ftp: included), so
    //    fetch-offline signals neednet and fetch then fails on the unsupported ones;
    //  - file: and oem: are not fetcher schemes: "unsupported source scheme".
    const scheme = goUrlScheme(f.configUrl);
    if (scheme === '') {
      o.env.log.warn(`${f.configUrlKey}=${displayUrl(f.configUrl)} has no URL scheme: as in Ignition, that is no config`);
      return { data: null, what: f.configUrlKey! };
    }
    if (o.offline && (scheme !== 'data' || needsNetwork(f.configUrl))) throw new NeedNetError(`the config URL on the kernel command line (${f.configUrlKey})`);
    if (scheme === 'oem') {
      throw new FetchError(`${displayUrl(f.configUrl)}: unsupported source scheme "oem" (Ignition does not fetch oem:// URLs from the kernel command line); supported schemes: http, https, tftp, s3, arn, gs, data`);
    }
    o.env.log.info(`fetching the config from ${f.configUrlKey}`);
    const { fetchResource } = await import(/* webpackMode: "eager" */ '../resources/index.js');
    const data = await fetchResource({ source: f.configUrl }, { ...platformFetchOptions(o.platform, o.env.vars, o.env.metadataBase), httpTotal, signal: o.signal, backoff: o.env.backoff });
    return { data, what: f.configUrlKey! };
  }
  if (f.configDevice && f.configPath) {
    if (f.configDevice.includes('/') || f.configDevice === '.' || f.configDevice === '..') {
      throw new KindlingError('platform', `invalid device label "${f.configDevice}"`);
    }
    // Loaded here: it brings node:os, which no other offline source needs.
    const { readMedia } = await import(/* webpackMode: "eager" */ './media.js');
    const r = await readMedia(o.env, { label: f.configDevice, files: [f.configPath], waitMs: o.env.deviceWaitMs, signal: o.signal });
    if (!r) throw new KindlingError('platform', `device "${f.configDevice}" did not appear within ${Math.round(o.env.deviceWaitMs / 1000)} s`);
    const data = r.files[f.configPath];
    if (!data) throw new KindlingError('platform', `config file "${f.configPath}" not found on device "${f.configDevice}"`);
    return { data, what: `ignition.config.device=${f.configDevice}` };
  }
  if (f.configDevice || f.configPath) {
    throw new KindlingError('platform', '"ignition.config.device" and "ignition.config.path" must be provided together');
  }
  // The common case: returned, not thrown (an exception costs its stack and a rejected promise).
  return undefined;
}

/** Steps 2-4. Throws NeedNetError in fetch-offline when the network is needed. */
export async function acquireUserConfig(o: AcquireOptions): Promise<AcquiredConfig> {
  const provider = await loadProvider(o.platform);
  if (!provider) {
    throw new KindlingError('usage', `invalid value "${o.platform}" for flag -platform: ${o.platform} is not a valid platform (known: ${providerNames().join(' ')})`);
  }
  const httpTotal = o.fetchTimeoutMs > 0 ? o.fetchTimeoutMs / 1000 : undefined;
  // -fetch-timeout bounds the provider's work (its HTTP total and any wait for a config drive);
  // referenced configs are then fetched with the timeouts their parents declare, as in Ignition.
  // Made on first use: a config from fw_cfg, a file or the OEM partition never needs it, and the
  // first AbortSignal of a process costs about 0.5 ms of start-up (docs/startup.md). The clock
  // starts then, microseconds after the stage began.
  let made: AbortSignal | undefined;
  const providerSignal = (): AbortSignal => (made ??= o.signal ?? (o.fetchTimeoutMs > 0 ? AbortSignal.timeout(o.fetchTimeoutMs) : new AbortController().signal));
  let data: Buffer | null = null;
  let source = '';
  let what = '';
  // 2. cmdline, system, platform: the first that does not say "no provider".
  const c = await fromCmdline(
    {
      ...o,
      get signal() {
        return providerSignal();
      },
    },
    httpTotal ?? 0,
  );
  if (c) {
    data = c.data;
    source = 'cmdline';
    what = c.what;
  } else {
    o.env.log.info('no config URL provided');
    const sys = findUserConfig(o.env);
    if (sys) {
      data = sys.data;
      source = 'system';
      what = sys.path;
    } else {
      const ctx: ProviderContext = {
        env: o.env,
        offline: o.offline,
        get signal() {
          return providerSignal();
        },
        httpTotal,
        http: o.http ?? makeHttpClient(o.offline),
        state: o.state,
      };
      o.env.log.info(`fetching the config from the ${provider.name} platform: ${provider.source}`);
      data = await provider.fetch(ctx);
      source = provider.name;
      what = `the ${provider.name} platform`;
    }
  }
  // 3. As in Ignition, "no config" (ErrEmpty: empty, cloud-config, script) is not recorded in the
  // state file; a config is recorded once it parsed (checked against Ignition 2.14 on metal).
  const { config, emptyBecause } = await parseUser(data, what, o.env);
  if (emptyBecause === undefined) recordFetched(o.state, { kind: 'user', source, referenced: false });
  // 4.
  const rendered = await renderConfig(config, {
    offline: o.offline,
    state: o.state,
    log: o.env.log,
    signal: o.signal,
    base: { ...platformFetchOptions(o.platform, o.env.vars, o.env.metadataBase), backoff: o.env.backoff, oemRoot: o.env.oemDirs[0] },
  });
  const errors = validateConfig(rendered).filter((e) => e.kind === 'error');
  if (errors.length) {
    throw new KindlingError('config-invalid', 'merging configs resulted in an invalid config', { entries: errors });
  }
  return { config: rendered, source, emptyBecause };
}

/** What every stage runs with: the base configs under the (cached) user config. */
export function fullConfig(base: Config, user: Config): Config {
  return mergeConfigs(base, user);
}

export { acquireEnvFrom } from './env.js';
export type { AcquireEnv } from './env.js';
export { isNeedNet, NeedNetError, NoProviderError } from './errors.js';
export { loadState, saveState, emptyState, serializeState } from './state.js';
export type { IgnitionState, FetchedConfig } from './state.js';
