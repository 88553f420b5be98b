// Configs that live on the machine rather than with the platform:
//  - base configs: every *.ign fragment of base.d/ and of base.platform.d/PLATFORM/ in the system
//    config directories (runtime /run/ignition, local /etc/ignition, vendor /usr/lib/ignition:
//    for one file name the highest-priority directory wins; fragments merge in sorted name order;
//    base.d first, then the platform's). As in Ignition, a bad fragment in base.d fails the boot,
//    while a bad one in base.platform.d is only logged.
//  - user.ign: the first of the three directories that has one. It pre-empts the platform's user
//    data (Ignition asks the cmdline provider, then this, then the platform).
//  - Flatcar's OEM partition: its config.ign is a user config and its base/base.ign a base config.
//    Flatcar's ignition-setup copies them to /usr/lib/ignition/user.ign and base.d/base.ign, so they
//    rank just above the vendor directory's own files of those names, and an OEM config.ign wins over
//    the cloud's user data, as on Flatcar.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { emptyConfig, mergeConfigs, parseConfigAsync } from '../config/index.js';
import type { Config } from '../config/types.js';
import { KindlingError, formatError } from '../errors.js';
import type { AcquireEnv } from './env.js';

export interface Fragment {
  name: string;
  path: string;
}

// Most of these paths do not exist on a given machine. statSync with throwIfNoEntry: false says so
// without building an Error and its stack for each (about 1 ms of a fetch-offline's start-up over
// the ten paths looked at); other failures still throw and are handled as before.
function listDir(dir: string): string[] | undefined {
  try {
    if (!statSync(dir, { throwIfNoEntry: false })) return undefined;
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new KindlingError('platform', `couldn't read config dir ${dir}: ${(err as Error).message}`);
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}

/** The directories in priority order, with the OEM contents slotted in above the vendor directory. */
function ranked(env: AcquireEnv): { dir: string; oem: boolean }[] {
  const [runtime, local, vendor] = env.systemConfigDirs;
  const out: { dir: string; oem: boolean }[] = [];
  if (runtime) out.push({ dir: runtime, oem: false });
  if (local) out.push({ dir: local, oem: false });
  for (const d of env.oemDirs) out.push({ dir: d, oem: true });
  if (vendor) out.push({ dir: vendor, oem: false });
  return out;
}

/** The fragments of one sub-directory (base.d, base.platform.d/P) across the ranked directories. */
export function collectFragments(env: AcquireEnv, sub: string): Fragment[] {
  const chosen = new Map<string, string>();
  for (const { dir, oem } of ranked(env)) {
    if (oem) {
      // The OEM partition has base/base.ign, which Flatcar copies to base.d/base.ign.
      if (sub === 'base.d') {
        const p = join(dir, 'base', 'base.ign');
        if (isFile(p) && !chosen.has('base.ign')) chosen.set('base.ign', p);
      }
      continue;
    }
    const names = listDir(join(dir, sub));
    if (!names) {
      env.log.info(`no config dir at "${join(dir, sub)}"`);
      continue;
    }
    for (const n of names) {
      const p = join(dir, sub, n);
      if (!chosen.has(n) && isFile(p)) chosen.set(n, p);
    }
  }
  return [...chosen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, path]) => ({ name, path }));
}

async function parseFragment(path: string): Promise<Config> {
  const raw = readFileSync(path);
  try {
    return (await parseConfigAsync(raw)).config;
  } catch (err) {
    throw new KindlingError('config-invalid', `base config ${path}: ${formatError(err)}`, {
      entries: err instanceof KindlingError ? err.entries : [],
      cause: err,
    });
  }
}

export interface BaseConfigResult {
  config: Config;
  /** The files merged, in order. */
  files: string[];
}

/** Ignition's FetchBaseConfig: base.d, then base.platform.d/PLATFORM (errors there only logged). */
export async function loadBaseConfig(env: AcquireEnv, platform: string): Promise<BaseConfigResult> {
  let config = emptyConfig();
  const files: string[] = [];
  for (const f of collectFragments(env, 'base.d')) {
    env.log.info(`reading system config file "${f.path}"`);
    config = mergeConfigs(config, await parseFragment(f.path));
    files.push(f.path);
  }
  try {
    let platformConfig = emptyConfig();
    const pf: string[] = [];
    for (const f of collectFragments(env, join('base.platform.d', platform))) {
      env.log.info(`reading system config file "${f.path}"`);
      platformConfig = mergeConfigs(platformConfig, await parseFragment(f.path));
      pf.push(f.path);
    }
    config = mergeConfigs(config, platformConfig);
    files.push(...pf);
  } catch (err) {
    env.log.info(`no config at "base.platform.d/${platform}": ${formatError(err)}`);
  }
  return { config, files };
}

/** The user.ign that pre-empts the platform (or an OEM config.ign), or undefined. */
export function findUserConfig(env: AcquireEnv): { path: string; data: Buffer } | undefined {
  for (const { dir, oem } of ranked(env)) {
    const p = join(dir, oem ? 'config.ign' : 'user.ign');
    env.log.info(`reading system config file "${p}"`);
    try {
      if (statSync(p, { throwIfNoEntry: false })) return { path: p, data: readFileSync(p) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new KindlingError('platform', `couldn't read config ${p}: ${(err as Error).message}`);
    }
    env.log.info(`no config at "${p}"`);
  }
  return undefined;
}
