// Real servers on 127.0.0.1 with random ports, for the resources tests.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

export interface TestServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function track(server: net.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

export async function startHttp(handler: http.RequestListener, port = 0): Promise<TestServer> {
  const server = http.createServer(handler);
  const close = track(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const p = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${p}`, port: p, close };
}

export async function startHttps(handler: http.RequestListener, key: string, cert: string): Promise<TestServer> {
  const server = https.createServer({ key, cert }, handler);
  const close = track(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const p = (server.address() as net.AddressInfo).port;
  return { url: `https://127.0.0.1:${p}`, port: p, close };
}

/** A raw TCP server: the handler gets each socket (for malformed responses). */
export async function startRaw(onSocket: (s: net.Socket) => void): Promise<TestServer> {
  const server = net.createServer(onSocket);
  const close = track(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const p = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${p}`, port: p, close };
}

/** A port that nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

export function sha512(b: Buffer | string): string {
  return 'sha512-' + createHash('sha512').update(b).digest('hex');
}
export function sha256(b: Buffer | string): string {
  return 'sha256-' + createHash('sha256').update(b).digest('hex');
}

export function collect(s: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

export interface Pki {
  dir: string;
  caCert: string;
  serverKey: string;
  serverCert: string;
  otherCaCert: string;
}

/** A CA and a server certificate for 127.0.0.1 and "localhost", made with openssl. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'kindling-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Kindling Test CA');
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=Other CA');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  const ext = join(dir, 'ext.cnf');
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:secure.test\\n' > ${ext}`]);
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', ext);
  const r = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { dir, caCert: r('ca.pem'), serverKey: r('server.key'), serverCert: r('server.pem'), otherCaCert: r('other.pem') };
}

/** Shortened retries for fault tests (Ignition's real schedule is 200 ms doubling to 5 s). */
export const FAST = { backoff: { initialMs: 10, maxMs: 40 } } as const;
