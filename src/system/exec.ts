// The one place that runs external tools (sgdisk, mkfs.*, useradd, ...). Every call is logged as a
// numbered operation with its arguments (never its stdin, which may carry secrets), and a failure
// becomes a KindlingError naming the tool, its exit code and its stderr.
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
  // execa (and its dependency tree) loads on the first tool run, not at start-up: it is ~50 ms of
  // module initialisation that commands which run no tool (--version, fetch on most platforms)
  // should not pay.
  const { execa } = await import(/* webpackMode: "eager" */ 'execa');
  const r = await execa(tool, args, {
    input: opts.input,
    env: opts.env,
    extendEnv: true,
    cwd: opts.cwd,
    timeout: opts.timeout,
    reject: false,
    stripFinalNewline: true,
    encoding: 'utf8',
  });
  const exitCode = typeof r.exitCode === 'number' ? r.exitCode : -1;
  if (r.failed && !opts.allowFailure) {
    const why = r.timedOut ? 'timed out' : exitCode === -1 ? (r.originalMessage ?? 'could not start') : `exited ${exitCode}`;
    log.debug({ op }, `op(${op}): [failed] ${cmd}: ${why}`);
    throw new KindlingError('system', `${tool} ${why}: ${String(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }
  log.debug({ op }, `op(${op}): [finished] ${cmd}`);
  return { exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}
