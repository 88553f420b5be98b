// The stage server (`kindling serve DIR`) and its shell client (dracut-module/kindling-client):
// a stage run through them must be the same stage as the binary run directly — same files, same
// output, same exit status, the client's environment — and every way the server can be missing
// or die must end in either a direct run or a failed stage, never a hang or a false success.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KINDLING, REPO, kindling } from './helpers.js';

const CLIENT = join(REPO, 'dracut-module', 'kindling-client');
const SERVE_SH = join(REPO, 'dracut-module', 'kindling-serve');
const CONFIG = JSON.stringify({
  ignition: { version: '3.4.0' },
  storage: {
    files: [
      { path: '/etc/hello', contents: { source: 'data:,hello%20world' }, mode: 0o640 },
      { path: '/opt/app/run.sh', contents: { source: 'data:,echo' }, mode: 0o755 },
    ],
    links: [{ path: '/etc/hi', target: 'hello' }],
  },
});

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kindling-serve-'));
  writeFileSync(join(work, 'config.ign'), CONFIG);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number;
  out: string;
}

function client(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(CLIENT, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KINDLING_EXE: KINDLING, ...env } }, (err, stdout, stderr) => {
      const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

const servers: ChildProcess[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
});

/** A server directory as the unit makes it (0700, a requests FIFO) and the server on it. */
async function startServer(): Promise<{ dir: string; proc: ChildProcess }> {
  const dir = mkdtempSync(join(work, 'srv-'));
  chmodSync(dir, 0o700);
  await new Promise<void>((res, rej) => execFile('mkfifo', ['-m', '0600', join(dir, 'requests')], (e) => (e ? rej(e) : res())));
  const proc = spawn(KINDLING, ['serve', dir], { stdio: 'ignore' });
  servers.push(proc);
  for (let i = 0; i < 200 && !existsSync(join(dir, 'ready')); i++) await new Promise((r) => setTimeout(r, 25));
  expect(existsSync(join(dir, 'ready'))).toBe(true);
  return { dir, proc };
}

/** Every entry under a root: type, mode, size and content, for comparing two trees. */
function tree(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const p = join(rel, name);
    const st = lstatSync(join(root, p));
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) out.push(`${p}/ ${mode}`, ...tree(root, p));
    else if (st.isSymbolicLink()) out.push(`${p} -> ${readlinkSync(join(root, p))}`);
    // The report holds times; its presence and mode are what must match.
    else if (name === '.ignition-result.json') out.push(`${p} ${mode}`);
    else out.push(`${p} ${mode} ${readFileSync(join(root, p), 'utf8')}`);
  }
  return out;
}

function stageArgs(stage: string, root: string, run: string): string[] {
  return ['-platform', 'file', '-stage', stage, '-root', root, '-config-cache', join(run, 'config.json'), '-state-file', join(run, 'state'), '-neednet', join(run, 'neednet'), '-log-to-stdout'];
}

