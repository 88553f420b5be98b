// The ignition binary's interface, flag for flag (Ignition 2.14's `ignition -help`):
//   -platform P  -stage S  [-root /]  [-config-cache /run/ignition.json]
//   [-state-file /run/ignition/state]  [-neednet /run/ignition/neednet]
//   [-fetch-timeout 2m0s]  [-log-to-stdout]  [-version]
// Exit codes as Ignition: 0 success, 1 a stage failed, 2 bad flags ("'--platform' must be
// provided", "flag provided but not defined: -x", an unknown platform or stage).
// The fetch stages produce the config cache; every other stage reads it, merges the system base
// configs under it (as Ignition does in each stage), and runs plan() then apply().
import { getStage, STAGE_NAMES } from '../../stages/index.js';
import type { StageContext } from '../../stages/types.js';
import { acquireBaseConfig, acquireEnvFrom, fullConfig, loadState, saveState } from '../acquire/index.js';
import { parseGoDuration } from '../acquire/duration.js';
import { makeHttpClient } from '../acquire/http.js';
import { loadProvider, providerNames } from '../acquire/providers/index.js';
import type { AcquireEnv } from '../acquire/env.js';
import type { FetchPlan } from '../acquire/stage.js';
import { loadCachedConfig, writeCacheStamp } from '../engine/load-config.js';
import { formatError, KindlingError } from '../errors.js';
import { createLogger, setLogger, stderrIsTTY } from '../log/logger.js';
import { KINDLING_VERSION } from '../version.js';
import { writeAllSync } from '../system/write-all.js';
import { parseFlags } from './flags.js';

/** Stages whose apply() logs every operation it carries out. */
const OPS_LOGGED_BY_APPLY = new Set(['files', 'disks', 'mount']);

/** IGNITION_DEFAULTS.fetchTimeout in milliseconds (test/cli checks they agree). */
export const DEFAULT_FETCH_TIMEOUT_MS = 120_000;

export const IGNITION_DEFAULTS = {
  root: '/',
  configCache: '/run/ignition.json',
  stateFile: '/run/ignition/state',
  neednet: '/run/ignition/neednet',
  fetchTimeout: '2m0s',
};

function usage(): string {
  return `Usage of kindling (Ignition-compatible):
  -config-cache string
    	where to cache the config (default "${IGNITION_DEFAULTS.configCache}")
  -fetch-timeout duration
    	initial duration for which to wait for config (default ${IGNITION_DEFAULTS.fetchTimeout})
  -log-to-stdout
    	log to stdout instead of the system log when set
  -neednet string
    	flag file to write from fetch-offline if networking is needed (default "${IGNITION_DEFAULTS.neednet}")
  -platform value
    	current platform. [${providerNames().join(' ')}]
  -root string
    	root of the filesystem (default "${IGNITION_DEFAULTS.root}")
  -stage value
    	execution stage. [${[...STAGE_NAMES].sort().join(' ')}]
  -state-file string
    	where to store internal state (default "${IGNITION_DEFAULTS.stateFile}")
  -version
    	print the version and exit
`;
}

/** Where a run writes: the process's own stdout/stderr, or (the stage server) a client's pipe. */
export interface IgnitionIo {
  stdoutFd: number;
  stderrFd: number;
}
const PROCESS_IO: IgnitionIo = { stdoutFd: 1, stderrFd: 2 };

/** Ignition's platform Status hook (Equinix Metal's timeline): after each stage, never fatal. */
async function reportStatus(env: AcquireEnv, platform: string, stage: string, error?: Error): Promise<void> {
  const p = await loadProvider(platform);
  if (!p?.status || stage === 'fetch-offline') return;
  try {
    await p.status({ env, offline: false, signal: AbortSignal.timeout(10_000), httpTotal: 10, http: makeHttpClient(false) }, stage, error);
  } catch (err) {
    env.log.warn(`failed to report the ${stage} status to the ${platform} platform: ${formatError(err)}`);
  }
}

