// Data-driven from the Ignition conformance corpus (/work/shared/conformance/ignition/blackbox.json):
// an HTTP server and a TFTP server built from its fixture tables (on random ports, not 8080/69),
// then every resource that a corpus case fetches from them is fetched with fetchResource. Positive
// cases must fetch everything; negative cases about a bad hash, a missing file or a bad header
// must fail on at least one of their resources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import dgram from 'node:dgram';
import type http from 'node:http';
import { fetchResource } from '../../src/resources/index.js';
import type { Resource } from '../../src/config/types.js';
import { startHttp, type TestServer } from './helpers.js';

const CORPUS = '/work/shared/conformance/ignition/blackbox.json';

interface FixtureResource {
  path: string;
  status: number;
  body?: string;
  gzipBodyBase64?: string;
  location?: string;
  requiredHeaders?: Record<string, string>;
  requiredHeaderPrefixes?: Record<string, string>;
  forbiddenHeaders?: string[];
}
interface Case {
  name: string;
  kind: 'positive' | 'negative';
  config: string;
  registeredVersions?: string[];
}
interface Corpus {
  httpServer: { resources: FixtureResource[] };
  tftpServer: { files: { contents: { body: string }; config: { body: string } } };
  cases: Case[];
}

const corpus: Corpus | undefined = existsSync(CORPUS) ? (JSON.parse(readFileSync(CORPUS, 'utf8')) as Corpus) : undefined;

let httpFixture: TestServer;
let tftp: dgram.Socket;
let tftpPort = 0;

function fixtureHandler(c: Corpus, base: () => string): http.RequestListener {
  const byPath = new Map(c.httpServer.resources.map((r) => [r.path, r]));
  return (req, res) => {
    const r = byPath.get((req.url ?? '/').split('?')[0]!);
    if (!r) {
      res.writeHead(404);
      return res.end('404 page not found\n');
    }
    const body = r.gzipBodyBase64 ? Buffer.from(r.gzipBodyBase64, 'base64') : Buffer.from(r.body ?? '');
    for (const [name, want] of Object.entries(r.requiredHeaders ?? {})) {
      const got = req.headers[name.toLowerCase()];
      if (got === undefined || got !== want) {
        res.writeHead(400);
        return res.end(`${name} header ${got === undefined ? 'is missing' : 'value is incorrect'}`);
      }
    }
    for (const [name, prefix] of Object.entries(r.requiredHeaderPrefixes ?? {})) {
      if (!String(req.headers[name.toLowerCase()] ?? '').startsWith(prefix)) {
        res.writeHead(400);
        return res.end(`${name} header value is incorrect`);
      }
    }
    for (const name of r.forbiddenHeaders ?? []) {
      if (req.headers[name.toLowerCase()] !== undefined) {
        res.writeHead(400);
        return res.end(`Found redundant header ${name}`);
      }
    }
    if (r.location) res.setHeader('location', r.location.replace('http://127.0.0.1:8080', base()));
    res.writeHead(r.status);
    res.end(r.status === 302 ? undefined : body);
  };
}

function tftpFixture(c: Corpus): dgram.Socket {
  // The corpus rule: a name containing "contents" → contents body, else "config" → config body.
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, peer) => {
    if (msg.readUInt16BE(0) !== 1) return;
    const name = msg.subarray(2).toString('latin1').split('\0')[0]!;
    const body = name.includes('contents') ? c.tftpServer.files.contents.body : name.includes('config') ? c.tftpServer.files.config.body : undefined;
    const t = dgram.createSocket('udp4');
    t.bind(0, '127.0.0.1', () => {
      if (body === undefined) {
        t.send(Buffer.concat([Buffer.from([0, 5, 0, 1]), Buffer.from('file not found\0')]), peer.port, peer.address, () => t.close());
        return;
      }
      // No options: answer with DATA 1 directly (small bodies fit one 512-byte block).
      t.on('message', () => t.close());
      t.send(Buffer.concat([Buffer.from([0, 3, 0, 1]), Buffer.from(body)]), peer.port, peer.address);
    });
  });
  return s;
}

beforeAll(async () => {
  if (!corpus) return;
  let base = '';
  httpFixture = await startHttp(fixtureHandler(corpus, () => base));
  base = httpFixture.url;
  tftp = tftpFixture(corpus);
  await new Promise<void>((r) => tftp.bind(0, '127.0.0.1', () => r()));
  tftpPort = (tftp.address() as { port: number }).port;
});
afterAll(async () => {
  await httpFixture?.close();
  tftp?.close();
});

function resourcesIn(v: unknown, out: Resource[] = []): Resource[] {
  if (Array.isArray(v)) v.forEach((x) => resourcesIn(x, out));
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.source === 'string' && /^(http:\/\/127\.0\.0\.1:\d+\/|tftp:)/.test(o.source) && !o.source.includes('{{')) out.push(o as Resource);
    for (const x of Object.values(o)) resourcesIn(x, out);
  }
  return out;
}

const relevant = (corpus?.cases ?? []).filter((c) => c.config.includes('127.0.0.1:8080') || c.config.includes('tftp://127.0.0.1:69'));

describe.skipIf(!corpus)('conformance corpus fixtures (resource level)', () => {
  it('has the cases it expects', () => {
    expect(relevant.length).toBeGreaterThanOrEqual(50);
  });

  it.each(relevant.map((c) => [c.kind, c.name, c] as const))('%s %s', async (kind, name, c) => {
    const text = c.config
      .replaceAll('$version', c.registeredVersions?.[0] ?? '3.0.0')
      .replaceAll('http://127.0.0.1:8080', httpFixture.url)
      .replaceAll('tftp://127.0.0.1:69', `tftp://127.0.0.1:${tftpPort}`);
    const resources = resourcesIn(JSON.parse(text));
    expect(resources.length).toBeGreaterThan(0);
    const outcomes = await Promise.all(
      resources.map((r) =>
        fetchResource(r, { maxAttempts: 2, backoff: { initialMs: 5 }, tftp: { timeoutMs: 500, retries: 2 } }).then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      ),
    );
    if (kind === 'positive') expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    else if (/badhash|notfound|invalidheader/.test(name)) {
      const failures = outcomes.filter((o) => o !== 'ok');
      expect(failures.length).toBeGreaterThan(0);
      const why = /badhash/.test(name) ? /of the contents is/ : /notfound/.test(name) ? /not found|file not found/ : /HTTP 400/;
      expect(failures.some((f) => why.test(f))).toBe(true);
    }
  });
});
