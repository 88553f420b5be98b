// Verification hashes of large plain-http bodies computed on a worker thread
// (src/resources/hash-worker.ts): the files stage against a real HTTP server on 127.0.0.1. The
// worker path must write the same bytes and fail exactly like inline hashing: a wrong hash fails
// the stage with the same error and leaves neither the file nor a staging file behind. With
// KINDLING_HASH_WORKER=0 no worker starts at all. The order of the tests matters (the
// KINDLING_HASH_WORKER=0 case runs first, before any worker was started). The files stage stops the
// worker when it ends, and a worker started by the first large body is not online for the bodies
// that begin with it, so the cases that want the worker path start it first (warm()).
// Faults (the worker dying mid-body, a full disk) are in hash-worker-faults.test.ts.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { KindlingError } from '../../src/errors.js';
import { hashWorkerOnline, hashWorkerState, hashWorkerStats, startHashWorker, stopHashWorker } from '../../src/resources/hash-worker.js';
import { streamResource } from '../../src/resources/index.js';
import { cleanupTemps, runFiles, snapshot, tempDir } from './helpers.js';

const N = 6;
const bodies = Array.from({ length: N }, (_, i) => {
  const b = Buffer.alloc((1 << 20) + 4097 * i);
  for (let o = 0; o + 32 <= b.length; o += 32) b.write(`${String(i).padStart(6, '0')}:${o.toString(16).padStart(24, '0')}\n`, o);
  return b;
});
const sha = (alg: 'sha512' | 'sha256', b: Buffer) => `${alg}-` + createHash(alg).update(b).digest('hex');

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const m = /^\/(f|cut)\/(\d+)$/.exec(req.url ?? '');
    const b = m ? bodies[Number(m[2])] : undefined;
    if (!b) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': b.length });
    if (m![1] === 'cut') res.write(b.subarray(0, b.length >> 1), () => res.socket?.destroy());
    else res.end(b);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
  cleanupTemps();
});

const cfg = (files: NonNullable<Config['storage']>['files']): Config => ({ ignition: { version: '3.6.0' }, storage: { files } });
const all = (alg: 'sha512' | 'sha256' = 'sha512') =>
  cfg(bodies.map((b, i) => ({ path: `/d/f${i}`, mode: 0o644, contents: { source: `${base}/f/${i}`, verification: { hash: sha(alg, b) } } })));
// File 3 with another body's hash: the stage fails on it.
const oneWrong = () =>
  cfg(bodies.map((b, i) => ({ path: `/d/f${i}`, contents: { source: `${base}/f/${i}`, verification: { hash: sha('sha512', i === 3 ? bodies[0]! : b) } } })));

function expectAllWritten(root: string): void {
  for (let i = 0; i < N; i++) expect(readFileSync(path.join(root, `d/f${i}`)).equals(bodies[i]!)).toBe(true);
  expect(Object.keys(snapshot(root)).filter((p) => p.includes('.kindling-'))).toEqual([]);
}

async function failure(root: string): Promise<KindlingError> {
  const err = await runFiles(oneWrong(), root).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KindlingError);
  expect(existsSync(path.join(root, 'd/f3'))).toBe(false);
  expect(Object.keys(snapshot(root)).filter((p) => p.includes('.kindling-'))).toEqual([]);
  return err as KindlingError;
}

let inlineError = '';

/** Starts the worker and waits until it runs, so the next stage's large bodies go to it. */
async function warm(): Promise<void> {
  startHashWorker();
  expect(await hashWorkerOnline()).toBe(true);
}

describe('hash worker', () => {
  it('KINDLING_HASH_WORKER=0: no worker starts; right hashes written, a wrong one fails closed', async () => {
    process.env.KINDLING_HASH_WORKER = '0';
    try {
      const root = tempDir();
      await runFiles(all(), root);
      expectAllWritten(root);
      inlineError = (await failure(tempDir())).message;
      expect(inlineError).toMatch(/sha512 of the contents is [0-9a-f]{128}, the config expects/);
      expect(hashWorkerStats()).toEqual({ started: false, jobs: 0 });
    } finally {
      delete process.env.KINDLING_HASH_WORKER;
    }
  });

  it('hashes large bodies on the worker once it runs: the same files, sha512 and sha256; the stage stops it', async () => {
    // The first large body starts the worker (and is hashed inline meanwhile); the stage's end stops it.
    await runFiles(all(), tempDir());
    expect(hashWorkerStats().started).toBe(true);
    expect(hashWorkerState().running).toBe(false);
    for (const alg of ['sha512', 'sha256'] as const) {
      await warm();
      const before = hashWorkerStats().jobs;
      const root = tempDir();
      await runFiles(all(alg), root);
      expectAllWritten(root);
      expect(hashWorkerStats().jobs).toBeGreaterThan(before);
      expect(hashWorkerState().running).toBe(false);
    }
  });

  it('a wrong hash on the worker path fails with the same error and leaves nothing behind', async () => {
    await warm();
    const before = hashWorkerStats().jobs;
    const err = await failure(tempDir());
    expect(hashWorkerStats().jobs).toBeGreaterThan(before);
    expect(err.message).toBe(inlineError);
  });

  it('a body cut mid-way on the worker path fails; the worker goes on hashing the next ones', async () => {
    await warm();
    const before = hashWorkerStats().jobs;
    const wrong = await streamResource({ source: `${base}/cut/2`, verification: { hash: sha('sha512', bodies[2]!) } }, { maxAttempts: 1 }, () => {}).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(Error);
    expect(hashWorkerStats().jobs).toBe(before + 1);
    const starts = hashWorkerState().starts;
    const after = hashWorkerStats().jobs;
    const root = tempDir();
    await runFiles(all(), root);
    expectAllWritten(root);
    // Still the same worker (the cut body did not stop it), hashing this stage's bodies.
    expect(hashWorkerStats().jobs).toBeGreaterThan(after);
    expect(hashWorkerState().starts).toBe(starts);
    await stopHashWorker();
  });
});
