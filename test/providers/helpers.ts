// Test helpers: an AcquireEnv pointing every root at a scratch directory and every metadata URL at
// a fake server, and a ProviderContext around it.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { acquireEnvFrom, type AcquireEnv } from '../../src/acquire/env.js';
import { makeHttpClient } from '../../src/acquire/http.js';
import type { ProviderContext } from '../../src/acquire/providers/types.js';

export function scratch(prefix = 'kindling-acq-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const quietLog = pino({ level: 'silent' });

/** A scratch directory for the vboxguest stand-in (vbox-host-shim.c): its paths and device. */
export interface VboxHost {
  dir: string;
  log: string;
  props: string;
  device: string;
}

/**
 * A stand-in VirtualBox host in a scratch directory: its guest properties (name -> value, or
 * [value, flags]) in the stand-in's `props` file, NUL-separated records.
 */
export function vboxHost(prefix: string, props: Record<string, string | [string, string]>): VboxHost {
  const dir = scratch(prefix);
  const parts: Buffer[] = [];
  for (const [name, v] of Object.entries(props)) {
    const [value, flags] = typeof v === 'string' ? [v, ''] : v;
    parts.push(Buffer.from(`${name}\0${value}\0${flags}\0`));
  }
  writeFileSync(join(dir, 'props'), Buffer.concat(parts));
  return { dir, log: join(dir, 'log'), props: join(dir, 'props'), device: join(dir, 'vboxguest') };
}

export function testEnv(dir: string, over: Partial<AcquireEnv> = {}): AcquireEnv {
  // An empty kernel command line unless the test wrote one (Ignition fails on an unreadable one).
  if (!existsSync(join(dir, 'cmdline'))) writeFileSync(join(dir, 'cmdline'), '');
  return acquireEnvFrom(
    {},
    {
      cmdlinePath: join(dir, 'cmdline'),
      systemConfigDirs: [join(dir, 'run'), join(dir, 'etc'), join(dir, 'usr')],
      configFile: join(dir, 'config.ign'),
      oemDirs: [join(dir, 'oem')],
      fwCfgDir: join(dir, 'fw_cfg'),
      diskByLabelDir: join(dir, 'by-label'),
      diskByIdDir: join(dir, 'by-id'),
      mountedMedia: {},
      modprobe: false,
      deviceWaitMs: 1500,
      backoff: { initialMs: 20, maxMs: 200 },
      log: quietLog,
      ...over,
    },
  );
}

export function providerCtx(env: AcquireEnv, o: { offline?: boolean; timeoutMs?: number } = {}): ProviderContext {
  const ms = o.timeoutMs ?? 20_000;
  return {
    env,
    offline: o.offline ?? false,
    signal: AbortSignal.timeout(ms),
    httpTotal: ms / 1000,
    http: makeHttpClient(o.offline ?? false),
  };
}

// sandboxEnv(dir, extra): the binary's environment with every system path inside `dir` (shared
// with the build's warm-up and the benches).
export { sandboxEnv } from '../../scripts/sandbox.mjs';
