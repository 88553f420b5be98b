// Verification hashes computed on a second thread (issue #4): one worker_threads Worker, started
// lazily at the first large plain-http body that carries a sha256/sha512 verification hash, keeps
// one createHash per file. The receiving thread copies each socket read once into a slot of a
// SharedArrayBuffer ring (the socket's read buffer is reused by the next read, so the bytes must
// be copied to stay stable), tells the worker which slot holds which file's bytes, and writes the
// same bytes to the staging file meanwhile; the worker marks the slot free (Atomics) once hashed.
// The digest comes back as a message; the caller compares it before the file is renamed.
//
// The worker's source is a string run with `eval: true`: the bundle is one file, no worker file.
// KINDLING_HASH_WORKER=0 turns it off (inline hashing, as for small bodies and other sources).
//
// Faults: the worker marks itself dead in shared memory (ctrl[2]) as it goes down, whether it threw
// or called process.exit, and wakes every waiter, so the receiving thread (which may be blocked in
// Atomics.wait on a full ring, its event loop unable to see the worker's 'exit' event) stops
// waiting at once and the body fails with one error ("the worker thread hashing the contents
// ..."): no digest, so nothing is renamed into place. The files stage stops the worker when it
// ends (stopHashWorker), successful or not; the next large body starts a new one.
//
// A worker that is alive but does nothing (hung) is given up after STALL_MS without progress while
// something waits on it: the wait loops and, while digests are awaited, a timer watch the count of
// commands done.
//
// Test hook: KINDLING_TEST_HASH_WORKER_FAULT=throw:N or exit:N makes the worker throw, or call
// process.exit(3), when it is about to hash its N-th ring slot (N >= 1); throw:N:MS / exit:N:MS
// first keeps that slot for MS milliseconds (the ring fills, the receiving thread blocks waiting for
// a slot); hang:N[:MS] makes it block forever there, and gives it up after MS (default 1000) ms
// instead of STALL_MS. Read only when a worker starts; only tests set it.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Bytes per ring slot (the raw client's reads are at most 256 KiB). */
const SLOT = 256 << 10;
const SLOTS = 8;
/** Bodies smaller than this are hashed inline (a message round trip per file is not worth it). */
export const MIN_WORKER_BODY = 256 << 10;

// Commands go through a queue in shared memory (no message per read): Q entries of four int32
// [op, id, slot, length] in `cmd`; ctrl[0] counts commands written, ctrl[1] commands done. Ops:
// 1 start sha256, 2 start sha512, 3 hash a slot (the slot is freed even for a dropped job),
// 4 digest (answered by a message [id, hex]), 5 drop. The worker blocks in Atomics.wait between
// commands and never returns to its event loop; it is unref'd, so it never keeps the process up.
const Q = 256;
/**
 * A worker that does none of the commands waiting for it for this long is given up: what waits on
 * it fails ("did not hash anything for 30 s") and it is terminated. Hashing 256 KiB takes ~1 ms;
 * only a hung thread comes near this.
 */
const STALL_MS = 30_000;
/**
 * A body starts on the worker only while fewer than this many ring slots wait to be hashed;
 * otherwise it is hashed inline. The worker alone is slower than the receiving thread (on two
 * cores it shares them with the receiving thread and, in the benchmark, the server), so sending
 * it every body left the receiving thread blocked on a full ring for ~0.25 s of a 0.7 s stage;
 * with this gate about half of the bytes go to the worker and the receiving thread never waits.
 */
