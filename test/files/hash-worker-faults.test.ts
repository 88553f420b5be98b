// Faults while the hash worker (src/resources/hash-worker.ts) hashes large plain-http bodies for the
// files stage, against a real HTTP server on 127.0.0.1:
//  (a) the worker dying mid-body (an exception in it, process.exit in it; each also after holding
//      the ring full, so the receiving thread is blocked in Atomics.wait when it dies) or hanging
//      (alive, doing nothing: given up once it made no progress for a while), through the test
//      hook KINDLING_TEST_HASH_WORKER_FAULT: the stage fails closed with one readable error,
//      writes no file whose hash was not verified, does not hang, and no worker is left running;
//  (b) a full disk (a tmpfs mounted with size=, root only) while the worker is in use: a readable
//      error, no partial file, nothing staged left behind, the worker terminated; Ignition 2.14 on a
//      twin tmpfs of the same size leaves no partial file either (compared when it is installed).
// No timed assertions: a hang is caught by the test timeout.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { KindlingError } from '../../src/errors.js';
import { hashWorkerOnline, hashWorkerState, hashWorkerStats, startHashWorker, stopHashWorker } from '../../src/resources/hash-worker.js';
import { streamResource } from '../../src/resources/index.js';
import { cleanupOracle, haveIgnition, runIgnition } from '../differential/files/oracle.js';
import { cleanupTemps, runFiles, snapshot, tempDir } from './helpers.js';

const N = 6;
const bodies = Array.from({ length: N }, (_, i) => {
  const b = Buffer.alloc((1 << 20) + 4097 * i);
  for (let o = 0; o + 32 <= b.length; o += 32) b.write(`${String(i).padStart(6, '0')}:${o.toString(16).padStart(24, '0')}\n`, o);
  return b;
});
// 4 MiB: more than the ring's 8 x 256 KiB, so while the worker holds a slot the receiving thread
// runs out of free slots and waits.
const big = Buffer.alloc(4 << 20, 'big body\n');
const sha512 = (b: Buffer) => 'sha512-' + createHash('sha512').update(b).digest('hex');

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const m = /^\/f\/(\d+|big)$/.exec(req.url ?? '');
    const b = m ? (m[1] === 'big' ? big : bodies[Number(m[1])]) : undefined;
    if (!b) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': b.length });
    res.end(b);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  delete process.env.KINDLING_TEST_HASH_WORKER_FAULT;
  await stopHashWorker();
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
  cleanupTemps();
  cleanupOracle();
});

const config = (withBig = false): Config => ({
  ignition: { version: '3.3.0' },
  storage: {
    files: [
      ...(withBig ? [{ path: '/d/big', contents: { source: `${base}/f/big`, verification: { hash: sha512(big) } } }] : []),
      ...bodies.map((b, i) => ({ path: `/d/f${i}`, mode: 0o644, contents: { source: `${base}/f/${i}`, verification: { hash: sha512(b) } } })),
    ],
  },
});

/** Files of the config that are there: each must hold exactly its verified body (no partial file). */
function present(root: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    let got: Buffer;
    try {
      got = readFileSync(path.join(root, `d/f${i}`));
    } catch {
      continue;
    }
    expect(got.equals(bodies[i]!), `/d/f${i} holds ${got.length} bytes that are not its body`).toBe(true);
    out.push(i);
  }
  return out;
}

/** Anything in the root that is neither a file of the config, nor a directory, nor `keep`. */
function leftovers(root: string, keep: (p: string) => boolean = () => false): string[] {
  return Object.entries(snapshot(root))
    .filter(([p, n]) => n.type !== 'dir' && !/^\/d\/(f\d|big)$/.test(p) && !keep(p))
    .map(([p]) => p);
}

/** Starts the worker with the fault set in the environment and waits until it runs. */
async function faultyWorker(fault: string): Promise<void> {
  process.env.KINDLING_TEST_HASH_WORKER_FAULT = fault;
  startHashWorker();
  expect(await hashWorkerOnline()).toBe(true);
}

