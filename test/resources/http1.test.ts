// The raw HTTP/1.1 client (src/resources/http1.ts) that plain-http contents without a proxy go
// through: keep-alive reuse (Content-Length and chunked), a kept-alive connection the server closed
// (retried at once on a new connection, not counted as a failed attempt), chunked bodies split at
// every possible place, trailers, close-delimited bodies, 1xx, malformed and truncated responses,
// bytes after a response, backpressure in the middle of one socket read, and the borrowed views
// handed to the files stage's sink. Real servers on 127.0.0.1 (node:http, or raw TCP to say
// exactly what the wire carries).
import type http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchResource, openResource, streamResource } from '../../src/resources/index.js';
import { closeIdleConnections } from '../../src/resources/http.js';
import { collect, FAST, sha512, startHttp, startRaw, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
afterEach(async () => {
  closeIdleConnections();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A node:http server that counts the TCP connections its requests came on. */
async function serve(h: http.RequestListener): Promise<TestServer & { connections: () => number }> {
  const sockets = new Set<net.Socket>();
  const s = await startHttp((q, r) => {
    sockets.add(q.socket);
    h(q, r);
  });
  servers.push(s);
  return { ...s, connections: () => sockets.size };
}

async function raw(onSocket: (s: net.Socket) => void): Promise<TestServer> {
  const s = await startRaw(onSocket);
  servers.push(s);
  return s;
}

const BIG = Buffer.alloc(700_000);
for (let o = 0; o < BIG.length; o += 20) BIG.write(o.toString(36).padStart(19, '.') + '\n', o);

/** Streams through the files stage's path; returns the bytes and whether the views were borrowed. */
async function stream(source: string, opts = {}, verification?: string): Promise<{ body: Buffer; borrowed: boolean }> {
  const parts: Buffer[] = [];
  let borrowed = false;
  await streamResource(
    { source, verification: verification ? { hash: verification } : undefined },
    { ...FAST, ...opts },
    (c, b) => {
      borrowed ||= b === true;
      parts.push(Buffer.from(c)); // a borrowed view must be copied to be kept
    },
    { borrowed: true },
  );
  return { body: Buffer.concat(parts), borrowed };
}

/** A chunked encoding of body with chunks of `size` bytes, an extension and a trailer. */
function chunked(body: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; o < body.length; o += size) {
    const c = body.subarray(o, o + size);
    parts.push(Buffer.from(`${c.length.toString(16)}${o === 0 ? ';name=value' : ''}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\nX-Trailer: yes\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Reads one request head from a raw socket (resolves with its request line). */
function onRequests(sock: net.Socket, cb: (line: string, n: number) => void): void {
  let buf = '';
  let n = 0;
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\r\n\r\n'); i !== -1; i = buf.indexOf('\r\n\r\n')) {
      const head = buf.slice(0, i);
      buf = buf.slice(i + 4);
      cb(head.split('\r\n')[0]!, n++);
    }
  });
}

describe('raw HTTP/1.1 client: keep-alive', () => {
  it('reuses one connection for sequential GETs, Content-Length and chunked alike, and hands the sink borrowed views', async () => {
    const s = await serve((q, r) => {
      if (q.url === '/chunked') {
        r.writeHead(200); // no length: node:http's server sends chunked
        r.write(BIG.subarray(0, 100_000));
        r.end(BIG.subarray(100_000));
        return;
      }
      r.writeHead(200, { 'content-length': BIG.length });
      r.end(BIG);
    });
    for (let i = 0; i < 3; i++) {
      const a = await stream(`${s.url}/len`, {}, sha512(BIG));
      expect(a.body.equals(BIG)).toBe(true);
      expect(a.borrowed).toBe(true);
      const b = await stream(`${s.url}/chunked`, {}, sha512(BIG));
      expect(b.body.equals(BIG)).toBe(true);
    }
    expect(s.connections()).toBe(1);
  });

  it('retries a kept-alive connection the server closed, at once and on a new one, without using up an attempt', async () => {
    let conns = 0;
    const s = await raw((sock) => {
      conns++;
      // Answers the first request, then drops the connection when the second one arrives on it
      // (a server's idle timeout racing with the client's next request).
      onRequests(sock, (_line, n) => {
        if (n === 0) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
        else sock.destroy();
      });
    });
    expect((await stream(`${s.url}/a`, { maxAttempts: 1 })).body.toString()).toBe('hello');
    expect((await stream(`${s.url}/b`, { maxAttempts: 1 })).body.toString()).toBe('hello');
    expect(conns).toBe(2);
  });

  it('notices a server closing an idle kept-alive connection and opens a new one', async () => {
    let conns = 0;
    const s = await raw((sock) => {
      conns++;
      onRequests(sock, () => sock.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    });
    for (let i = 0; i < 3; i++) {
      expect((await stream(`${s.url}/x`, { maxAttempts: 1 })).body.toString()).toBe('ok');
      await new Promise((r) => setTimeout(r, 20)); // the FIN arrives while the connection is idle
    }
    expect(conns).toBe(3);
  });

  it('does not reuse a connection after "Connection: close", HTTP/1.0, or bytes past the end of a response', async () => {
    let conns = 0;
    const answers = [
      'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\none',
      'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\ntwo',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthreeGARBAGE',
      'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfour',
    ];
    const s = await raw((sock) => {
      const i = conns++;
      onRequests(sock, () => sock.write(answers[i]!)); // sockets left open: the client must not reuse them
    });
    const got: string[] = [];
    for (const p of ['/1', '/2', '/3', '/4']) got.push((await stream(`${s.url}${p}`, { maxAttempts: 1 })).body.toString());
    expect(got).toEqual(['one', 'two', 'three', 'four']);
    expect(conns).toBe(4);
  });

  it('drains a redirect body and follows it on the same connection', async () => {
    const s = await serve((q, r) => {
      if (q.url === '/from') {
        r.writeHead(302, { location: '/to', 'content-length': 11 });
        return r.end('moved here.');
      }
      r.end('arrived');
    });
    expect((await stream(`${s.url}/from`)).body.toString()).toBe('arrived');
    expect(s.connections()).toBe(1);
  });
});

describe('raw HTTP/1.1 client: framing', () => {
  it('decodes chunked bodies however the bytes are split (extensions, trailers, head and body in pieces)', async () => {
    const body = BIG.subarray(0, 5000);
    const wire = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n'), chunked(body, 777)]);
    for (const piece of [1, 2, 3, 5, 64, 4096]) {
      const s = await raw((sock) => {
        onRequests(sock, async () => {
          for (let o = 0; o < wire.length; o += piece) {
            sock.write(wire.subarray(o, o + piece));
            // A pause now and then, so the client sees many separate reads.
            if ((o / piece) % 50 === 0) await new Promise((r) => setTimeout(r, 1));
          }
        });
      });
      const got = await stream(`${s.url}/c`, { maxAttempts: 1 }, sha512(body));
      expect(got.body.equals(body)).toBe(true);
    }
  });

  it('reads a body without a length until the server closes; skips 1xx; 204 and HEAD-like empty bodies end at once', async () => {
    const s = await raw((sock) => {
      onRequests(sock, (line) => {
        if (line.startsWith('GET /close ')) sock.end('HTTP/1.1 200 OK\r\n\r\n' + 'x'.repeat(100_000));
        else if (line.startsWith('GET /continue ')) sock.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody');
        else sock.write('HTTP/1.1 204 No Content\r\n\r\n');
      });
    });
    expect((await stream(`${s.url}/close`, { maxAttempts: 1 })).body.toString()).toBe('x'.repeat(100_000));
    expect((await stream(`${s.url}/continue`, { maxAttempts: 1 })).body.toString()).toBe('body');
    expect((await stream(`${s.url}/empty`, { maxAttempts: 1 })).body.length).toBe(0);
    expect((await fetchResource({ source: `${s.url}/continue` }, { maxAttempts: 1 })).toString()).toBe('body');
  });

  it('fails a chunked or a Content-Length body cut short by the server as truncated', async () => {
    const s = await raw((sock) => {
      onRequests(sock, (line) => {
        if (line.startsWith('GET /chunked ')) sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789');
        else sock.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
      });
    });
    await expect(stream(`${s.url}/chunked`, { maxAttempts: 1 })).rejects.toThrow(/closed before the whole body arrived/);
    await expect(stream(`${s.url}/length`, { maxAttempts: 1 })).rejects.toThrow(/closed before the whole body arrived/);
    await expect(collect(await openResource({ source: `${s.url}/chunked` }, { maxAttempts: 1 }))).rejects.toThrow(/closed before the whole body arrived/);
  });

  it('retries malformed responses like any connection error, and names the problem', async () => {
    let hits = 0;
    const s = await raw((sock) => {
      onRequests(sock, () => {
        hits++;
        sock.end('HTTP/1.1 2OO OK\r\n\r\n');
      });
    });
    await expect(stream(`${s.url}/bad`, { maxAttempts: 2 })).rejects.toThrow(/gave up after 2 attempts; last error: malformed HTTP response \(status line\)/);
    expect(hits).toBe(2);
    const t = await raw((sock) => onRequests(sock, () => sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')));
    await expect(stream(`${t.url}/bad`, { maxAttempts: 1 })).rejects.toThrow(/malformed HTTP response \(chunk size\)/);
  });
});

describe('raw HTTP/1.1 client: the sink', () => {
  it('pauses in the middle of one socket read when the sink returns a promise, and keeps the order', async () => {
    // Many 100-byte chunks in one write: one socket read holds dozens of them.
    const body = BIG.subarray(0, 200_000);
    const wire = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), chunked(body, 100)]);
    const s = await raw((sock) => onRequests(sock, () => sock.write(wire)));
    const parts: Buffer[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    await streamResource(
      { source: `${s.url}/p`, verification: { hash: sha512(body) } },
      { maxAttempts: 1 },
      (c) => {
        parts.push(Buffer.from(c));
        if (++calls % 7) return; // every 7th chunk waits
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        return new Promise<void>((r) =>
          setImmediate(() => {
            inFlight--;
            r();
          }),
        );
      },
      { borrowed: true },
    );
    expect(maxInFlight).toBe(1);
    expect(Buffer.concat(parts).equals(body)).toBe(true);
  });

  it('a paused sink gets every byte of a read when the server closes right after the body, while another connection reads', async () => {
    const first = Buffer.alloc(200_000, 'a');
    for (let i = 0; i < first.length; i += 1000) first.write(String(i), i);
    const s = await raw((sock) => {
      onRequests(sock, (line) => {
        if (line.startsWith('GET /first ')) sock.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), chunked(first, 20_000)]));
        else sock.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n'), Buffer.alloc(300_000, 'Z')]));
      });
    });
    const parts: Buffer[] = [];
    let other: Promise<{ body: Buffer }> | undefined;
    await streamResource({ source: `${s.url}/first`, verification: { hash: sha512(first) } }, { maxAttempts: 1 }, (c) => {
      parts.push(Buffer.from(c));
      other ??= stream(`${s.url}/second`, { maxAttempts: 1 });
      return new Promise<void>((r) => setTimeout(r, 10)); // the rest of the read waits in the buffer
    }, { borrowed: true });
    expect(parts.length).toBeGreaterThanOrEqual(10);
    expect(Buffer.concat(parts).equals(first)).toBe(true);
    expect((await other!).body.equals(Buffer.alloc(300_000, 'Z'))).toBe(true);
  });

  it('copies chunks for a sink that keeps them (no borrowed views unless asked for)', async () => {
    const s = await serve((_q, r) => r.end(BIG));
    const kept: Buffer[] = [];
    await streamResource({ source: `${s.url}/k` }, FAST, (c, b) => {
      expect(b).not.toBe(true);
      kept.push(c); // kept as given, not copied: must still hold its bytes at the end
    });
    expect(Buffer.concat(kept).equals(BIG)).toBe(true);
  });

  it('KINDLING_HTTP_CLIENT=node sends the same request through node:http instead', async () => {
    const s = await serve((_q, r) => r.end(BIG));
    process.env.KINDLING_HTTP_CLIENT = 'node';
    try {
      const got = await stream(`${s.url}/n`, {}, sha512(BIG));
      expect(got.body.equals(BIG)).toBe(true);
      expect(got.borrowed).toBe(false);
    } finally {
      delete process.env.KINDLING_HTTP_CLIENT;
    }
  });
});