export async function runIgnition(argv: string[], io: IgnitionIo = PROCESS_IO): Promise<number> {
  const usageError = (msg: string, withUsage: boolean): number => {
    writeAllSync(io.stderrFd, msg + '\n' + (withUsage ? usage() : ''));
    return 2;
  };
  let parsed;
  try {
    parsed = parseFlags(argv, {
      booleans: ['log-to-stdout', 'version', 'help', 'h'],
      strings: ['platform', 'stage', 'root', 'config-cache', 'state-file', 'neednet', 'fetch-timeout'],
    });
  } catch (err) {
    return usageError(formatError(err), true);
  }
  const b = parsed.booleans;
  const v = parsed.values;
  if (b.help || b.h) {
    writeAllSync(io.stderrFd, usage());
    return 0;
  }
  if (b.version) {
    writeAllSync(io.stdoutFd, `Kindling ${KINDLING_VERSION} (Ignition-compatible)\n`);
    return 0;
  }
  let fetchTimeoutMs: number;
  try {
    // The default (what every unit passes: nothing) is known; parsing it compiles a regular expression.
    fetchTimeoutMs = v['fetch-timeout'] === undefined ? DEFAULT_FETCH_TIMEOUT_MS : parseGoDuration(v['fetch-timeout']);
  } catch (err) {
    return usageError(formatError(err), true);
  }
  if (v.platform !== undefined && !providerNames().includes(v.platform)) {
    return usageError(`invalid value "${v.platform}" for flag -platform: ${v.platform} is not a valid platform`, true);
  }
  if (v.stage !== undefined && !(STAGE_NAMES as readonly string[]).includes(v.stage)) {
    return usageError(`invalid value "${v.stage}" for flag -stage: ${v.stage} is not a valid stage`, true);
  }
  if (!v.platform) return usageError("'--platform' must be provided", false);
  if (!v.stage) return usageError("'--stage' must be provided", false);

  const toStdout = b['log-to-stdout'] === true;
  const log = createLogger({ toStdout, fd: toStdout ? io.stdoutFd : io.stderrFd });
  setLogger(log);
  const stageName = v.stage;
  const platform = v.platform;
  const ctx: StageContext = {
    config: { ignition: { version: '3.6.0' } },
    root: v.root ?? IGNITION_DEFAULTS.root,
    platform,
    log: log.child({ stage: stageName }),
    configCache: v['config-cache'] ?? IGNITION_DEFAULTS.configCache,
    stateFile: v['state-file'] ?? IGNITION_DEFAULTS.stateFile,
    needNetFile: v.neednet ?? IGNITION_DEFAULTS.neednet,
    fetchTimeoutMs,
    options: {},
  };
  log.info(`Kindling ${KINDLING_VERSION} (Ignition-compatible)`);
  log.info(`Stage: ${stageName}`);
  const env = acquireEnvFrom(process.env, { log: ctx.log });
  const started = Date.now();
  // The fetch stages write the config cache; every later one reads it and saves the state file.
  const fetching = stageName === 'fetch' || stageName === 'fetch-offline';
  let state;
  try {
    state = loadState(ctx.stateFile);
    ctx.options = { acquireEnv: env, state };
    const stage = getStage(stageName);
    if (!fetching) {
      // Every later stage: the system base configs under the cached user config.
      const base = await acquireBaseConfig(env, platform, state);
      // Validated again unless the stamp our fetch stage wrote vouches for these exact bytes.
      const cached = await loadCachedConfig(ctx.configCache);
      if (cached.trusted) ctx.log.debug(`config cache ${ctx.configCache} matches the stamp of the fetch stage: not validated again`);
      ctx.config = fullConfig(base, cached.config);
    }
    const plan = await stage.plan(ctx);
    for (const w of plan.warnings) ctx.log.warn(w);
    // Stages that log each operation as they carry it out (op(N): [started] ...) would log every
    // summary twice: their plan goes to the debug level (10,000 files: 10,000 lines fewer).
    const planLevel = OPS_LOGGED_BY_APPLY.has(stageName) ? 'debug' : 'info';
    ctx.log.info(`plan: ${plan.ops.length} operation${plan.ops.length === 1 ? '' : 's'}`);
    for (const op of plan.ops) ctx.log[planLevel](`plan: ${op.summary}`);
    await stage.apply(ctx, plan);
    if (fetching) {
      // The text the fetch stage just wrote, from a config it validated: stamped so that later
      // stages need not validate it again (src/engine/load-config.ts).
      const written = (plan as FetchPlan).cache;
      if (written && ctx.configCache && !(await writeCacheStamp(ctx.configCache, JSON.stringify(written)))) {
        ctx.log.debug(`could not write the stamp of ${ctx.configCache}; later stages will validate it again`);
      }
    }
    if (!fetching) saveState(ctx.stateFile, state);
    ctx.log.info(`${stageName} passed (${Date.now() - started} ms)`);
    await reportStatus(env, platform, stageName);
    log.info('Ignition finished successfully');
    return 0;
  } catch (err) {
    // One line that says what failed, where and why; the details (every validation error) follow.
    const line = `${stageName} failed (platform ${platform}): ${formatError(err)}`;
    ctx.log.error(line);
    if (err instanceof KindlingError) for (const e of err.entries) ctx.log.error(`  ${e.kind}: ${e.message}${e.location ? ' at ' + (e.location.pointer || '/') : ''}`);
    if (!toStdout && !(io === PROCESS_IO && stderrIsTTY())) writeAllSync(io.stderrFd, `kindling: ${line}\n`);
    await reportStatus(env, platform, stageName, err instanceof Error ? err : new Error(String(err)));
    // Like Ignition, a failed stage leaves the state file as it was.
    return 1;
  }
}
