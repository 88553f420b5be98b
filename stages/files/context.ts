// What the files stage's parts share: the config, the absolute target root, the knobs a caller set
// through ctx.options, and how resources are opened (openResource, or a stand-in a test injects).
import path from 'node:path';
import type { Config, Resource } from '../../src/config/types.js';
import { fetchResource, openResource, type FetchOptions } from '../../src/resources/index.js';
import { platformFetchOptions } from '../../src/acquire/fetcher.js';
import type { Logger } from '../../src/log/logger.js';
import { readCreatedDirs } from '../mountpoint-dirs.js';
import { syncEnabled } from './durability.js';
import type { StageContext } from '../types.js';
import type { AsUserWriter } from '../../src/system/as-user.js';

export type { PasswdGroup, PasswdUser } from '../../src/config/types.js';

export type OpenResource = (r: Resource, o?: FetchOptions) => ReturnType<typeof openResource>;

export interface StageContextConfig {
  config: Config;
  /** Absolute path of the target root. */
  root: string;
  log: Logger;
  /** SSH keys go to ~/.ssh/authorized_keys.d/ignition (Flatcar, upstream default) or ~/.ssh/authorized_keys. */
  keysFragment: boolean;
  /** Not root: ownership changes that need root are reported, not fatal. */
  unprivileged: boolean;
  unprivilegedReport: string[];
  /** Remote contents fetched ahead, at most this many at once. */
  fetchConcurrency: number;
  /** fsync each written file before renaming it into place (default false). */
  fsync: boolean;
  /** syncfs the target filesystems before the provisioning report (default true; durability.ts). */
  syncfs: boolean;
  open: OpenResource;
  /** A test injected its own opener: every resource goes through it. */
  customOpen: boolean;
  fetchOptions(): Promise<FetchOptions>;
  /** "Was a user config provided" for the result file (Ignition: false for "no config"). */
  userConfigProvided: boolean;
  /** Where /proc's boot id is read for the result file (tests point it elsewhere). */
  bootIdFile: string;
  /** systemctl, for removing enablement symlinks of disabled units. */
  systemctl: string;
  now(): Date;
  /** Directories known to exist during apply (see mkdirParents in nodes.ts). */
  knownDirs: Map<string, KnownDir>;
  /** The process umask, read once: a new file created with a mode it leaves intact needs no chmod. */
  umask: number;
  /** In-root directories the mount stage created for mount points (stages/mountpoint-dirs.ts). */
  createdMountDirs: string[];
  /** The one child process writing SSH keys as the users (started at the first; applyPlan closes it). */
  asUser?: AsUserWriter;
}

/** A directory the apply made or used. */
export interface KnownDir {
  /** Made by this apply (mkdir), so nothing is in it that this apply did not put there. */
  fresh: boolean;
  /** The owner a file created in it gets (the set-group-ID bit hands down the directory's group). */
  newOwner?: [number, number];
}

export function filesContext(ctx: StageContext): StageContextConfig {
  const o = ctx.options ?? {};
  const config = ctx.config;
  let fetchOpts: Promise<FetchOptions> | undefined;
  return {
    config,
    root: path.resolve(ctx.root),
    log: ctx.log,
    // Ignition's distro default, overridable at run time like Ignition's
    // IGNITION_WRITE_AUTHORIZED_KEYS_FRAGMENT=false (Debian/Ubuntu-style sshd reads authorized_keys).
    keysFragment:
      typeof o.authorizedKeysFragment === 'boolean' ? o.authorizedKeysFragment : process.env.IGNITION_WRITE_AUTHORIZED_KEYS_FRAGMENT !== 'false',
    unprivileged: o.unprivileged === true,
    unprivilegedReport: [],
    fetchConcurrency:
      typeof o.fetchConcurrency === 'number' && o.fetchConcurrency > 0
        ? o.fetchConcurrency
        : Number(process.env.KINDLING_FETCH_CONCURRENCY) > 0
          ? Number(process.env.KINDLING_FETCH_CONCURRENCY)
          : 8,
    fsync: o.fsync === true || process.env.KINDLING_FILES_FSYNC === '1',
    syncfs: syncEnabled(o),
    open: (typeof o.openResource === 'function' ? o.openResource : openResource) as OpenResource,
    customOpen: typeof o.openResource === 'function',
    userConfigProvided: o.userConfigProvided !== false,
    bootIdFile: typeof o.bootIdFile === 'string' ? o.bootIdFile : '/proc/sys/kernel/random/boot_id',
    systemctl: typeof o.systemctl === 'string' ? o.systemctl : 'systemctl',
    now: () => new Date(),
    knownDirs: new Map(),
    umask: process.umask(),
    createdMountDirs: readCreatedDirs(ctx),
    fetchOptions() {
      // Built once, on the first remote fetch: the CA bundles are resources themselves.
      fetchOpts ??= (async () => {
        const ig = config.ignition;
        const cas: string[] = [];
        for (const ca of ig.security?.tls?.certificateAuthorities ?? []) {
          cas.push((await fetchResource(ca, { ...platformFetchOptions(ctx.platform), httpResponseHeaders: ig.timeouts?.httpResponseHeaders, httpTotal: ig.timeouts?.httpTotal, proxy: ig.proxy })).toString('utf8'));
        }
        return {
          ...platformFetchOptions(ctx.platform), // aws: S3 with the instance role, as Ignition's fetcher
          httpResponseHeaders: ig.timeouts?.httpResponseHeaders,
          httpTotal: ig.timeouts?.httpTotal,
          proxy: ig.proxy,
          caCertificates: cas.length ? cas : undefined,
          oemRoot: typeof o.oemRoot === 'string' ? o.oemRoot : undefined,
          signal: o.signal instanceof AbortSignal ? o.signal : undefined,
        } satisfies FetchOptions;
      })();
      return fetchOpts;
    },
  };
}
