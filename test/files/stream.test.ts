// streamResource (src/resources/index.ts), the path remote file contents take to the disk: chunks
// hashed as they arrive and handed to a sink; the promise resolves only after the whole body
// arrived and matched. Against a real HTTP server on 127.0.0.1: a good body, a wrong hash, gzip
// (the hash is of the decompressed bytes), a connection cut mid-body, a sink that throws, a sink
// that applies backpressure, and the caller's abort.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamResource } from '../../src/resources/index.js';

const BODY = Buffer.alloc(3 << 20);
for (let o = 0; o < BODY.length; o += 16) BODY.write(o.toString(16).padStart(15, '0') + '\n', o);
const sha512 = (b: Buffer) => 'sha512-' + createHash('sha512').update(b).digest('hex');

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/body') return void res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
    if (req.url === '/gz') {
      const gz = gzipSync(BODY);
      return void res.writeHead(200, { 'content-length': gz.length }).end(gz);
    }
    if (req.url === '/cut') {
      // Promises the whole body, sends a third of it, then drops the connection.
      res.writeHead(200, { 'content-length': BODY.length });
      res.write(BODY.subarray(0, BODY.length / 3), () => res.socket?.destroy());
      return;
    }
    if (req.url === '/slow') {
      res.writeHead(200, { 'content-length': BODY.length });
      res.write(BODY.subarray(0, 1024)); // and never the rest
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const fast = { backoff: { initialMs: 10, maxMs: 20 }, maxAttempts: 2 };

async function collect(source: string, verification?: string, compression?: string, opts = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await streamResource({ source, compression, verification: verification ? { hash: verification } : undefined }, { ...fast, ...opts }, (c) => {
    chunks.push(c);
  });
  return Buffer.concat(chunks);
}

describe('streamResource', () => {
  it('delivers the body and resolves when the hash matches', async () => {
    const got = await collect(`${base}/body`, sha512(BODY));
    expect(got.equals(BODY)).toBe(true);
  });

  it('rejects at the end when the hash does not match (every byte was seen, none vouched for)', async () => {
    const wrong = sha512(Buffer.from('something else'));
    let seen = 0;
    await expect(
      streamResource({ source: `${base}/body`, verification: { hash: wrong } }, fast, (c) => {
        seen += c.length;
      }),
    ).rejects.toThrow(/sha512 of the contents is [0-9a-f]{128}, the config expects/);
    expect(seen).toBe(BODY.length);
  });

  it('decompresses gzip and verifies the decompressed bytes', async () => {
    const got = await collect(`${base}/gz`, sha512(BODY), 'gzip');
    expect(got.equals(BODY)).toBe(true);
    await expect(collect(`${base}/gz`, sha512(gzipSync(BODY)), 'gzip')).rejects.toThrow(/sha512 of the contents/);
  });

  it('rejects a body cut short by the server, even without a hash', async () => {
    await expect(collect(`${base}/cut`)).rejects.toThrow(/127\.0\.0\.1/);
  });

  it('passes on what the sink throws and stops reading', async () => {
    let calls = 0;
    const boom = new Error('disk full');
    await expect(
      streamResource({ source: `${base}/body` }, fast, () => {
        calls++;
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(calls).toBe(1);
  });

  it('waits for a sink that returns a promise (backpressure) and fails with its rejection', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const chunks: Buffer[] = [];
    await streamResource({ source: `${base}/body`, verification: { hash: sha512(BODY) } }, fast, (c) => {
      chunks.push(c);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<void>((r) =>
        setTimeout(() => {
          inFlight--;
          r();
        }, 1),
      );
    });
    expect(maxInFlight).toBe(1);
    expect(Buffer.concat(chunks).equals(BODY)).toBe(true);
    await expect(streamResource({ source: `${base}/body` }, fast, () => Promise.reject(new Error('write failed')))).rejects.toThrow('write failed');
  });

  it('ends when the caller aborts mid-body', async () => {
    const ac = new AbortController();
    const p = streamResource({ source: `${base}/slow` }, { ...fast, signal: ac.signal }, () => {
      ac.abort(new Error('deadline'));
    });
    await expect(p).rejects.toThrow();
  });

  it('a 404 is "not found"; data: URLs are verified before the sink sees a byte', async () => {
    await expect(collect(`${base}/missing`)).rejects.toThrow(/not found/);
    const seen: Buffer[] = [];
    await expect(streamResource({ source: 'data:,hello', verification: { hash: sha512(Buffer.from('other')) } }, {}, (c) => void seen.push(c))).rejects.toThrow(/sha512/);
    expect(seen).toEqual([]);
    expect((await collect('data:,hello', sha512(Buffer.from('hello')))).toString()).toBe('hello');
  });
});
