// TLS trust from security.tls.certificateAuthorities, and ignition.proxy (a tiny local proxy).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { fetchResource, parseCaBundle, FetchError } from '../../src/resources/index.js';
import { compileProxy, proxyFor } from '../../src/resources/proxy.js';
import { FAST, makePki, sha512, startHttp, startHttps, type Pki, type TestServer } from './helpers.js';

let pki: Pki;
let tlsServer: TestServer;
const BODY = '{"ignition":{"version":"3.0.0"}}';

beforeAll(async () => {
  pki = makePki();
  tlsServer = await startHttps((_q, r) => r.end(BODY), pki.serverKey, pki.serverCert);
});
afterAll(async () => {
  await tlsServer?.close();
});

describe('TLS with custom certificate authorities', () => {
  it('fails against an unknown CA (retried like any connection error, bounded here)', async () => {
    const err = (await fetchResource({ source: `${tlsServer.url}/c` }, { ...FAST, maxAttempts: 2 }).catch((e: unknown) => e)) as FetchError;
    expect(err).toBeInstanceOf(FetchError);
    expect(err.message).toMatch(/gave up after 2 attempts; last error: TLS error: .*(self.signed|unable to (get|verify))/i);
  });

  it('trusts the config CA in addition to the system roots', async () => {
    const got = await fetchResource({ source: `${tlsServer.url}/c`, verification: { hash: sha512(BODY) } }, { caCertificates: [pki.caCert] });
    expect(got.toString()).toBe(BODY);
    // By name too: the certificate's SAN has "localhost", which must be checked against SNI.
    const byName = await fetchResource({ source: `https://localhost:${tlsServer.port}/c` }, { caCertificates: [pki.caCert] });
    expect(byName.toString()).toBe(BODY);
  });

  it('accepts a bundle of several CAs, and refuses the wrong CA', async () => {
    const bundle = pki.otherCaCert + '\n' + pki.caCert;
    expect(await parseCaBundle(bundle)).toHaveLength(2);
    expect((await fetchResource({ source: `${tlsServer.url}/c` }, { caCertificates: [bundle] })).toString()).toBe(BODY);
    await expect(fetchResource({ source: `${tlsServer.url}/c` }, { ...FAST, maxAttempts: 1, caCertificates: [pki.otherCaCert] })).rejects.toThrow(/TLS error/);
  });

  it('refuses a CA that is not PEM (Ignition: unable to decode PEM block)', async () => {
    await expect(fetchResource({ source: `${tlsServer.url}/c` }, { caCertificates: ['not a certificate'] })).rejects.toThrow(/unable to decode PEM block/);
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    await expect(parseCaBundle(broken)).rejects.toThrow(/unable to parse CA certificate/);
  });
});

describe("proxy selection follows Go's httpproxy rules", () => {
  const p = compileProxy({ httpProxy: 'proxy.local:3128', httpsProxy: 'https://sproxy.local:8443', noProxy: ['example.com', '.only-sub.org', '*.star.net', '10.0.0.0/8', '192.168.1.5', 'ported.io:8080', ''] });
  const via = (u: string) => proxyFor(new URL(u), p)?.href;

  it('picks the proxy by scheme and reads a bare host:port as http://', () => {
    expect(via('http://www.fake.tld/')).toBe('http://proxy.local:3128/');
    expect(via('https://www.fake.tld/')).toBe('https://sproxy.local:8443/');
  });

  it('never proxies localhost or loopback addresses', () => {
    expect(via('http://localhost:8080/')).toBeUndefined();
    expect(via('http://127.0.0.1/')).toBeUndefined();
    expect(via('http://127.1.2.3/')).toBeUndefined();
    expect(via('http://[::1]:80/')).toBeUndefined();
  });

  it('matches noProxy domains, subdomain-only entries, CIDRs, IPs and ports', () => {
    expect(via('http://example.com/')).toBeUndefined();
    expect(via('http://a.example.com/')).toBeUndefined();
    expect(via('http://notexample.com/')).toBe('http://proxy.local:3128/');
    expect(via('http://only-sub.org/')).toBe('http://proxy.local:3128/');
    expect(via('http://x.only-sub.org/')).toBeUndefined();
    expect(via('http://star.net/')).toBe('http://proxy.local:3128/');
    expect(via('http://a.star.net/')).toBeUndefined();
    expect(via('http://10.1.2.3/')).toBeUndefined();
    expect(via('http://11.1.2.3/')).toBe('http://proxy.local:3128/');
    expect(via('http://192.168.1.5/')).toBeUndefined();
    expect(via('http://ported.io:8080/')).toBeUndefined();
    expect(via('http://ported.io/')).toBe('http://proxy.local:3128/');
  });

  it('"*" disables proxying; no proxy for a scheme means direct', () => {
    expect(proxyFor(new URL('http://a.b/'), compileProxy({ httpProxy: 'p:1', noProxy: ['*'] }))).toBeUndefined();
    expect(proxyFor(new URL('https://a.b/'), compileProxy({ httpProxy: 'p:1' }))).toBeUndefined();
    expect(proxyFor(new URL('http://a.b/'), compileProxy(undefined))).toBeUndefined();
  });
});

