// Config drives and provisioning media: a filesystem found by label (OpenStack's config-2, the
// cidata of IBM Cloud and Proxmox VE, the blackbox tests' ignition.config.device) or by a by-id
// name (Azure's ata-Virtual_CD), mounted read-only on a temporary directory, read, and unmounted,
// as Ignition does with `mount -o ro -t auto DEV MNT`.
// Two seams for machines without udev (this one included) and for tests: a label missing from
// /dev/disk/by-label is looked up with `blkid -L`, and env.mountedMedia maps a label to a directory
// that is already mounted (nothing is mounted then).
import { existsSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KindlingError } from '../errors.js';
import { run } from '../system/exec.js';
import type { AcquireEnv } from './env.js';

/** Resolves when ms passed; rejects when the signal aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function lookupLabel(env: AcquireEnv, label: string): Promise<string | undefined> {
  const link = join(env.diskByLabelDir, label);
  if (existsSync(link)) return link;
  // No udev (a minimal initrd, this build machine): ask libblkid directly. Only when the by-label
  // directory is the real one; a test's injected directory means "these are all the labels".
  if (env.diskByLabelDir !== '/dev/disk/by-label') return undefined;
  try {
    const r = await run('blkid', ['-L', label], { allowFailure: true, timeout: 10_000 });
    const dev = r.stdout.trim();
    return r.exitCode === 0 && dev ? dev : undefined;
  } catch {
    return undefined;
  }
}

export interface MediaRequest {
  /** Filesystem label (config-2, cidata, ...) or, with byId, a /dev/disk/by-id name. */
  label: string;
  byId?: boolean;
  /** Files to read, relative to the filesystem root; missing files come back undefined. */
  files: string[];
  /** Give up waiting for the device after this long (undefined: wait until the signal). */
  waitMs?: number;
  signal?: AbortSignal;
  /** Filesystem types to pass to mount (default auto). */
  fsType?: string;
}

export interface MediaResult {
  device: string;
  files: Record<string, Buffer | undefined>;
}

function readFiles(root: string, files: string[]): Record<string, Buffer | undefined> {
  const out: Record<string, Buffer | undefined> = {};
  for (const f of files) {
    const p = join(root, join('/', f));
    try {
      out[f] = readFileSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new KindlingError('platform', `couldn't read ${f} on the config drive: ${(err as Error).message}`);
      }
      out[f] = undefined;
    }
  }
  return out;
}

/**
 * Waits for the medium, mounts it, reads the files. Resolves null when the medium never appeared
 * within waitMs (the caller decides whether that is "no config" or an error).
 */
export async function readMedia(env: AcquireEnv, req: MediaRequest): Promise<MediaResult | null> {
  const premounted = env.mountedMedia[req.label];
  if (premounted) return { device: premounted, files: readFiles(premounted, req.files) };
  const started = Date.now();
  let device: string | undefined;
  for (;;) {
    device = req.byId ? (existsSync(join(env.diskByIdDir, req.label)) ? join(env.diskByIdDir, req.label) : undefined) : await lookupLabel(env, req.label);
    if (device) break;
    if (req.waitMs !== undefined && Date.now() - started >= req.waitMs) return null;
    env.log.debug(`config drive ${req.label} not found; waiting`);
    await delay(1000, req.signal);
  }
  const mnt = mkdtempSync(join(tmpdir(), 'kindling-media-'));
  try {
    await run('mount', ['-o', 'ro', '-t', req.fsType ?? 'auto', device, mnt]);
    try {
      return { device, files: readFiles(mnt, req.files) };
    } finally {
      await run('umount', [mnt], { allowFailure: true });
    }
  } finally {
    try {
      rmdirSync(mnt);
    } catch {
      /* still mounted or already gone: nothing more to do */
    }
  }
}