const MAX_BACKLOG = 2;
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const slots = new Int32Array(workerData.slots);
const ctrl = new Int32Array(workerData.ctrl);
const cmd = new Int32Array(workerData.cmd);
const bytes = new Uint8Array(workerData.ring);
const SLOT = workerData.slot, Q = workerData.q, fault = workerData.fault;
// Going down (an exception, process.exit): say why and so in shared memory, wake every waiter.
const dead = (why) => {
  if (Atomics.load(ctrl, 2) !== 0) return;
  const b = Buffer.from(why).subarray(0, workerData.why.byteLength);
  new Uint8Array(workerData.why).set(b);
  Atomics.store(ctrl, 2, b.length + 1);
  Atomics.notify(ctrl, 1);
  for (let i = 0; i < slots.length; i++) Atomics.notify(slots, i);
};
process.on('exit', (code) => dead('exited (code ' + code + ')'));
const jobs = new Map();
let done = 0, hashed = 0;
try {
  for (;;) {
    let head = Atomics.load(ctrl, 0);
    while (head === done) { Atomics.wait(ctrl, 0, done); head = Atomics.load(ctrl, 0); }
    while (done !== head) {
      const e = (done % Q) * 4, op = cmd[e], id = cmd[e + 1];
      if (op === 3) {
        if (fault && ++hashed === fault.after) {
          // hang: never go on. Otherwise optionally first hold the ring full for a while (the
          // receiving thread then waits for a slot).
          if (fault.kind === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
          if (fault.holdMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, fault.holdMs);
          if (fault.kind === 'exit') process.exit(3);
          throw new Error('test fault (KINDLING_TEST_HASH_WORKER_FAULT)');
        }
        const slot = cmd[e + 2], h = jobs.get(id), off = slot * SLOT;
        if (h) h.update(bytes.subarray(off, off + cmd[e + 3]));
        Atomics.store(slots, slot, 0);
        Atomics.notify(slots, slot);
      } else if (op === 1 || op === 2) jobs.set(id, createHash(op === 1 ? 'sha256' : 'sha512'));
      else if (op === 4) {
        const h = jobs.get(id);
        jobs.delete(id);
        parentPort.postMessage([id, h ? h.digest('hex') : '']);
      } else if (op === 5) jobs.delete(id);
      done = (done + 1) | 0;
      Atomics.store(ctrl, 1, done);
      Atomics.notify(ctrl, 1);
    }
  }
} catch (e) {
  dead('failed (' + (e && e.message ? e.message : String(e)) + ')');
  throw e;
}
`;

/** The test hook's fault, when a test set KINDLING_TEST_HASH_WORKER_FAULT (see the top). */
function testFault(): { kind: 'throw' | 'exit' | 'hang'; after: number; holdMs: number } | undefined {
  const v = process.env.KINDLING_TEST_HASH_WORKER_FAULT;
  const m = v ? /^(throw|exit|hang):([1-9]\d*)(?::(\d+))?$/.exec(v) : null;
  return m ? { kind: m[1] as 'throw' | 'exit' | 'hang', after: Number(m[2]), holdMs: Number(m[3] ?? 0) } : undefined;
}

/** What a body on a worker that went down fails with (the caller names the URL). */
function workerFailure(why: string): Error {
  return new Error(`the worker thread hashing the contents ${why}; the contents were not verified`);
}

class HashWorker {
  private readonly worker: Worker;
  private readonly slots: Int32Array;
  private readonly ctrl: Int32Array;
  private readonly cmd: Int32Array;
  private readonly ring: Uint8Array;
  /** The worker's own account of why it went down (UTF-8; ctrl[2] holds its length + 1). */
  private readonly why: Uint8Array;
  private next = 0;
  private head = 0;
  private ids = 0;
  ready = false;
  failed?: Error;
  private readonly pending = new Map<number, { resolve: (hex: string) => void; reject: (e: Error) => void }>();

  constructor() {
    const ring = new SharedArrayBuffer(SLOT * SLOTS);
    const slots = new SharedArrayBuffer(4 * SLOTS);
    const ctrl = new SharedArrayBuffer(12);
    const why = new SharedArrayBuffer(256);
    this.why = new Uint8Array(why);
    const cmd = new SharedArrayBuffer(16 * Q);
    this.ring = new Uint8Array(ring);
    this.slots = new Int32Array(slots);
    this.ctrl = new Int32Array(ctrl);
    this.cmd = new Int32Array(cmd);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ring, slots, ctrl, cmd, why, slot: SLOT, q: Q, fault: testFault() } });
    this.worker.unref();
    this.worker.once('online', () => (this.ready = true));
    this.worker.on('message', (m: [number, string]) => {
      const p = this.pending.get(m[0]);
      if (!p) return;
      this.pending.delete(m[0]);
      if (this.pending.size === 0) this.worker.unref();
      p.resolve(m[1]);
    });
    const fault = testFault();
    this.stallMs = fault?.kind === 'hang' ? fault.holdMs || 1000 : STALL_MS;
    this.worker.once('error', (e) => this.die(workerFailure(`failed (${e instanceof Error ? e.message : String(e)})`)));
    this.worker.once('exit', (code) => this.die(workerFailure(this.stopping ? 'was stopped' : `exited (code ${code})`)));
  }

  private stopping = false;
  /** No command done for this long while some wait: the worker is given up (see STALL_MS). */
  private readonly stallMs: number;
  private watchdog?: ReturnType<typeof setInterval>;

  private die(e: Error): void {
    this.failed ??= e;
    this.ready = false;
    Atomics.store(this.ctrl, 2, 1);
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
    if (this.watchdog) clearInterval(this.watchdog);
    this.worker.unref();
  }

  /** The worker made no progress for stallMs: fail what waits on it and terminate it. */
  private stalled(): Error {
    const e = workerFailure(`did not hash anything for ${this.stallMs / 1000} s`);
    this.die(e);
    this.stopping = true;
    void this.worker.terminate();
    return this.failed!;
  }

  /**
   * Tracks the worker's progress (commands done) while this thread waits: returns a function to
   * call after each wait, which throws once nothing was done for stallMs.
   */
  private progress(): () => void {
    let seen = Atomics.load(this.ctrl, 1);
    let since = Date.now();
    return () => {
      const done = Atomics.load(this.ctrl, 1);
      if (done !== seen) {
        seen = done;
        since = Date.now();
      } else if (Date.now() - since > this.stallMs) throw this.stalled();
    };
  }

  /** Gone or going (its own shared-memory mark, or the exit event already seen). */
  get dead(): boolean {
    return this.failed !== undefined || Atomics.load(this.ctrl, 2) !== 0;
  }

  private failure(): Error {
    if (this.failed) return this.failed;
    // Gone before its exit event could be seen (this thread was waiting): its own words, if any.
    const n = Atomics.load(this.ctrl, 2) - 1;
    return workerFailure(this.stopping ? 'was stopped' : n > 0 ? Buffer.from(this.why.subarray(0, n)).toString() : 'stopped');
  }

  /** Terminates the thread; what waits on it fails. */
  async stop(): Promise<void> {
    this.stopping = true;
    Atomics.store(this.ctrl, 2, 1);
    await this.worker.terminate();
  }

  private send(op: number, id: number, slot = 0, len = 0): void {
    // A full queue: wait (briefly; the worker is working through it) for an entry to free up.
    let check: (() => void) | undefined;
    while (((this.head - Atomics.load(this.ctrl, 1)) | 0) >= Q) {
      if (this.dead) throw this.failure();
      check ??= this.progress();
      Atomics.wait(this.ctrl, 1, Atomics.load(this.ctrl, 1), 250);
      check();
    }
    const e = (this.head % Q) * 4;
    this.cmd[e] = op;
    this.cmd[e + 1] = id;
    this.cmd[e + 2] = slot;
    this.cmd[e + 3] = len;
    this.head = (this.head + 1) | 0;
    Atomics.store(this.ctrl, 0, this.head);
    Atomics.notify(this.ctrl, 0);
  }

  /** Resolves true once the worker runs, false if it failed to start. */
  readonly online = new Promise<boolean>((resolve) => {
    queueMicrotask(() => {
      this.worker.once('online', () => resolve(true));
      this.worker.once('exit', () => resolve(false));
    });
  });

  /** Ring slots holding bytes not hashed yet (how far behind the worker is). */
  backlog(): number {
    let n = 0;
    for (let i = 0; i < SLOTS; i++) n += Atomics.load(this.slots, i);
    return n;
  }

  get jobs(): number {
    return this.ids;
  }

  begin(algorithm: 'sha256' | 'sha512'): number {
    const id = ++this.ids;
    this.send(algorithm === 'sha256' ? 1 : 2, id);
    return id;
  }

  /** Copies `view` into the ring (waiting for a free slot if the worker is behind) and queues it. */
  update(id: number, view: Uint8Array): void {
    for (let off = 0; off < view.length; off += SLOT) {
      const n = Math.min(SLOT, view.length - off);
      const i = this.next;
      this.next = (i + 1) % SLOTS;
      // Slots are used in turn and hashed in order: the one due next is the oldest in flight.
      if (Atomics.load(this.slots, i) !== 0) ringWaits++;
      let check: (() => void) | undefined;
      while (Atomics.load(this.slots, i) !== 0) {
        if (this.dead) throw this.failure();
        check ??= this.progress();
        Atomics.wait(this.slots, i, 1, 250);
        check();
      }
      if (this.dead) throw this.failure();
      this.ring.set(n === view.length ? view : view.subarray(off, off + n), i * SLOT);
      Atomics.store(this.slots, i, 1);
      this.send(3, id, i, n);
    }
  }

  digest(id: number): Promise<string> {
    if (this.dead) return Promise.reject(this.failure());
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      // While digests are awaited, a timer watches the worker's progress (a hung worker would
      // otherwise leave them pending forever).
      if (!this.watchdog) {
        const check = this.progress();
        this.watchdog = setInterval(() => {
          if (this.pending.size === 0 || this.dead) {
            clearInterval(this.watchdog);
            this.watchdog = undefined;
            return;
          }
          // Everything sent is done: the answers are on their way, nothing is stuck.
          if (Atomics.load(this.ctrl, 1) === this.head) return;
          try {
            check();
          } catch {
            /* stalled() failed the pending digests */
          }
        }, 250);
        this.watchdog.unref();
      }
      this.send(4, id);
    });
  }

  drop(id: number): void {
    if (!this.dead) this.send(5, id);
  }
}

let shared: HashWorker | undefined;
let starts = 0;
/** Times the receiving thread found the next ring slot still busy and waited for it. */
let ringWaits = 0;
let jobsBefore = 0;

/**
 * The hash worker when it is running and worth using for a body of `size` bytes (undefined: hash
 * inline). The first large body starts it; bodies that begin before it is online hash inline.
 */
export function hashWorkerFor(algorithm: 'sha256' | 'sha512', size: number): { worker: HashWorker; id: number } | undefined {
  if (size < MIN_WORKER_BODY) return undefined;
  if (process.env.KINDLING_HASH_WORKER === '0') return undefined;
  if (!shared) {
    if (availableParallelism() < 2 && process.env.KINDLING_HASH_WORKER !== '1') return undefined;
    startHashWorker();
    return undefined;
  }
  if (!shared.ready || shared.dead || shared.backlog() >= MAX_BACKLOG) return undefined;
  return { worker: shared, id: shared.begin(algorithm) };
}

/** Starts the worker now if none runs (hashWorkerFor does at the first large body; tests too). */
export function startHashWorker(): void {
  if (shared) return;
  try {
    shared = new HashWorker();
    starts++;
  } catch {
    // No thread to be had: everything is hashed inline, as on one CPU.
    shared = undefined;
  }
}

/**
 * Terminates the worker, if one runs (the files stage calls this when it ends). A body still on it
 * fails; the next large body starts a new worker.
 */
export async function stopHashWorker(): Promise<void> {
  const w = shared;
  if (!w) return;
  shared = undefined;
  jobsBefore += w.jobs;
  await w.stop();
}

/** For tests: whether a worker was ever started, and how many bodies workers have hashed (begun). */
export function hashWorkerStats(): { started: boolean; jobs: number } {
  return { started: starts > 0, jobs: jobsBefore + (shared?.jobs ?? 0) };
}

/**
 * For tests: how many workers were started, whether one runs now (started, not dead or stopped),
 * and how many times the receiving thread waited for a ring slot.
 */
export function hashWorkerState(): { starts: number; running: boolean; ringWaits: number } {
  return { starts, running: shared !== undefined && !shared.dead, ringWaits };
}

/** For tests: resolves once the worker (when started) is online; false when none runs. */
export async function hashWorkerOnline(): Promise<boolean> {
  return shared ? shared.online : false;
}
