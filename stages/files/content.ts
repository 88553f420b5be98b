// Getting file contents onto the disk. Every resource goes through openResource (decompression and
// verification happen while streaming, and the stream only ends cleanly when the hash matched), into
// a temporary file that is renamed into place only after that clean end: a failed or unverified
// fetch never leaves a half-written file where the config's path is.
//
// Remote resources (http, tftp, s3, gs) are fetched ahead of the sequential writer, a few at a time,
// into a private staging directory inside the root (same filesystem, so a rename moves them); the
// writer then takes them in Ignition's order. Local ones (data:, oem://) are streamed at write time.
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, unlinkSync, writev } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Resource } from '../../src/config/types.js';
import { KindlingError } from '../../src/errors.js';
import { fetchResource, needsNetwork, schemeOf, streamResource } from '../../src/resources/index.js';
import { writeAllSync } from '../../src/system/write-all.js';
import type { StageContextConfig } from './context.js';
import { errno } from './util.js';

export function isRemote(r: Resource | undefined): boolean {
  return !!r?.source && needsNetwork(r.source);
}

let tempCounter = 0;
// A random token per process (not per file: that costs a getrandom call each): pids repeat from
// boot to boot in an initramfs, and a crashed run's leftovers must not clash. Files are created
// with O_EXCL, so a clash would fail rather than share a file.
const tempToken = `${process.pid}-${randomBytes(4).toString('hex')}`;
function tempName(dir: string): string {
  return path.join(dir, `.kindling-${tempToken}-${++tempCounter}.tmp`);
}

/** Streams a resource into a new file (created exclusively, 0600) and fsyncs it. */
export async function streamToFile(cfg: StageContextConfig, res: Resource, file: string, signal?: AbortSignal): Promise<void> {
  const base = isRemote(res) ? await cfg.fetchOptions() : {};
  // Either the caller's signal (ctx.options.signal) or the prefetcher's own abort ends the fetch.
  const signals = [base.signal, signal].filter((s): s is AbortSignal => s !== undefined);
  const opts = { ...base, signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0] };
  const fd = openSync(file, 'wx', 0o600);
  let w: FdWriter | undefined;
  try {
    if (cfg.customOpen) {
      // A test's opener: for-await pulls with backpressure and rethrows the stream's error (a
      // bad hash surfaces at its end), so an unverified file is never renamed into place.
      const src = await cfg.open(res, opts);
      for await (const chunk of src) writeAllSync(fd, chunk as Buffer);
    } else {
      // Each chunk hashed as it arrives (this thread) and written; resolves only once the hash
      // matched and every byte is written. Plain-http bodies come as borrowed views of the socket's
      // read buffer and are written at once, while still in the CPU cache; other sources' chunks
      // may go out through libuv's thread pool in batches.
      const writer = (w = new FdWriter(fd));
      await streamResource(res, opts, (chunk, borrowed) => writer.push(chunk, borrowed === true), { borrowed: true });
      await writer.end();
    }
    if (cfg.fsync) fsyncSync(fd);
  } catch (err) {
    // Never close a descriptor a thread-pool write still uses (the number could be reused).
    await w?.idle();
    closeSync(fd);
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
    throw err;
  }
  closeSync(fd);
}

/**
 * Writes chunks to a descriptor off the main thread: while one writev runs in libuv's thread pool,
 * the chunks arriving meanwhile are collected and go out together in the next one. push() returns
 * a promise (the caller pauses its source) only when more than HIGH_WATER bytes wait.
 */
class FdWriter {
  private static readonly HIGH_WATER = 4 << 20;
  private static readonly SYNC_UP_TO = 128 << 10;
  private written = 0;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private busy = false;
  private error: unknown;
  private waiters: Array<() => void> = [];

  constructor(private readonly fd: number) {}

  /** `borrowed`: the chunk is only valid during this call (written now, or copied if writes queue). */
  push(chunk: Buffer, borrowed = false): Promise<void> | undefined {
    if (this.error !== undefined) return Promise.reject(this.error);
    if (!this.busy && (borrowed || this.written + chunk.length <= FdWriter.SYNC_UP_TO)) {
      // The first bytes of a file (all of a small one) are written at once: a thread-pool round
      // trip per small file costs more than the write itself.
      writeAllSync(this.fd, chunk);
      this.written += chunk.length;
      return undefined;
    }
    this.written += chunk.length;
    this.queued.push(borrowed ? Buffer.from(chunk) : chunk);
    this.queuedBytes += chunk.length;
    if (!this.busy) this.flush();
    return this.queuedBytes > FdWriter.HIGH_WATER ? this.settled() : undefined;
  }