describe('hash worker faults: the worker dies mid-body', () => {
  const thrown = /the worker thread hashing the contents failed \(test fault \(KINDLING_TEST_HASH_WORKER_FAULT\)\); the contents were not verified/;
  const exited = /the worker thread hashing the contents exited \(code 3\); the contents were not verified/;
  const hung = /the worker thread hashing the contents did not hash anything for 1 s; the contents were not verified/;
  const hung15 = /the worker thread hashing the contents did not hash anything for 1\.5 s; the contents were not verified/;
  const cases: Array<[string, RegExp, boolean]> = [
    ['throw:3', thrown, false],
    ['exit:3', exited, false],
    ['throw:2:300', thrown, true],
    ['exit:2:300', exited, true],
    // Alive but doing nothing: given up after 1 s without progress (30 s outside tests).
    ['hang:2', hung, false],
    ['hang:2:1500', hung15, true],
  ];
  for (const [fault, why, held] of cases) {
    it(`${fault}: the stage fails closed with one readable error, only verified files, nothing staged left, no worker left`, { timeout: 60_000 }, async () => {
      await faultyWorker(fault);
      const waits = hashWorkerState().ringWaits;
      const root = tempDir();
      const err = await runFiles(config(held), root).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KindlingError);
      const msg = (err as Error).message;
      console.log(`${fault}: ${msg}`);
      // The big file, when there, holds exactly its body.
      try {
        expect(readFileSync(path.join(root, 'd/big')).equals(big)).toBe(true);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      // One sentence: which file, which URL, why.
      expect(msg).toMatch(new RegExp(`^.*/d/(f\\d|big).*http://127\\.0\\.0\\.1:\\d+/f/(\\d|big): (${why.source})$`));
      expect(msg.split('\n')).toHaveLength(1);
      present(root);
      expect(leftovers(root)).toEqual([]);
      expect(hashWorkerState().running).toBe(false);
      // The held cases really had the receiving thread waiting on a full ring when the worker died.
      if (held) expect(hashWorkerState().ringWaits).toBeGreaterThan(waits);
    });
  }

  it('a hung worker while only a digest is awaited (1 MiB: the ring never fills): the watchdog timer fails it', { timeout: 60_000 }, async () => {
    await faultyWorker('hang:1');
    const waits = hashWorkerState().ringWaits;
    const err = await streamResource({ source: `${base}/f/0`, verification: { hash: sha512(bodies[0]!) } }, { maxAttempts: 1 }, () => {}).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/f\/0: the worker thread hashing the contents did not hash anything for 1 s; the contents were not verified$/);
    // The receiving thread never waited for a slot: the digest's watchdog found the hang.
    expect(hashWorkerState()).toMatchObject({ ringWaits: waits, running: false });
  });

  it('streamResource alone: the body fails with a FetchError naming the URL; the next large body is hashed inline or on a new worker', { timeout: 60_000 }, async () => {
    await faultyWorker('exit:2');
    let n = 0;
    const err = await streamResource({ source: `${base}/f/1`, verification: { hash: sha512(bodies[1]!) } }, { maxAttempts: 1 }, (c) => void (n += c.length)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KindlingError);
    expect((err as KindlingError).kind).toBe('fetch');
    expect((err as Error).message).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/f\/1: the worker thread hashing the contents exited \(code 3\); the contents were not verified$/);
    expect(hashWorkerState().running).toBe(false);
    delete process.env.KINDLING_TEST_HASH_WORKER_FAULT;
    // The dead worker is not used again; a body now is hashed inline and verified.
    await streamResource({ source: `${base}/f/2`, verification: { hash: sha512(bodies[2]!) } }, { maxAttempts: 1 }, () => {});
    // After stopHashWorker a new worker serves again.
    await stopHashWorker();
    const starts = hashWorkerState().starts;
    startHashWorker();
    expect(await hashWorkerOnline()).toBe(true);
    expect(hashWorkerState()).toMatchObject({ starts: starts + 1, running: true });
    const root = tempDir();
    await runFiles(config(), root);
    expect(present(root)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

const isRoot = process.getuid?.() === 0;

/** A tmpfs of `size` mounted on a fresh directory (0755, as /sysroot); unmounted by the caller. */
function tmpfsRoot(size: string): string {
  const parent = tempDir('kindling-enospc-');
  chmodSync(parent, 0o755);
  const dir = path.join(parent, 'root');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return dir;
}

(isRoot ? describe : describe.skip)('hash worker faults: a full disk while the worker is in use', () => {
  it('3 MiB tmpfs, six 1 MiB files: a readable ENOSPC error, no partial file, nothing staged left, the worker terminated; Ignition 2.14 leaves no partial file either', { timeout: 120_000 }, async () => {
    const mounts: string[] = [];
    try {
      const root = tmpfsRoot('3m');
      mounts.push(root);
      startHashWorker();
      expect(await hashWorkerOnline()).toBe(true);
      const jobs = hashWorkerState();
      const hashed = hashWorkerStats().jobs;
      const err = await runFiles(config(), root).catch((e: unknown) => e);
      // The worker was in use: bodies of this stage went to it.
      expect(hashWorkerStats().jobs).toBeGreaterThan(hashed);
      expect(err).toBeInstanceOf(KindlingError);
      expect((err as Error).message).toMatch(/^.*\/d\/f\d.*: no space left on device/i);
      expect((err as Error).message.split('\n')).toHaveLength(1);
      console.log(`full disk: ${(err as Error).message}`);
      const ours = present(root);
      expect(ours.length).toBeLessThan(N);
      expect(leftovers(root)).toEqual([]);
      expect(hashWorkerState()).toMatchObject({ starts: jobs.starts, running: false });

      if (haveIgnition) {
        const ign = tmpfsRoot('3m');
        mounts.push(ign);
        mkdirSync(path.join(ign, 'etc/selinux'), { recursive: true });
        writeFileSync(path.join(ign, 'etc/selinux/config'), 'SELINUXTYPE=targeted\n');
        const r = await runIgnition(JSON.stringify(config()), ign);
        expect(r.ok).toBe(false);
        expect(r.log).toMatch(/no space left on device/i);
        const theirs = present(ign);
        const theirLeft = leftovers(ign, (p) => p === '/etc/selinux/config');
        // Ignition leaves no partial file and no temporary file; neither do we.
        expect(theirLeft).toEqual([]);
        console.log(`full disk: Ignition 2.14 left complete files ${JSON.stringify(theirs)}, Kindling ${JSON.stringify(ours)}; ` + `directory /d: Ignition ${JSON.stringify(readdirSync(path.join(ign, 'd')).sort())}`);
      }
    } finally {
      for (const m of mounts) execFileSync('umount', [m]);
    }
  });
});
