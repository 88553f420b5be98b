// HTTP fetching against real local servers: Ignition's headers, redirects, retries, timeouts.
import { afterEach, describe, expect, it } from 'vitest';
import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import pino from 'pino';
import { fetchResource, openResource, httpGet, httpRequest, FetchError } from '../../src/resources/index.js';
import { INITIAL_BACKOFF_MS, MAX_BACKOFF_MS, USER_AGENT } from '../../src/resources/http.js';
import { setLogger } from '../../src/log/logger.js';
import { collect, FAST, freePort, sha512, startHttp, startRaw, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
async function serve(h: http.RequestListener): Promise<TestServer> {
  const s = await startHttp(h);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const BODY = 'asdf\nfdsa';
const ACCEPT = 'application/vnd.coreos.ignition+json;version=3.6.0, */*;q=0.1';

/** The conformance fixture's header rules (blackbox.json httpServer, *_headers paths). */
function fixture(): http.RequestListener {
  return (req, res) => {
    const h = req.headers;
    const path = (req.url ?? '').split('?')[0];
    const fail = (m: string) => {
      res.writeHead(400);
      res.end(m);
    };
    if (path === '/contents_headers') {
      const want: Record<string, string> = { 'x-auth': 'r8ewap98gfh4d8', 'keep-alive': '300', accept: ACCEPT, 'accept-encoding': 'identity' };
      for (const [k, v] of Object.entries(want)) {
        if (h[k] === undefined) return fail(`${k} header is missing`);
        if (h[k] !== v) return fail(`${k} header value is incorrect`);
      }
      if (!String(h['user-agent']).startsWith('Ignition/')) return fail('User-Agent header value is incorrect');
      return res.end(BODY);
    }
    if (path === '/contents_headers_redirect') {
      res.writeHead(302, { location: '/contents_headers_redirected' });
      return res.end();
    }
    if (path === '/contents_headers_redirected') {
      for (const k of ['x-auth', 'keep-alive']) if (h[k] !== undefined) return fail(`Found redundant header ${k}`);
      return res.end(BODY);
    }
    if (path === '/contents_headers_overwrite') {
      const want: Record<string, string> = { 'keep-alive': '1000', accept: 'application/json', 'accept-encoding': 'identity, compress', 'user-agent': 'MyUA' };
      for (const [k, v] of Object.entries(want)) if (h[k] !== v) return fail(`${k} header value is incorrect`);
      return res.end(BODY);
    }
    if (path === '/contents_compressed') return res.end(gzipSync(BODY));
    if (path === '/contents') return res.end(BODY);
    res.writeHead(404);
    res.end('404 page not found\n');
  };
}

describe('headers as Ignition sends them (the fixture server rules)', () => {
  it('sends User-Agent Ignition/…, the config Accept and identity on a contents fetch, plus httpHeaders', async () => {
    const s = await serve(fixture());
    const got = await fetchResource({
      source: `${s.url}/contents_headers`,
      httpHeaders: [
        { name: 'X-Auth', value: 'r8ewap98gfh4d8' },
        { name: 'Keep-Alive', value: '300' },
      ],
      verification: { hash: sha512(BODY) },
    });
    expect(got.toString()).toBe(BODY);
    expect(USER_AGENT).toMatch(/^Ignition\/2\.26\.0 \(Kindling /);
  });

  it('fails (no retry) when the server refuses a wrong header with 400', async () => {
    let hits = 0;
    const f = fixture();
    const s = await serve((q, r) => {
      hits++;
      f(q, r);
    });
    const err = await fetchResource({
      source: `${s.url}/contents_headers`,
      httpHeaders: [
        { name: 'X-Auth', value: 'INVALID' },
        { name: 'Keep-Alive', value: '300' },
      ],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as FetchError).status).toBe(400);
    expect((err as Error).message).toMatch(/HTTP 400/);
    expect((err as Error).message).not.toContain('INVALID');
    expect(hits).toBe(1);
  });

  it('does not forward custom headers across a redirect', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const f = fixture();
    const s = await serve((q, r) => {
      seen.push(q.headers);
      f(q, r);
    });
    const got = await fetchResource({
      source: `${s.url}/contents_headers_redirect`,
      httpHeaders: [
        { name: 'X-Auth', value: 'r8ewap98gfh4d8' },
        { name: 'Keep-Alive', value: '300' },
      ],
    });
    expect(got.toString()).toBe(BODY);
    expect(seen).toHaveLength(2);
    expect(seen[0]!['x-auth']).toBe('r8ewap98gfh4d8');
    expect(seen[1]!['x-auth']).toBeUndefined();
    expect(seen[1]!['keep-alive']).toBeUndefined();
    expect(seen[1]!['user-agent']).toBe(USER_AGENT);
  });

  it('lets httpHeaders overwrite User-Agent, Accept and Accept-Encoding', async () => {
    const s = await serve(fixture());
    const got = await fetchResource({
      source: `${s.url}/contents_headers_overwrite`,
      httpHeaders: [
        { name: 'Keep-Alive', value: '1000' },
        { name: 'Accept', value: 'application/json' },
        { name: 'Accept-Encoding', value: 'identity, compress' },
        { name: 'User-Agent', value: 'MyUA' },
      ],
    });
    expect(got.toString()).toBe(BODY);
  });

  it('applies the resource httpHeaders after the caller headers (resource wins, names case-insensitive)', async () => {
    let h: http.IncomingHttpHeaders = {};
    const s = await serve((q, r) => {
      h = q.headers;
      r.end('ok');
    });
    await fetchResource(
      { source: `${s.url}/x`, httpHeaders: [{ name: 'x-one', value: 'resource' }] },
      { headers: [{ name: 'X-One', value: 'caller' }, { name: 'X-Two', value: 'caller' }], acceptConfigVersion: '3.4.0' },
    );
    expect(h['x-one']).toBe('resource');
    expect(h['x-two']).toBe('caller');
    expect(h.accept).toBe('application/vnd.coreos.ignition+json;version=3.4.0, */*;q=0.1');
  });

  it('sends user:password from the URL as Basic authorization, as Go\'s client does', async () => {
    let auth: string | undefined;
    const s = await serve((q, r) => {
      auth = q.headers.authorization;
      r.end('ok');
    });
    const u = new URL(s.url);
    await fetchResource({ source: `http://us%40er:p%3Ass@${u.host}/x` });
    expect(auth).toBe('Basic ' + Buffer.from('us@er:p:ss').toString('base64'));
    await fetchResource({ source: `http://a:b@${u.host}/x`, httpHeaders: [{ name: 'Authorization', value: 'Bearer t' }] });
    expect(auth).toBe('Bearer t');
  });

  it('refuses a header without a value, as Ignition does, and malformed headers at once (no retry loop)', async () => {
    await expect(fetchResource({ source: 'http://127.0.0.1:1/', httpHeaders: [{ name: 'X-Empty' }] })).rejects.toThrow(/"X-Empty" has no value/);
    await expect(fetchResource({ source: 'http://127.0.0.1:1/', httpHeaders: [{ name: 'Bad Name', value: 'x' }] })).rejects.toThrow(/"Bad Name" is not a valid HTTP header name/);
    await expect(fetchResource({ source: 'http://127.0.0.1:1/', httpHeaders: [{ name: 'X-Inject', value: 'a\r\nHost: evil' }] })).rejects.toThrow(/not allowed in a header value/);
  });

  it('never puts header values or secrets of the URL in errors or logs', async () => {
    const lines: string[] = [];
    setLogger(
      pino(
        { level: 'debug' },
        new Writable({
          write(c, _e, cb) {
            lines.push(String(c));
            cb();
          },
        }),
      ),
    );
    try {
      const s = await serve((_q, r) => {
        r.writeHead(403);
        r.end('denied');
      });
      const u = new URL(s.url);
      const err = await fetchResource({
        source: `http://user:hunter2@${u.host}/obj?X-Amz-Signature=deadbeef&part=1`,
        httpHeaders: [{ name: 'Authorization', value: 'Bearer topsecret' }],
      }).catch((e: unknown) => e as Error);
      const all = lines.join('') + (err as Error).message;
      expect((err as Error).message).toMatch(/HTTP 403/);
      expect(lines.length).toBeGreaterThan(0);
      expect(all).toContain('part=1');
      for (const secret of ['hunter2', 'deadbeef', 'topsecret']) expect(all).not.toContain(secret);
    } finally {
      setLogger(pino({ level: 'silent' }));
    }
  });
});

describe('retries, as Ignition: connection errors and 5xx, with backoff', () => {
  it('uses Ignition\'s backoff constants by default', () => {
    expect(INITIAL_BACKOFF_MS).toBe(200);
    expect(MAX_BACKOFF_MS).toBe(5000);
  });

  it('retries a burst of 5xx, then succeeds', async () => {
    let hits = 0;
    const s = await serve((_q, r) => {
      hits++;
      r.writeHead(hits <= 3 ? [500, 502, 503][hits - 1]! : 200);
      r.end(hits <= 3 ? 'busy' : BODY);
    });
    const got = await fetchResource({ source: `${s.url}/c`, verification: { hash: sha512(BODY) } }, FAST);
    expect(got.toString()).toBe(BODY);
    expect(hits).toBe(4);
  });

  it('does not retry 4xx: 404 is "not found", 403 a failure', async () => {
    let hits = 0;
    const s = await serve((q, r) => {
      hits++;
      r.writeHead(q.url === '/missing' ? 404 : 403);
      r.end();
    });
    const e404 = (await fetchResource({ source: `${s.url}/missing` }, FAST).catch((e: unknown) => e)) as FetchError;
    expect(e404.notFound).toBe(true);
    expect(e404.message).toMatch(/not found \(HTTP 404\)/);
    const e403 = (await fetchResource({ source: `${s.url}/forbidden` }, FAST).catch((e: unknown) => e)) as FetchError;
    expect(e403.notFound).toBe(false);
    expect(e403.status).toBe(403);
    expect(hits).toBe(2);
  });

  it('retries after connection resets', async () => {
    let conns = 0;
    const s = await startRaw((sock) => {
      conns++;
      if (conns <= 2) {
        sock.once('data', () => sock.resetAndDestroy());
        return;
      }
      sock.once('data', () => sock.end(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`));
    });
    servers.push(s);
    expect((await fetchResource({ source: `${s.url}/x` }, FAST)).toString()).toBe(BODY);
    expect(conns).toBe(3);
  });

  it('times out slow response headers per attempt and retries until httpTotal ends the fetch', async () => {
    let hits = 0;
    const s = await serve((_q, r) => {
      hits++;
      setTimeout(() => r.end('late'), 1500).unref();
    });
    const t0 = Date.now();
    const err = (await fetchResource({ source: `${s.url}/slow` }, { ...FAST, httpResponseHeaders: 0.15, httpTotal: 0.8 }).catch((e: unknown) => e)) as FetchError;
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(FetchError);
    expect(err.timedOut).toBe(true);
    expect(err.message).toMatch(/timed out after 0.8 s \(ignition.timeouts.httpTotal\)/);
    expect(err.message).toMatch(/no response headers within 0.15 s/);
    expect(hits).toBeGreaterThanOrEqual(3);
    expect(took).toBeGreaterThanOrEqual(750);
    expect(took).toBeLessThan(1500);
  });

  it('waits for slow headers when httpResponseHeaders allows it', async () => {
    const s = await serve((_q, r) => {
      setTimeout(() => r.end('late'), 300).unref();
    });
    expect((await fetchResource({ source: `${s.url}/slow` }, { ...FAST, httpResponseHeaders: 2 })).toString()).toBe('late');
  });

  it('emulates the throttling fixture: 500 until the retry gap exceeds a threshold', async () => {
    let lastFail = 0;
    let hits = 0;
    const s = await serve((_q, r) => {
      hits++;
      const now = Date.now();
      if (lastFail !== 0 && now - lastFail > 120) {
        r.end('');
        return;
      }
      lastFail = now;
      r.writeHead(500);
      r.end();
    });
    // Backoff 20 → 40 → 80 → 160 ms: the 4th gap is the first above 120 ms.
    const got = await fetchResource({ source: `${s.url}/3.6.0` }, { backoff: { initialMs: 20, maxMs: 160 } });
    expect(got.length).toBe(0);
    expect(hits).toBe(5);
  });

  it('fails after maxAttempts with the last error', async () => {
    const port = await freePort();
    const err = (await fetchResource({ source: `http://127.0.0.1:${port}/x` }, { ...FAST, maxAttempts: 3 }).catch((e: unknown) => e)) as FetchError;
    expect(err.message).toMatch(/gave up after 3 attempts; last error: connection refused/);
  });

  it('retries statuses named in retryCodes (helper for providers)', async () => {
    let hits = 0;
    const s = await serve((_q, r) => {
      hits++;
      r.writeHead(hits < 3 ? 404 : 200);
      r.end(hits < 3 ? '' : '{"ok":true}');
    });
    const r = await httpGet(`${s.url}/meta`, { ...FAST, retryCodes: [404] });
    expect(JSON.parse(r.body.toString())).toEqual({ ok: true });
    expect(hits).toBe(3);
  });
});

describe('server availability over real time (Ignition\'s default backoff)', () => {
  it('keeps retrying a server that comes up only after ~1.2 s, then fetches', async () => {
    const port = await freePort();
    let late: TestServer | undefined;
    const timer = setTimeout(() => {
      void startHttp((_q, r) => r.end(BODY), port).then((s) => {
        late = s;
      });
    }, 1200);
    try {
      const t0 = Date.now();
      const got = await fetchResource({ source: `http://127.0.0.1:${port}/late`, verification: { hash: sha512(BODY) } });
      expect(got.toString()).toBe(BODY);
      // Attempts at 0, 0.2, 0.6, 1.4 s (200 ms doubling): the 4th finds the server.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1200);
      expect(Date.now() - t0).toBeLessThan(3500);
    } finally {
      clearTimeout(timer);
      await late?.close();
    }
  });

  it('waits 200, 400, 800, 1600 ms between failed attempts (Ignition\'s schedule)', async () => {
    const times: number[] = [];
    const s = await serve((_q, r) => {
      times.push(Date.now());
      r.writeHead(times.length < 5 ? 500 : 200);
      r.end('done');
    });
    expect((await fetchResource({ source: `${s.url}/t` })).toString()).toBe('done');
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps).toHaveLength(4);
    [200, 400, 800, 1600].forEach((want, i) => {
      expect(gaps[i]!).toBeGreaterThanOrEqual(want - 5);
      expect(gaps[i]!).toBeLessThan(want + 350); // slack for a loaded machine; a doubled start still fails
    });
  });

  it('gives up on a server that never comes up within httpTotal, with a clear error', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const err = (await fetchResource({ source: `http://127.0.0.1:${port}/never` }, { httpTotal: 1 }).catch((e: unknown) => e)) as FetchError;
    expect(Date.now() - t0).toBeLessThan(1800);
    expect(err).toBeInstanceOf(FetchError);
    expect(err.message).toMatch(new RegExp(`^http://127.0.0.1:${port}/never: timed out after 1 s \\(ignition.timeouts.httpTotal\\) after \\d+ attempts; last error: connection refused$`));
  });

  it('stops at once when the caller aborts (the fetch stage deadline)', async () => {
    const port = await freePort();
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('fetch stage timeout')), 300);
    const err = (await fetchResource({ source: `http://127.0.0.1:${port}/never` }, { signal: ac.signal }).catch((e: unknown) => e)) as FetchError;
    expect(err.timedOut).toBe(true);
    expect(err.message).toMatch(/aborted: fetch stage timeout after \d+ attempts/);
  });
});

describe('bodies', () => {
  it('fails a body cut short of its Content-Length', async () => {
    const s = await startRaw((sock) => {
      sock.once('data', () => {
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
        setTimeout(() => sock.end(), 20);
      });
    });
    servers.push(s);
    const err = (await fetchResource({ source: `${s.url}/t` }, FAST).catch((e: unknown) => e)) as FetchError;
    expect(err).toBeInstanceOf(FetchError);
    expect(err.message).toMatch(/closed before the whole body arrived/);
    const stream = await openResource({ source: `${s.url}/t` }, FAST);
    await expect(collect(stream)).rejects.toThrow(/closed before the whole body arrived/);
  });

  it('streams a large body, and errors at its end (never ends cleanly) on a hash mismatch', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const s = await serve((_q, r) => r.end(big));
    const ok = await openResource({ source: `${s.url}/big`, verification: { hash: sha512(big) } });
    expect((await collect(ok)).equals(big)).toBe(true);

    const bad = await openResource({ source: `${s.url}/big`, verification: { hash: sha512('nope') } });
    let bytes = 0;
    let ended = false;
    bad.on('data', (c: Buffer) => (bytes += c.length));
    bad.on('end', () => (ended = true));
    const err = await new Promise<Error>((resolve) => bad.once('error', resolve));
    expect(err).toBeInstanceOf(FetchError);
    expect(err.message).toMatch(/sha512 of the contents is [0-9a-f]{128}, the config expects/);
    expect(bytes).toBe(big.length); // everything flowed through, and still no clean end
    expect(ended).toBe(false);
  });

  it('gunzips a gzip body (no Content-Encoding, as the fixture serves it) and checks the decompressed hash', async () => {
    const s = await serve(fixture());
    const got = await fetchResource({ source: `${s.url}/contents_compressed`, compression: 'gzip', verification: { hash: sha512(BODY) } });
    expect(got.toString()).toBe(BODY);
  });

  it('accepts 204 as empty contents', async () => {
    const s = await serve((_q, r) => {
      r.writeHead(204);
      r.end();
    });
    expect((await fetchResource({ source: `${s.url}/e` })).length).toBe(0);
  });

  it('applies httpTotal to the body too', async () => {
    const s = await serve((_q, r) => {
      r.writeHead(200, { 'content-length': '1000' });
      r.write('x'.repeat(10));
    });
    const err = (await fetchResource({ source: `${s.url}/trickle` }, { httpTotal: 0.4 }).catch((e: unknown) => e)) as FetchError;
    expect(err.message).toMatch(/timed out after 0.4 s \(ignition.timeouts.httpTotal\) while reading the body/);
  });

  it('closes the connection when the consumer stops reading early', async () => {
    let closed = false;
    const s = await serve((q, r) => {
      q.socket.once('close', () => (closed = true));
      r.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (!r.destroyed && r.write(chunk));
      };
      r.on('drain', pump);
      pump();
    });
    const stream = await openResource({ source: `${s.url}/huge` });
    await new Promise((resolve) => stream.once('data', resolve));
    stream.destroy();
    for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(true);
  });

  it('bounds the connect + TLS handshake per attempt (a server that accepts and says nothing)', async () => {
    const s = await startRaw(() => {
      /* accept the TCP connection, never answer the TLS hello */
    });
    servers.push(s);
    const err = (await fetchResource({ source: `https://127.0.0.1:${s.port}/x` }, { ...FAST, connectTimeoutMs: 150, maxAttempts: 2 }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/gave up after 2 attempts; last error: could not connect within 0.15 s/);
  });

  it('follows at most 10 redirects', async () => {
    let hits = 0;
    const s = await serve((q, r) => {
      hits++;
      r.writeHead(302, { location: `/r${Number((q.url ?? '/r0').slice(2)) + 1}` });
      r.end();
    });
    const err = (await fetchResource({ source: `${s.url}/r0` }, { ...FAST, maxAttempts: 1 }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/stopped after 10 redirects/);
    expect(hits).toBe(11);
  });
});

describe('IPv6', () => {
  it('fetches from an IPv6 literal URL', async () => {
    const { createServer } = await import('node:http');
    let host: string | undefined;
    const srv = createServer((q, r) => {
      host = q.headers.host;
      r.end('v6');
    });
    await new Promise<void>((r) => srv.listen(0, '::1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      expect((await fetchResource({ source: `http://[::1]:${port}/x` })).toString()).toBe('v6');
      expect(host).toBe(`[::1]:${port}`);
    } finally {
      srv.closeAllConnections();
      srv.close();
    }
  });
});

describe('httpRequest/httpGet helpers for metadata services', () => {
  it('PUTs with a body and headers, returns status/headers/body; 404 → null on request', async () => {
    const s = await serve((q, r) => {
      if (q.url === '/latest/api/token' && q.method === 'PUT') {
        let b = '';
        q.on('data', (c) => (b += c));
        q.on('end', () => {
          r.setHeader('x-ttl', String(q.headers['x-aws-ec2-metadata-token-ttl-seconds']));
          r.end(`token:${b}`);
        });
        return;
      }
      r.writeHead(404);
      r.end();
    });
    const t = await httpRequest(`${s.url}/latest/api/token`, { method: 'PUT', body: 'b', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' } });
    expect(t.status).toBe(200);
    expect(t.headers['x-ttl']).toBe('21600');
    expect(t.body.toString()).toBe('token:b');
    expect(await httpGet(`${s.url}/latest/user-data`, { notFoundAsNull: true })).toBeNull();
    await expect(httpGet(`${s.url}/latest/user-data`)).rejects.toMatchObject({ notFound: true, status: 404 });
  });
});
