// The one place that runs external tools (sgdisk, mkfs.*, useradd, ...). Every call is logged as a
// numbered operation with its arguments (never its stdin, which may carry secrets), and a failure
// becomes a KindlingError naming the tool, its exit code and its stderr.
//
// Tools are started with node:child_process directly. This used to go through execa 9, which is
// 143 KiB of the bundle (compiled at every start of every stage) and ~50 ms of module
// initialisation in each process that runs a tool (the disks and files stages run dozens). What
// run() used of it is reproduced here, with the same results (src/system/exec.test.ts compares
// both): the environment extends process.env; stdin is a pipe, fed and closed when `input` is
// given and otherwise left open (a tool that reads it waits, as before); stdout and stderr are
// collected as UTF-8 with one final newline (\n or \r\n) stripped; the timeout sends SIGTERM, then
// SIGKILL 5 s later; a tool that cannot start reports node's message ("spawn X ENOENT"), with
// execa's explanation first when the working directory is the cause.
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { KindlingError } from '../errors.js';
import { getLogger } from '../log/logger.js';

export interface RunOptions {
  /** Fed to the tool's stdin; never logged. */
  input?: string | Buffer;
  env?: Record<string, string>;
  cwd?: string;
  /** Milliseconds; default none. */
  timeout?: number;
  /** Do not throw on a non-zero exit; the caller inspects exitCode. */
  allowFailure?: boolean;
  /** Arguments at these indexes are replaced by [redacted] in logs and errors. */
  secretArgs?: number[];
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

let opCounter = 0;

function shown(args: readonly string[], secret: number[] = []): string {
  return args.map((a, i) => (secret.includes(i) ? '[redacted]' : /[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

export async function run(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const log = getLogger();
  const op = ++opCounter;
  const cmd = `${tool} ${shown(args, opts.secretArgs)}`.trim();
  log.debug({ op }, `op(${op}): [started] running ${cmd}`);
  // execa refused these before starting anything, with this TypeError (not a tool failure).
  const nul = args.find((a) => String(a).includes('\0'));
  if (nul !== undefined) throw new TypeError(`Arguments cannot contain null bytes ("\\0"): ${nul}`);
  // node:child_process (and the net module under it) loads on the first tool run: commands that
  // run none, like fetch-offline on most platforms, do not pay for it at start-up.
  const { spawn } = await import(/* webpackMode: "eager" */ 'node:child_process');
  const r = await spawnTool(spawn, tool, args, opts);
  const exitCode = typeof r.exitCode === 'number' ? r.exitCode : -1;
  if (r.failed && !opts.allowFailure) {
    const why = r.timedOut ? 'timed out' : exitCode === -1 ? (r.originalMessage ?? 'could not start') : `exited ${exitCode}`;
    log.debug({ op }, `op(${op}): [failed] ${cmd}: ${why}`);
    throw new KindlingError('system', `${tool} ${why}: ${String(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }
  log.debug({ op }, `op(${op}): [finished] ${cmd}`);
  return { exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

interface ToolOutcome {
  /** Undefined when the tool was killed by a signal or could not start. */
  exitCode: number | undefined;
  failed: boolean;
  timedOut: boolean;
  /** Why the tool could not start. */
  originalMessage?: string;
  /** Undefined when spawn itself threw (execa's "early error"); run() prints that as it did. */
  stdout: string | undefined;
  stderr: string | undefined;
}

/** How long a tool that ignored the timeout's SIGTERM gets before SIGKILL (execa's default). */
const FORCE_KILL_AFTER_MS = 5_000;

function stripFinalNewline(s: string): string {
  return s.endsWith('\n') ? s.slice(0, s.endsWith('\r\n') ? -2 : -1) : s;
}

// A working directory that is missing or not a directory makes spawn fail with a bare ENOENT;
// say which (execa's wording, kept so that errors read as they did).
function explainCwd(message: string, cwd: string | undefined): string {
  if (cwd === undefined || cwd === process.cwd()) return message;
  try {
    if (!statSync(cwd).isDirectory()) return `The "cwd" option is not a directory: ${cwd}.\n${message}`;
  } catch (err) {
    return `The "cwd" option is invalid: ${cwd}.\n${(err as Error).message}\n${message}`;
  }
  return message;
}

function spawnTool(spawn: typeof import('node:child_process').spawn, tool: string, args: readonly string[], opts: RunOptions): Promise<ToolOutcome> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    const cwd = opts.cwd === undefined ? undefined : resolvePath(opts.cwd);
    const cantStart = (err: unknown, early: boolean): ToolOutcome => ({
      exitCode: undefined,
      failed: true,
      timedOut: false,
      originalMessage: stripVTControlCharacters(explainCwd(String((err as Error)?.message ?? err), cwd)),
      stdout: early ? undefined : '',
      stderr: early ? undefined : '',
    });
    try {
      child = spawn(tool, args, { env: opts.env ? { ...process.env, ...opts.env } : process.env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      // Some failures throw at once instead of emitting 'error' (a working directory that is a
      // file: ENOTDIR; a NUL byte in an argument).
      resolve(cantStart(err, true));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    // A tool may exit without reading all of its input: EPIPE on stdin is not a failure of its own.
    child.stdin!.on('error', () => {});
    if (opts.input !== undefined) child.stdin!.end(opts.input);

    let timedOut = false;
    let forceKill: NodeJS.Timeout | undefined;
    const timer =
      opts.timeout !== undefined && opts.timeout > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            forceKill = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
            forceKill.unref();
          }, opts.timeout)
        : undefined;
    let startError: Error | undefined;
    child.on('error', (e) => {
      startError ??= e;
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      if (forceKill) clearTimeout(forceKill);
      child.stdin!.destroy();
      if (startError && child.pid === undefined) {
        resolve(cantStart(startError, false));
        return;
      }
      const exitCode = signal === null && code !== null && code >= 0 ? code : undefined;
      resolve({
        exitCode,
        failed: timedOut || startError !== undefined || exitCode !== 0,
        timedOut,
        originalMessage: startError ? stripVTControlCharacters(startError.message) : undefined,
        stdout: stripFinalNewline(Buffer.concat(out).toString('utf8')),
        stderr: stripFinalNewline(Buffer.concat(err).toString('utf8')),
      });
    });
  });
}