  /** Resolves when nothing is queued or being written any more; rejects with a write error. */
  async end(): Promise<void> {
    await this.settled();
  }

  /** Resolves when no write is running (errors ignored): the descriptor may then be closed. */
  async idle(): Promise<void> {
    this.queued = [];
    while (this.busy) await new Promise<void>((r) => this.waiters.push(r));
  }

  private settled(): Promise<void> {
    if (this.error !== undefined) return Promise.reject(this.error);
    if (!this.busy) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push(() => (this.error !== undefined ? reject(this.error) : resolve())));
  }

  private flush(): void {
    const bufs = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.busy = true;
    this.writeOut(bufs);
  }

  private writeOut(bufs: Buffer[]): void {
    writev(this.fd, bufs, (err, n) => {
      if (err) return this.done(err);
      // A short write (rare for regular files): the rest goes out next.
      let left = n;
      while (bufs.length && left >= bufs[0]!.length) left -= bufs.shift()!.length;
      if (bufs.length) {
        bufs[0] = bufs[0]!.subarray(left);
        return this.writeOut(bufs);
      }
      if (this.queued.length) return this.flush();
      this.done(undefined);
    });
  }

  private done(err: unknown): void {
    this.busy = false;
    if (err !== undefined && err !== null) this.error = err;
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * A temporary file in `dir` holding the resource's verified contents: taken from the prefetcher
 * for remote resources, streamed now otherwise. The caller renames or removes it.
 */
export interface Materialized {
  tmp: string;
  /** The owner and mode asked for were already set through the descriptor. */
  permsApplied: boolean;
}

/** Owner and mode for a new file, and how to report a chown only root may do. */
export interface NewFilePerms {
  uid: number;
  gid: number;
  mode: number;
  /** false: the kernel gives the new file this owner anyway (default true). */
  chown?: boolean;
  onChownDenied?: (err: unknown) => void;
}

export async function materialize(cfg: StageContextConfig, res: Resource, dir: string, prefetched?: Promise<string>, perms?: NewFilePerms): Promise<Materialized> {
  const tmp = tempName(dir);
  if (!prefetched && (res.source === '' || schemeOf(res.source ?? '') === 'data') && !cfg.customOpen) {
    // A data: URL is in memory already (it is part of the config): the resources layer decodes,
    // decompresses and verifies it in one call, before a single byte reaches the disk.
    const buf = await fetchResource(res);
    // When the kernel gives the new file its owner anyway, it is created with its final mode if
    // the umask leaves that intact and no special bit is asked for: no chown, no chmod, and the
    // temporary file never has an owner or mode the final one does not. Otherwise 0600 first,
    // then chown, then chmod (chown clears set-user-ID/set-group-ID).
    const direct = perms !== undefined && perms.chown === false && (perms.mode & 0o7000) === 0 && (perms.mode & ~cfg.umask) === perms.mode;
    const fd = openSync(tmp, 'wx', direct ? perms.mode : 0o600);
    try {
      writeAllSync(fd, buf);
      if (cfg.fsync) fsyncSync(fd);
      if (perms) {
        // Through the descriptor: no second and third path lookup per file. chown before chmod.
        if (perms.chown !== false) {
          try {
            fchownSync(fd, perms.uid, perms.gid);
          } catch (err) {
            if (!perms.onChownDenied) throw err;
            perms.onChownDenied(err);
          }
        }
        if (!direct) fchmodSync(fd, perms.mode);
      }
    } catch (err) {
      closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        /* gone */
      }
      throw err;
    }
    closeSync(fd);
    return { tmp, permsApplied: perms !== undefined };
  }
  if (!prefetched) {
    await streamToFile(cfg, res, tmp);
    return { tmp, permsApplied: false };
  }
  const staged = await prefetched;
  try {
    renameSync(staged, tmp);
  } catch (err) {
    if (errno(err) !== 'EXDEV') throw err;
    // The target directory is on another filesystem (a separate /var mounted under the root).
    copyFileSync(staged, tmp);
    if (cfg.fsync) {
      const fd = openSync(tmp, 'r');
      fsyncSync(fd);
      closeSync(fd);
    }
    unlinkSync(staged);
  }
  return { tmp, permsApplied: false };
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
