// A fake metadata service for the provider tests: a real HTTP server on 127.0.0.1 (random port),
// with a route table and the faults clouds show at boot: bursts of 5xx, connections reset before
// the answer, headers that come late, a service that starts listening only after a delay.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';

export interface FakeRoute {
  status?: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** The request must carry these headers (case-insensitive names); otherwise `reject` answers. */
  requireHeaders?: Record<string, string>;
  reject?: { status: number; body?: string };
  /** Answer the first N requests with this status (e.g. 503) before the real answer. */
  failFirst?: { count: number; status: number };
  /** Reset (destroy) the connection for the first N requests. */
  resetFirst?: number;
  /** Delay the headers of the first N requests by ms. */
  slowFirst?: { count: number; ms: number };
  method?: string;
  /** Computed answer. */
  handler?: (req: IncomingMessage, body: Buffer) => { status: number; body?: string | Buffer; headers?: Record<string, string> };
}

export interface RequestLog {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  at: number;
}

export interface FakeServer {
  url: string;
  port: number;
  requests: RequestLog[];
  routes: Map<string, FakeRoute>;
  close(): Promise<void>;
  /** Requests to a path (method optional). */
  hits(path: string, method?: string): number;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export async function startFake(routes: Record<string, FakeRoute>, opts: { port?: number; host?: string; delayMs?: number } = {}): Promise<FakeServer> {
  const table = new Map(Object.entries(routes));
  const requests: RequestLog[] = [];
  const counts = new Map<string, number>();
  const server = http.createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, at: Date.now() });
      const key = `${req.method} ${path}`;
      const route = table.get(key) ?? table.get(path) ?? table.get(path.split('?')[0]!);
      if (!route || (route.method && route.method !== req.method)) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (route.resetFirst && n <= route.resetFirst) {
        req.socket.destroy();
        return;
      }
      const answer = () => {
        if (route.failFirst && n <= route.failFirst.count) {
          res.writeHead(route.failFirst.status);
          res.end('try again');
          return;
        }
        for (const [h, v] of Object.entries(route.requireHeaders ?? {})) {
          if (req.headers[h.toLowerCase()] !== v) {
            res.writeHead(route.reject?.status ?? 400);
            res.end(route.reject?.body ?? `missing header ${h}`);
            return;
          }
        }
        if (route.handler) {
          const r = route.handler(req, Buffer.concat(chunks));
          res.writeHead(r.status, r.headers ?? {});
          res.end(r.body ?? '');
          return;
        }
        res.writeHead(route.status ?? 200, route.headers ?? {});
        res.end(route.body ?? '');
      };
      if (route.slowFirst && n <= route.slowFirst.count) setTimeout(answer, route.slowFirst.ms);
      else answer();
    });
  });
  const port = opts.port ?? (await freePort(opts.host));
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, opts.host ?? '127.0.0.1', () => resolve());
    });
  let listening: Promise<void>;
  let timer: NodeJS.Timeout | undefined;
  if (opts.delayMs) {
    listening = new Promise((resolve, reject) => {
      timer = setTimeout(() => listen().then(resolve, reject), opts.delayMs);
    });
  } else {
    await listen();
    listening = Promise.resolve();
  }
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    routes: table,
    hits: (p, m) => requests.filter((r) => r.path === p && (!m || r.method === m)).length,
    async close() {
      if (timer) clearTimeout(timer);
      await listening.catch(() => undefined);
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}
