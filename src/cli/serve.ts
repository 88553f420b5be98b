// `kindling serve DIR`: one node process that runs every stage of a boot, for the initrd.
//
// Why: under emulation (and on small machines) starting node is the floor of every stage — 1 to
// 2 s each under QEMU TCG, seven stages a boot (docs/boot.md). The server starts once, early and
// in parallel with the rest of the initrd, and each stage unit then only hands it a request.
//
// The protocol needs nothing but a shell on the client side (dracut-module/kindling-client):
//   DIR/requests   a FIFO the client writes one line to: "ID<TAB>N<TAB>NAME=VALUE...<TAB>ARG..."
//                  where ID is the client's number (its PID), then its N environment variables,
//                  then the ignition binary's flags. Lines are shorter than PIPE_BUF, so
//                  concurrent writes never interleave.
//   DIR/out.ID     a FIFO the client made and reads: the stage's whole output (stdout and stderr,
//                  as the unit would have had them). Closed by the server when the stage ended.
//   DIR/rc.ID      the stage's exit status, written (atomically) before out.ID is closed. No rc
//                  file after EOF means the server died during the stage: the client fails.
//   DIR/ready      written once the server reads requests; DIR/pid holds its PID.
//   DIR/notify     optional FIFO: right after writing `ready` the server writes one line to it if
//                  someone has it open for reading (kindling-serve wait, the unit's
//                  ExecStartPost, blocks there instead of polling for `ready`). Never waits for a
//                  reader: whoever opens it later finds `ready` already there.
// Stages run one after the other, each exactly as `kindling -stage ...` would run it
// (runIgnition), with the client's environment in process.env for its duration (the engine reads
// IGNITION_*/KINDLING_* variables and PATH in many places; one stage at a time makes the swap safe). The directory must be root's alone (0700): the
// creator (the unit) makes it; the server refuses one that others may write to.
import { closeSync, constants, fstatSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { KindlingError } from '../errors.js';
import { writeAllSync } from '../system/write-all.js';

const ID = /^[0-9]{1,10}$/;
const OPEN_TIMEOUT_MS = 10_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Opens the client's FIFO for writing, blocking. A non-blocking open fails (ENXIO) until the
 * client has it open for reading; waiting that way never hangs the server on a client that died
 * before it got there. Once a reader is there, a second, blocking open succeeds at once: writes
 * then wait for a slow reader instead of failing with EAGAIN.
 */
async function openClientPipe(path: string): Promise<number | undefined> {
  const deadline = Date.now() + OPEN_TIMEOUT_MS;
  for (;;) {
    let probe: number;
    try {
      probe = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENXIO' || code === 'ENOENT') && Date.now() < deadline) {
        await sleep(10);
        continue;
      }
      return undefined;
    }
    try {
      if (!statSync(path).isFIFO()) return undefined;
      return openSync(path, constants.O_WRONLY);
    } catch {
      return undefined;
    } finally {
      closeSync(probe);
    }
  }
}


/** One line to DIR/notify if it is a FIFO with a reader; anything else is nobody's business. */
function notifyReady(dir: string): void {
  let fd: number;
  try {
    fd = openSync(join(dir, 'notify'), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return; // ENOENT: no waiter wanted; ENXIO: no reader yet, who then sees `ready`
  }
  try {
    if (fstatSync(fd).isFIFO()) writeSync(fd, '\n');
  } catch {
    // a full pipe or a reader gone: `ready` is there all the same
  } finally {
    closeSync(fd);
  }
}

/** Replaces process.env's contents with `vars` until the returned function restores them. */
function swapEnv(vars: string[]): () => void {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) delete process.env[k];
  for (const kv of vars) {
    const eq = kv.indexOf('=');
    if (eq > 0) process.env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return () => {
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, saved);
  };
}

/** Runs one request line; never throws (a broken request only concerns its client). */
async function handle(dir: string, line: string): Promise<void> {
  const fields = line.split('\t');
  const id = fields.shift() ?? '';
  if (!ID.test(id)) return;
  const fd = await openClientPipe(join(dir, `out.${id}`));
  if (fd === undefined) return;
  let rc = 1;
  try {
    const n = Number(fields.shift());
    if (!Number.isInteger(n) || n < 0 || n > fields.length) throw new Error('malformed request (environment count)');
    const { runIgnition } = await import(/* webpackMode: "eager" */ './ignition.js');
    const restore = swapEnv(fields.slice(0, n));
    try {
      rc = await runIgnition(fields.slice(n), { stdoutFd: fd, stderrFd: fd });
    } finally {
      restore();
    }
  } catch (err) {
    try {
      writeAllSync(fd, `kindling: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    } catch {
      // the client went away; the stage's outcome still lands in rc.ID
    }
    rc = 1;
  } finally {
    try {
      const tmp = join(dir, `.rc.${id}`);
      writeFileSync(tmp, `${rc}\n`, { mode: 0o600 });
      renameSync(tmp, join(dir, `rc.${id}`));
    } finally {
      closeSync(fd);
    }
  }
}

export async function runServe(args: string[]): Promise<number> {
  const [dir, ...extra] = args;
  if (!dir || extra.length) throw new KindlingError('usage', 'usage: kindling serve DIR   (DIR holds the FIFO "requests", see dracut-module/kindling-client)');
  const st = statSync(dir);
  if (!st.isDirectory() || (st.mode & 0o077) !== 0 || st.uid !== process.getuid?.()) {
    throw new KindlingError('usage', `${dir} must be a directory only its owner (this user) can use (mode 0700)`);
  }
  const requests = join(dir, 'requests');
  if (!statSync(requests).isFIFO()) throw new KindlingError('usage', `${requests} is not a FIFO`);
  // Read-write: the FIFO then always has a writer (this process), so reading never sees EOF
  // between two clients, and the open does not wait for the first one. Read through the event
  // loop (a net.Socket on the descriptor, as node reads a piped stdin), not fs streams: a
  // thread-pool read blocked on an idle FIFO would keep node from ever exiting.
  const fd = openSync(requests, constants.O_RDWR | constants.O_NONBLOCK);
  writeFileSync(join(dir, 'pid'), `${process.pid}\n`);
  writeFileSync(join(dir, 'ready'), '');
  notifyReady(dir);

  // Requests run strictly one after another, in arrival order.
  let queue = Promise.resolve();
  let busy = 0;
  let pending = '';
  const stream = new Socket({ fd, readable: true, writable: false });
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      queue = queue.then(async () => {
        busy++;
        try {
          await handle(dir, line);
        } finally {
          busy--;
        }
      });
    }
  });
  // Compile and initialise the stages while waiting for the first request: the first stage then
  // starts as warm as the last.
  void import(/* webpackMode: "eager" */ './ignition.js').then(() => import(/* webpackMode: "eager" */ '../../stages/index.js')).then((m) => m.preloadStages()).catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('close', resolve);
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  stream.destroy();
  // SIGTERM ends the server at once, as it ends a stage run as its own process: systemd stops
  // the stage units and this one together (a reboot asked for by the kargs helper, an isolate),
  // and waiting for a stage that is itself waiting for that reboot would only run into the stop
  // timeout. The caller exits the process right away, so that nothing a stage left behind (an
  // HTTP agent's keep-alive sockets, a timer) keeps it alive either.
  if (busy) process.stderr.write('kindling serve: stopped during a stage; its client reports it failed\n');
  return 0;
}