describe('fetching through a local proxy', () => {
  let proxy: TestServer;
  const seen: { method: string; url: string; auth?: string }[] = [];
  let mode: 'ok' | '503' = 'ok';

  beforeAll(async () => {
    // Absolute-form GETs are answered by the proxy itself (like the conformance fixture);
    // CONNECT tunnels always lead to the local TLS server, whatever host was asked for.
    const server = http.createServer((q, r) => {
      seen.push({ method: q.method!, url: q.url!, auth: q.headers['proxy-authorization'] });
      if (mode === '503') {
        r.writeHead(503);
        r.end('Proxy is unavailable\n');
        return;
      }
      r.end(`proxied ${q.url} host=${q.headers.host}`);
    });
    server.on('connect', (q, sock, head) => {
      seen.push({ method: 'CONNECT', url: q.url!, auth: q.headers['proxy-authorization'] });
      const up = net.connect(tlsServer.port, '127.0.0.1', () => {
        sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(sock);
        sock.pipe(up);
      });
      up.on('error', () => sock.destroy());
      sock.on('error', () => up.destroy());
    });
    const sockets = new Set<net.Socket>();
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    proxy = {
      url: `http://127.0.0.1:${port}`,
      port,
      close: () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    };
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('sends http:// URLs to the proxy in absolute form, with Proxy-Authorization from its URL', async () => {
    seen.length = 0;
    const got = await fetchResource(
      { source: 'http://www.fake.tld/config' },
      { proxy: { httpProxy: `http://u:p%40ss@127.0.0.1:${proxy.port}`, noProxy: ['localhost', '127.0.0.1'] } },
    );
    expect(got.toString()).toBe('proxied http://www.fake.tld/config host=www.fake.tld');
    expect(seen[0]).toEqual({ method: 'GET', url: 'http://www.fake.tld/config', auth: 'Basic ' + Buffer.from('u:p@ss').toString('base64') });
  });

  it('tunnels https:// URLs with CONNECT and verifies the far end against the config CA', async () => {
    seen.length = 0;
    const got = await fetchResource({ source: 'https://secure.test/c' }, { proxy: { httpsProxy: `127.0.0.1:${proxy.port}` }, caCertificates: [pki.caCert] });
    expect(got.toString()).toBe(BODY);
    expect(seen).toEqual([{ method: 'CONNECT', url: 'secure.test:443', auth: undefined }]);
  });

  it('goes direct for loopback targets even with a proxy configured', async () => {
    seen.length = 0;
    const direct = await startHttp((_q, r) => r.end('direct'));
    try {
      expect((await fetchResource({ source: `${direct.url}/x` }, { proxy: { httpProxy: proxy.url } })).toString()).toBe('direct');
      expect(seen).toHaveLength(0);
    } finally {
      await direct.close();
    }
  });

  it('retries a proxy that answers 503 until httpTotal, then fails naming it', async () => {
    mode = '503';
    seen.length = 0;
    try {
      const err = (await fetchResource({ source: 'http://www.fake.tld/' }, { ...FAST, proxy: { httpProxy: proxy.url, noProxy: [''] }, httpTotal: 0.5 }).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/^http:\/\/www.fake.tld\/: timed out after 0.5 s .*last error: HTTP 503 Service Unavailable$/);
      expect(seen.length).toBeGreaterThan(2);
    } finally {
      mode = 'ok';
    }
  });
});
