// Getting file contents onto the disk. Every resource goes through openResource (decompression and
// verification happen while streaming, and the stream only ends cleanly when the hash matched), into
// a temporary file that is renamed into place only after that clean end: a failed or unverified
// fetch never leaves a half-written file where the config's path is.
//
// Remote resources (http, tftp, s3, gs) are fetched ahead of the sequential writer, a few at a time,
// into a private staging directory inside the root (same filesystem, so a rename moves them); the
// writer then takes them in Ignition's order. Local ones (data:, oem://) are streamed at write time.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Resource } from '../../src/config/types.js';
import { KindlingError } from '../../src/errors.js';
import { needsNetwork } from '../../src/resources/index.js';
import type { StageContextConfig } from './context.js';
import { errno } from './util.js';

export function isRemote(r: Resource | undefined): boolean {
  return !!r?.source && needsNetwork(r.source);
}

function tempName(dir: string): string {
  return path.join(dir, `.kindling-${randomBytes(6).toString('hex')}.tmp`);
}

/** Streams a resource into a new file (created exclusively, 0600) and fsyncs it. */
export async function streamToFile(cfg: StageContextConfig, res: Resource, file: string, signal?: AbortSignal): Promise<void> {
  const base = isRemote(res) ? await cfg.fetchOptions() : {};
  // Either the caller's signal (ctx.options.signal) or the prefetcher's own abort ends the fetch.
  const signals = [base.signal, signal].filter((s): s is AbortSignal => s !== undefined);
  const opts = { ...base, signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0] };
  const fh = await open(file, 'wx', 0o600);
  try {
    const src = await cfg.open(res, opts);
    // for-await pulls with backpressure and rethrows the stream's error (a bad hash surfaces at
    // its end), so an unverified file is never renamed into place. (No write stream over the
    // handle: with autoClose off, FileHandle.close() would wait for it forever.)
    for await (const chunk of src) await fh.write(chunk as Buffer);
    if (cfg.fsync) await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(file).catch(() => {});
    throw err;
  }
  await fh.close();
}

/**
 * A temporary file in `dir` holding the resource's verified contents: taken from the prefetcher
 * for remote resources, streamed now otherwise. The caller renames or removes it.
 */
export async function materialize(cfg: StageContextConfig, res: Resource, dir: string, prefetched?: Promise<string>): Promise<string> {
  const tmp = tempName(dir);
  if (!prefetched) {
    await streamToFile(cfg, res, tmp);
    return tmp;
  }
  const staged = await prefetched;
  try {
    await rename(staged, tmp);
  } catch (err) {
    if (errno(err) !== 'EXDEV') throw err;
    // The target directory is on another filesystem (a separate /var mounted under the root).
    await copyFile(staged, tmp);
    const fh = await open(tmp, 'r');
    await fh.sync();
    await fh.close();
    await unlink(staged);
  }
  return tmp;
}

/** Fetches remote resources ahead of time with a bound on concurrency. */
export class Prefetcher {
  private readonly jobs = new Map<string, Promise<string>>();
  private readonly queue: Array<() => void> = [];
  private running = 0;
  private staging?: Promise<string>;
  private readonly abort = new AbortController();

  constructor(private readonly cfg: StageContextConfig) {}

  private stagingDir(): Promise<string> {
    this.staging ??= (async () => {
      const dir = path.join(this.cfg.root, `.kindling-fetch-${process.pid}-${randomBytes(4).toString('hex')}`);
      await mkdir(dir, { mode: 0o700 });
      return dir;
    })();
    return this.staging;
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.cfg.fetchConcurrency) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }

  /** Starts fetching (in queue order) unless already started. */
  start(key: string, res: Resource): void {
    if (this.jobs.has(key)) return;
    const job = this.slot(async () => {
      if (this.abort.signal.aborted) throw new KindlingError('fetch', 'fetch cancelled: an earlier operation failed');
      const file = tempName(await this.stagingDir());
      await streamToFile(this.cfg, res, file, this.abort.signal);
      return file;
    });
    // The writer may never ask for it (an earlier op failed): keep the rejection from going unhandled.
    job.catch(() => {});
    this.jobs.set(key, job);
  }

  take(key: string): Promise<string> | undefined {
    return this.jobs.get(key);
  }

  /** Cancels what is still running and removes the staging directory. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.jobs.values()]);
    if (this.staging) {
      const dir = await this.staging.catch(() => undefined);
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }
}
