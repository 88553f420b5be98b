// The fixed HTTP fixture server of Ignition's blackbox suite, rebuilt from the corpus' `httpServer`
// table: http://127.0.0.1:8080/{contents,config,certificates}[_compressed|_headers|...] and
// /caBundle. Header rules: a `_headers` path answers 400 (message, then the normal body, as the
// upstream handler writes both) when a required header is missing or wrong; a `_redirected` path
// answers 400 when a custom header crossed the redirect.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Corpus, HttpResource } from './corpus.js';

/** The first value of a header as sent (Go's r.Header[name][0]), or undefined. */
export function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === name.toLowerCase()) return raw[i + 1];
  return undefined;
}

function bodyOf(r: HttpResource): Buffer {
  if (r.gzipBodyBase64 !== undefined) return Buffer.from(r.gzipBodyBase64, 'base64');
  return Buffer.from(r.body ?? '', 'utf8');
}

export interface RequestLogEntry {
  method: string;
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

export function handleFixture(corpus: Corpus, req: IncomingMessage, res: ServerResponse, log: RequestLogEntry[]): void {
  const path = (req.url ?? '/').split('?')[0];
  const r = corpus.httpServer.resources.find((x) => x.path === path);
  const send = (status: number, body: Buffer | string, headers: Record<string, string> = {}) => {
    log.push({ method: req.method ?? '', url: req.url ?? '', status, headers: req.headers });
    res.writeHead(status, headers);
    res.end(body);
  };
  if (!r) {
    send(corpus.httpServer.unknownPath.status, corpus.httpServer.unknownPath.body, { 'Content-Type': 'text/plain; charset=utf-8' });
    return;
  }
  if (r.status === 302 && r.location) {
    send(302, `<a href="${r.location}">Found</a>.\n\n`, { Location: r.location, 'Content-Type': 'text/html; charset=utf-8' });
    return;
  }
  const body = bodyOf(r);
  for (const [name, want] of Object.entries(r.requiredHeaders ?? {})) {
    const got = firstHeader(req, name);
    if (got === undefined) return send(400, Buffer.concat([Buffer.from(`${name} header is missing`), body]));
    if (got !== want) return send(400, Buffer.concat([Buffer.from(`${name} header value is incorrect`), body]));
  }
  for (const [name, prefix] of Object.entries(r.requiredHeaderPrefixes ?? {})) {
    const got = firstHeader(req, name);
    if (got === undefined) return send(400, Buffer.concat([Buffer.from(`${name} header is missing`), body]));
    if (!got.startsWith(prefix)) return send(400, Buffer.concat([Buffer.from(`${name} header value is incorrect`), body]));
  }
  for (const name of r.forbiddenHeaders ?? []) {
    if (firstHeader(req, name) !== undefined) return send(400, Buffer.concat([Buffer.from(`Found redundant header ${name}`), body]));
  }
  send(r.status, body);
}

export async function startHttpFixture(corpus: Corpus, log: RequestLogEntry[], port = 8080): Promise<Server> {
  const server = createServer((req, res) => handleFixture(corpus, req, res, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}