describe('kindling serve + kindling-client', () => {
  it('runs fetch-offline and files like the binary: same tree, same exit status, the client environment', async () => {
    const { dir } = await startServer();
    const direct = mkdtempSync(join(work, 'direct-'));
    const served = mkdtempSync(join(work, 'served-'));
    for (const [root, via] of [
      [direct, 'direct'],
      [served, 'server'],
    ] as const) {
      const run = mkdtempSync(join(work, 'run-'));
      // IGNITION_CONFIG_FILE exists only in the client's environment: the server must use it.
      const env = { IGNITION_CONFIG_FILE: join(work, 'config.ign'), KINDLING_SERVER_DIR: via === 'server' ? dir : join(work, 'no-server') };
      const fetched = await client(stageArgs('fetch-offline', root, run), env);
      expect(fetched.code, fetched.out).toBe(0);
      expect(fetched.out).toContain('fetch-offline passed');
      const files = await client(stageArgs('files', root, run), env);
      expect(files.code, files.out).toBe(0);
      expect(files.out).toContain('files passed');
    }
    expect(tree(served)).toEqual(tree(direct));
    expect(readFileSync(join(served, 'etc/hello'), 'utf8')).toBe('hello world');
    // Nothing of the requests is left behind in the server's directory.
    expect(readdirSync(dir).sort()).toEqual(['pid', 'ready', 'requests']);
  });

  it('passes failures through: exit 1 for a failed stage, 2 for bad flags, with their messages', async () => {
    const { dir } = await startServer();
    const run = mkdtempSync(join(work, 'run-'));
    const failed = await client(stageArgs('files', join(work, 'nowhere'), run), { KINDLING_SERVER_DIR: dir });
    expect(failed.code).toBe(1);
    expect(failed.out).toContain("couldn't read the config cache");
    const usage = await client(['-platform', 'nope', '-stage', 'files'], { KINDLING_SERVER_DIR: dir });
    expect(usage.code).toBe(2);
    expect(usage.out).toContain('nope is not a valid platform');
    // The server is still serving after both.
    const version = await client(['-version'], { KINDLING_SERVER_DIR: dir });
    expect(version.code).toBe(0);
    expect(version.out).toMatch(/Ignition-compatible/);
  });

  it('runs the binary itself when the server is gone', async () => {
    const { dir, proc } = await startServer();
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    const r = await client(['-version'], { KINDLING_SERVER_DIR: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Ignition-compatible/);
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) it(`fails the stage, without hanging, when the server gets ${signal} in the middle of it`, async () => {
    // The fetch stage asks a server that accepts and never answers; the stage server is killed
    // (or stopped, as systemd stops it for a reboot) while it waits.
    let sawRequest!: () => void;
    const requested = new Promise<void>((r) => (sawRequest = r));
    const http: Server = createServer(() => sawRequest());
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    try {
      const { dir, proc } = await startServer();
      const run = mkdtempSync(join(work, 'run-'));
      writeFileSync(join(work, 'remote.ign'), JSON.stringify({ ignition: { version: '3.4.0', config: { replace: { source: `http://127.0.0.1:${port}/c.ign` } } } }));
      const pending = client(stageArgs('fetch', join(work, 'r'), run), { KINDLING_SERVER_DIR: dir, IGNITION_CONFIG_FILE: join(work, 'remote.ign') });
      await requested;
      proc.kill(signal);
      const r = await pending;
      expect(r.code).toBe(1);
      expect(r.out).toContain('stopped before the stage finished');
      expect(existsSync(join(run, 'config.json'))).toBe(false);
    } finally {
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    }
  });

  it('refuses a directory other users could write to', async () => {
    const dir = mkdtempSync(join(work, 'open-'));
    chmodSync(dir, 0o777);
    const r = await kindling(['serve', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('mode 0700');
  });

  it('stops on SIGTERM, even with keep-alive connections left by a fetch', async () => {
    // The fetch stage leaves a keep-alive socket to this server in the HTTP agent: the server
    // must still exit on SIGTERM, not wait for systemd's stop timeout.
    const http: Server = createServer((_req, res) => res.end(JSON.stringify({ ignition: { version: '3.4.0' } })));
    http.keepAliveTimeout = 600_000;
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    try {
      const { dir, proc } = await startServer();
      const run = mkdtempSync(join(work, 'run-'));
      writeFileSync(join(work, 'keepalive.ign'), JSON.stringify({ ignition: { version: '3.4.0', config: { merge: [{ source: `http://127.0.0.1:${port}/c.ign` }] } } }));
      const r = await client(stageArgs('fetch', join(work, 'r'), run), { KINDLING_SERVER_DIR: dir, IGNITION_CONFIG_FILE: join(work, 'keepalive.ign') });
      expect(r.code, r.out).toBe(0);
      const t0 = Date.now();
      proc.kill('SIGTERM');
      const code = await new Promise((res) => proc.once('exit', (c) => res(c)));
      expect(code).toBe(0);
      // Well below any stop timeout; a hang would run into the test's own timeout instead.
      expect(Date.now() - t0).toBeLessThan(20_000);
    } finally {
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    }
  });
});

/** Runs dracut-module/kindling-serve (the unit's ExecStartPre/ExecStartPost) with only `env`. */
function serveSh(mode: string, env: Record<string, string>): { done: Promise<Run>; pid: number } {
  let child!: ChildProcess;
  const done = new Promise<Run>((resolve) => {
    child = execFile(SERVE_SH, [mode], { env }, (err, stdout, stderr) => {
      const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
  return { done, pid: child.pid! };
}

describe('kindling-server.service readiness (kindling-serve prepare / wait)', () => {
  it('prepare makes a fresh 0700 directory with the requests and notify FIFOs', async () => {
    const dir = join(work, 'prep', 'server');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ready'), ''); // left by an earlier server: must not count
    const r = await serveSh('prepare', { PATH: process.env.PATH ?? '/usr/bin:/bin', KINDLING_SERVER_DIR: dir }).done;
    expect(r.code, r.out).toBe(0);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).sort()).toEqual(['notify', 'requests']);
    for (const f of ['notify', 'requests']) expect(statSync(join(dir, f)).isFIFO()).toBe(true);
  });

  it('the server writes one line to notify once it is ready, when someone reads it', async () => {
    const dir = join(work, 'notify-server');
    const prep = await serveSh('prepare', { PATH: process.env.PATH ?? '/usr/bin:/bin', KINDLING_SERVER_DIR: dir }).done;
    expect(prep.code, prep.out).toBe(0);
    // Read as the waiter does: opened read-write, so neither side's open waits for the other.
    const fd = openSync(join(dir, 'notify'), constants.O_RDWR | constants.O_NONBLOCK);
    const reader = new Socket({ fd, readable: true, writable: false });
    try {
      const line = new Promise<string>((res) => reader.once('data', (b) => res(b.toString())));
      const proc = spawn(KINDLING, ['serve', dir], { stdio: 'ignore' });
      servers.push(proc);
      expect(await line).toBe('\n');
      // `ready` was written before the line, so a waiter that opens notify too late sees it.
      expect(existsSync(join(dir, 'ready'))).toBe(true);
    } finally {
      reader.destroy();
    }
  });

  it('wait returns 0 once the server is ready, without starting a single process (empty PATH)', async () => {
    const dir = join(work, 'wait-ok');
    const prep = await serveSh('prepare', { PATH: process.env.PATH ?? '/usr/bin:/bin', KINDLING_SERVER_DIR: dir }).done;
    expect(prep.code, prep.out).toBe(0);
    // The waiter first (systemd starts ExecStartPost right after forking the server), with a
    // PATH where no program can be found: a `sleep` or any other command would fail it.
    // MAINPID is a live process until the server exists: this test's own.
    const waiter = serveSh('wait', { PATH: join(work, 'no-such-dir'), KINDLING_SERVER_DIR: dir, MAINPID: String(process.pid) });
    let finished = false;
    void waiter.done.then(() => (finished = true));
    const proc = spawn(KINDLING, ['serve', dir], { stdio: 'ignore' });
    servers.push(proc);
    const r = await waiter.done;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toBe('');
    expect(finished).toBe(true);
    expect(existsSync(join(dir, 'ready'))).toBe(true);
    // The stages can use it right away.
    const version = await client(['-version'], { KINDLING_SERVER_DIR: dir });
    expect(version.code).toBe(0);
    expect(version.out).toMatch(/Ignition-compatible/);
    // A waiter that comes after the server was ready returns at once too.
    const late = await serveSh('wait', { PATH: join(work, 'no-such-dir'), KINDLING_SERVER_DIR: dir, MAINPID: String(proc.pid) }).done;
    expect(late.code, late.out).toBe(0);
  });

  it('wait fails, without waiting out its limit, when the server exited before it was ready', async () => {
    const dir = join(work, 'wait-dead');
    await serveSh('prepare', { PATH: process.env.PATH ?? '/usr/bin:/bin', KINDLING_SERVER_DIR: dir }).done;
    // A server that refuses its directory (mode 0777) exits at once, as a broken one would.
    chmodSync(dir, 0o777);
    const proc = spawn(KINDLING, ['serve', dir], { stdio: 'ignore' });
    const exit = await new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
    expect(exit).toBe(2);
    // The limit is far above the test's timeout: only noticing $MAINPID is gone ends the wait.
    const r = await serveSh('wait', { PATH: join(work, 'no-such-dir'), KINDLING_SERVER_DIR: dir, MAINPID: String(proc.pid), KINDLING_SERVER_WAIT: '3600' }).done;
    expect(r.code).toBe(1);
    expect(r.out).toContain(`the server (pid ${proc.pid}) exited before it was ready`);
    expect(existsSync(join(dir, 'ready'))).toBe(false);
  });

  it('wait gives up after KINDLING_SERVER_WAIT seconds when the server never gets ready', async () => {
    const dir = join(work, 'wait-never');
    await serveSh('prepare', { PATH: process.env.PATH ?? '/usr/bin:/bin', KINDLING_SERVER_DIR: dir }).done;
    // A live MAINPID that never writes anything: this test's process.
    const r = await serveSh('wait', { PATH: join(work, 'no-such-dir'), KINDLING_SERVER_DIR: dir, MAINPID: String(process.pid), KINDLING_SERVER_WAIT: '2' }).done;
    expect(r.code).toBe(1);
    expect(r.out).toContain('not ready within 2s');
  });
});
