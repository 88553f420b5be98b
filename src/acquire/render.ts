// Rendering a user config: ignition.config.replace and ignition.config.merge, recursively, the way
// Ignition's ConfigFetcher.RenderConfig does it:
//  - replace: fetch the referenced config (verified against its hash), and render IT instead; from
//    then on its timeouts, CAs and proxy apply;
//  - merge: for each reference in order, fetch it with the settings of what has been merged so far,
//    render it with the settings of (merged so far + it), then merge it over the result;
//  - each referenced config is recorded in the state file as {kind:user, source:<URL path>,
//    referenced:true};
//  - in fetch-offline, any reference (or CA) that needs the network stops everything with
//    NeedNetError: the stage then writes the neednet flag.
// Fetching is the resources layer's fetchResource (verification, decompression, Ignition's headers,
// retries and timeouts); CA bundles (security.tls.certificateAuthorities) are fetched the same way
// and passed on as PEM text.
import { mergeConfigs, parseConfigAsync } from '../config/index.js';
import type { Config, Resource } from '../config/types.js';
import { KindlingError, formatError } from '../errors.js';
import type { Logger } from '../log/logger.js';
// resources/index.ts (node:crypto, node:stream, node:zlib) loads on the first fetch.
import type { FetchOptions } from '../resources/index.js';
import { needsNetwork } from '../resources/scheme.js';
import { NeedNetError } from './errors.js';
import { recordFetched, type IgnitionState } from './state.js';

export interface RenderContext {
  offline: boolean;
  state: IgnitionState;
  log: Logger;
  signal?: AbortSignal;
  /** Extra fetch options (tests: backoff; the OEM root for oem:// URLs). */
  base?: FetchOptions;
  /** Depth guard: Ignition has none, but a config that merges itself would never end. */
  maxDepth?: number;
}

/** What Go's url.Parse(...).Path gives for the state file: "" for opaque URLs such as data:. */
export function urlPathForState(source: string): string {
  try {
    const u = new URL(source);
    if (u.protocol === 'data:') return '';
    return decodeURIComponent(u.pathname);
  } catch {
    return '';
  }
}

const caCache = new Map<string, string>();

async function fetchOptionsFor(settings: Config, ctx: RenderContext): Promise<FetchOptions> {
  const t = settings.ignition.timeouts ?? {};
  const opts: FetchOptions = {
    ...ctx.base,
    httpResponseHeaders: t.httpResponseHeaders,
    httpTotal: t.httpTotal,
    proxy: settings.ignition.proxy,
    signal: ctx.signal,
  };
  const cas = settings.ignition.security?.tls?.certificateAuthorities ?? [];
  if (cas.length) {
    const pems: string[] = [];
    for (const ca of cas) {
      const key = JSON.stringify(ca);
      let pem = caCache.get(key);
      if (pem === undefined) {
        if (ca.source && ctx.offline && needsNetwork(ca.source)) throw new NeedNetError(`the certificate authority ${ca.source}`);
        const { fetchResource } = await import(/* webpackMode: "eager" */ '../resources/index.js');
        pem = (await fetchResource(ca, { ...opts, caCertificates: undefined })).toString('utf8');
        caCache.set(key, pem);
      }
      pems.push(pem);
    }
    opts.caCertificates = pems;
  }
  return opts;
}

async function fetchReferenced(ref: Resource, pointer: string, settings: Config, ctx: RenderContext): Promise<Config> {
  const source = ref.source;
  if (!source) throw new KindlingError('config-invalid', 'a referenced config has no source', { location: { pointer } });
  if (ctx.offline && needsNetwork(source)) throw new NeedNetError(`the referenced config at ${pointer}`);
  const opts = await fetchOptionsFor(settings, ctx);
  let raw: Buffer;
  try {
    const { fetchResource } = await import(/* webpackMode: "eager" */ '../resources/index.js');
    raw = await fetchResource(ref, opts);
  } catch (err) {
    throw new KindlingError('fetch', `the referenced config at ${pointer}: ${formatError(err)}`, { cause: err });
  }
  let parsed;
  try {
    parsed = await parseConfigAsync(raw);
  } catch (err) {
    throw new KindlingError(err instanceof KindlingError ? err.kind : 'config-invalid', `the referenced config at ${pointer}: ${formatError(err)}`, {
      entries: err instanceof KindlingError ? err.entries : [],
      cause: err,
    });
  }
  for (const w of parsed.report) ctx.log.warn(`referenced config at ${pointer}: ${w.message}`);
  recordFetched(ctx.state, { kind: 'user', source: urlPathForState(source), referenced: true });
  return parsed.config;
}

export async function renderConfig(cfg: Config, ctx: RenderContext, settings: Config = cfg, depth = 0, at = ''): Promise<Config> {
  if (depth > (ctx.maxDepth ?? 32)) {
    throw new KindlingError('config-invalid', `referenced configs nest more than ${ctx.maxDepth ?? 32} deep (a config that merges itself?)`);
  }
  const replace = cfg.ignition.config?.replace;
  if (replace?.source) {
    const child = await fetchReferenced(replace, `${at}/ignition/config/replace`, settings, ctx);
    return renderConfig(child, ctx, child, depth + 1, `${at}/ignition/config/replace`);
  }
  let merged = cfg;
  const refs = cfg.ignition.config?.merge ?? [];
  for (let i = 0; i < refs.length; i++) {
    const where = `${at}/ignition/config/merge/${i}`;
    const child = await fetchReferenced(refs[i]!, where, merged, ctx);
    const rendered = await renderConfig(child, ctx, mergeConfigs(merged, child), depth + 1, where);
    merged = mergeConfigs(merged, rendered);
  }
  return merged;
}
