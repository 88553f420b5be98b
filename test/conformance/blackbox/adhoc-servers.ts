// The per-case loopback servers of the corpus (`adHocServers`): TLS servers with the fixture
// certificates, delayed and throttling responders, self-merging config servers and HTTP proxies.
// Each listens on a random 127.0.0.1 port; `{{server:<id>}}` in configs and bodies becomes its base
// URL. Behaviour is keyed by the server id, read from the corpus' behaviour descriptions.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FIXTURES, type AdHocServerSpec, type Corpus } from './corpus.js';

export interface AdHocSet {
  urls: Map<string, string>;
  log: string[];
  close(): Promise<void>;
}

const SERVER_REF = /\{\{server:([^}]+)\}\}/g;

export function substituteServers(text: string, urls: Map<string, string>): string {
  return text.replace(SERVER_REF, (m, id: string) => urls.get(id) ?? m);
}

/** The ids a case needs: the ones it lists, plus any a served body refers to. */
export function neededServers(corpus: Corpus, ids: string[]): AdHocServerSpec[] {
  const want = new Set(ids);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of corpus.adHocServers) {
      if (!want.has(s.id)) continue;
      for (const m of s.body.matchAll(SERVER_REF)) {
        if (!want.has(m[1])) {
          want.add(m[1]);
          grew = true;
        }
      }
    }
  }
  const out: AdHocServerSpec[] = [];
  for (const id of want) {
    const s = corpus.adHocServers.find((x) => x.id === id);
    if (!s) throw new Error(`unknown ad-hoc server ${id}`);
    out.push(s);
  }
  return out;
}

function tlsKeyFor(corpus: Corpus, spec: AdHocServerSpec): string {
  const pem = (spec.tlsCertificatePem ?? '').trim();
  if (pem === corpus.fixtures.certificatesPem.trim()) return readFileSync(join(FIXTURES, 'tls', 'key1.pem'), 'utf8');
  if (pem === corpus.fixtures.certificates2Pem.trim()) return readFileSync(join(FIXTURES, 'tls', 'key2.pem'), 'utf8');
  throw new Error(`no private key for the certificate of ${spec.id}`);
}

export async function startAdHocServers(corpus: Corpus, ids: string[]): Promise<AdHocSet> {
  const specs = neededServers(corpus, ids);
  const urls = new Map<string, string>();
  const log: string[] = [];
  const servers: Server[] = [];
  const timers = new Set<NodeJS.Timeout>();
  for (const spec of specs) {
    const throttle = new Map<string, number>();
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const reply = (status: number, body: string) => {
        log.push(`${spec.id}: ${req.method} ${req.url} -> ${status}`);
        res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(body);
      };
      const body = substituteServers(spec.body, urls);
      if (spec.id.endsWith('/respondThrottledServer')) {
        // 200 only when the previous failed attempt on this URI is more than 4 s old.
        const key = req.url ?? '';
        const last = throttle.get(key);
        if (last !== undefined && Date.now() - last > 4000) return reply(200, '');
        throttle.set(key, Date.now());
        return reply(500, '');
      }
      const status = typeof spec.status === 'number' ? spec.status : 200;
      const delay = (spec.delaySeconds ?? 0) * 1000;
      if (delay > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) reply(status, body);
        }, delay);
        timers.add(t);
        return;
      }
      reply(status, body);
    };
    const server: Server =
      spec.scheme === 'https'
        ? createHttpsServer({ cert: spec.tlsCertificatePem, key: tlsKeyFor(corpus, spec) }, handler)
        : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    servers.push(server);
    urls.set(spec.id, `${spec.scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  return {
    urls,
    log,
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
