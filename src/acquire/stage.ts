// What fetch-offline and fetch share. plan() acquires and renders (network reads only, nothing
// written); apply() writes the rendered user config to -config-cache atomically (temporary file in
// the same directory, then rename: a crash never leaves half a config), mode 0640 like Ignition's
// renameio.WriteFile, and the state file; or, when fetch-offline found that the network is needed,
// the -neednet flag file (and the state), and nothing else. As in Ignition, fetch-offline also
// raises the flag when it did get the config but the config itself names a resource on the
// network (a remote file, a CA...): the cache is then written too, and the distro brings the
// network up for the later stages (fetch stays skipped, the config is cached).
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeAllSync } from '../system/write-all.js';
import { mergeConfigs } from '../config/index.js';
import type { Config } from '../config/types.js';
import { KindlingError } from '../errors.js';
import {
  acquireBaseConfig,
  acquireEnvFrom,
  acquireUserConfig,
  isNeedNet,
  loadState,
  saveState,
  emptyState,
  type AcquireEnv,
  type IgnitionState,
} from './index.js';
import type { HttpClient } from './http.js';
import { displayUrl } from '../resources/errors.js';
import { needsNetwork } from '../resources/scheme.js';
import type { Plan, Stage, StageContext, StageName } from '../../stages/types.js';

export interface FetchPlan extends Plan {
  /** The rendered user config to cache, or undefined when the network is needed first. */
  cache?: Config;
  needNet: boolean;
  state: IgnitionState;
  /** The config the stage runs with (base + user), for callers that want it. */
  full?: Config;
}

/** Options a caller (tests, runIgnition) may put in ctx.options. */
export interface FetchStageOptions {
  acquireEnv?: AcquireEnv;
  state?: IgnitionState;
  http?: HttpClient;
}

function stateFor(ctx: StageContext): IgnitionState {
  const o = (ctx.options ?? {}) as FetchStageOptions;
  if (o.state) return o.state;
  const s = ctx.stateFile ? loadState(ctx.stateFile) : emptyState();
  (ctx.options ??= {}).state = s;
  return s;
}

/** The first resource source in the config that needs the network (Ignition's configNeedsNet). */
export function networkResource(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const v of node) {
      const s = networkResource(v);
      if (s !== undefined) return s;
    }
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'source' && typeof v === 'string') {
        if (v !== '' && needsNetwork(v)) return v;
      } else {
        const s = networkResource(v);
        if (s !== undefined) return s;
      }
    }
  }
  return undefined;
}

export function writeFileAtomic(path: string, data: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.kindling-${process.pid}.tmp`;
  // One descriptor for write, mode (the umask may have narrowed it) and fsync, then the rename:
  // what Ignition's renameio.WriteFile does.
  const fd = openSync(tmp, 'w', mode);
  try {
    writeAllSync(fd, data);
    fchmodSync(fd, mode);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function makeFetchStage(name: Extract<StageName, 'fetch' | 'fetch-offline'>): Stage<FetchPlan> {
  const offline = name === 'fetch-offline';
  return {
    name,
    async plan(ctx) {
      const o = (ctx.options ?? {}) as FetchStageOptions;
      const env = o.acquireEnv ?? acquireEnvFrom(process.env, { log: ctx.log });
      const state = stateFor(ctx);
      const base = await acquireBaseConfig(env, ctx.platform, state);
      try {
        const got = await acquireUserConfig({
          platform: ctx.platform,
          env,
          state,
          offline,
          fetchTimeoutMs: ctx.fetchTimeoutMs,
          http: o.http,
        });

        const full = mergeConfigs(base, got.config);
        // Ignition's fetch-offline stage: the config is here, but a resource it names is not.
        const remote = offline ? networkResource(full) : undefined;
        const ops: FetchPlan['ops'] = [
          {
            kind: 'config.cache',
            pointer: '',
            summary: `write the rendered config (from ${got.source}) to ${ctx.configCache || '(no cache path)'}`,
            details: { path: ctx.configCache, source: got.source, empty: got.emptyBecause !== undefined },
          },
        ];
        if (remote !== undefined) {
          const reason = `the config references ${displayUrl(remote)}`;
          ctx.log.info(`${reason}: networking is needed`);
          ops.push({
            kind: 'neednet.signal',
            pointer: '',
            summary: `signal that networking is needed: create ${ctx.needNetFile} (${reason})`,
            details: { path: ctx.needNetFile, reason },
          });
        }
        return {
          stage: name,
          needNet: remote !== undefined,
          state,
          cache: got.config,
          full,
          warnings: got.emptyBecause ? [got.emptyBecause] : [],
          ops,
        };
      } catch (err) {
        if (offline && isNeedNet(err)) {
          ctx.log.info(`${err.message}: networking is needed`);
          return {
            stage: name,
            needNet: true,
            state,
            warnings: [],
            ops: [
              {
                kind: 'neednet.signal',
                pointer: '',
                summary: `signal that networking is needed: create ${ctx.needNetFile} (${err.message})`,
                details: { path: ctx.needNetFile, reason: err.message },
              },
            ],
          };
        }
        throw err;
      }
    },
    async apply(ctx, plan) {
      try {
        if (plan.needNet) {
          if (!ctx.needNetFile) throw new KindlingError('usage', 'networking is needed but no -neednet file was given');
          mkdirSync(dirname(ctx.needNetFile), { recursive: true });
          closeSync(openSync(ctx.needNetFile, 'w', 0o644));
          ctx.log.info(`wrote ${ctx.needNetFile}: networking is needed for the config`);
        }
        if (plan.cache) {
          if (!ctx.configCache) throw new KindlingError('usage', 'no -config-cache path to write the config to');
          writeFileAtomic(ctx.configCache, JSON.stringify(plan.cache), 0o640);
          ctx.log.info(`wrote the config cache ${ctx.configCache}`);
        }
      } finally {
        if (ctx.stateFile) saveState(ctx.stateFile, plan.state);
      }
    },
  };
}
