// Running external tools for the harness: combined stdout+stderr (in arrival order, as Go's
// CombinedOutput gives it), an exit code, a timeout that kills the process group.
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: string | null;
  output: string;
  timedOut: boolean;
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  input?: string | Buffer;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => chunks.push(b));
    child.stderr?.on('data', (b: Buffer) => chunks.push(b));
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            try {
              if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
            } catch {
              /* already gone */
            }
          }, opts.timeoutMs);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const finish = (code: number | null, signal: string | null, extra = '') => {
      if (timer) clearTimeout(timer);
      resolve({
        code,
        signal,
        output: Buffer.concat(chunks).toString('utf8') + extra,
        timedOut,
        ms: Date.now() - started,
      });
    };
    child.on('error', (err) => finish(127, null, `\nspawn ${cmd}: ${err.message}\n`));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** Runs a tool and throws (with its output) unless it exits 0. */
export async function must(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 60_000, ...opts });
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}${r.signal ? ', ' + r.signal : ''}${r.timedOut ? ', timed out' : ''}):\n${r.output}`);
  }
  return r.output;
}
