// run() against the execa-based run() it replaced: the same tools, arguments and options through
// both must give the same result, or throw the same error. The oracle is the previous body of
// run(), verbatim but for the logging.
import { execa } from 'execa';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KindlingError } from '../errors.js';
import { run, type RunOptions, type RunResult } from './exec.js';

async function oldRun(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
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
    throw new KindlingError('system', `${tool} ${why}: ${String(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }
  return { exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

const settle = async (p: Promise<RunResult>): Promise<unknown> =>
  p.then(
    (r) => ({ ok: r }),
    (e: unknown) => ({ threw: e instanceof KindlingError ? `${e.kind}: ${e.message}` : `${(e as Error).name}: ${(e as Error).message}` }),
  );

const dir = mkdtempSync(join(tmpdir(), 'kindling-exec-'));
const notDir = join(dir, 'file');
writeFileSync(notDir, 'x');
const noExec = join(dir, 'noexec');
writeFileSync(noExec, '#!/bin/sh\necho no\n');
chmodSync(noExec, 0o644);

const CASES: Array<[string, string, string[], RunOptions?]> = [
  ['plain output', 'echo', ['hello world']],
  ['no output', 'true', []],
  ['CRLF and blank lines', 'printf', ['a\\r\\n\\r\\n']],
  ['only one newline stripped', 'printf', ['a\\n\\n']],
  ['no final newline', 'printf', ['abc']],
  ['a lone CR kept', 'printf', ['abc\\r']],
  ['UTF-8 and invalid bytes', 'printf', ['é✓\\377\\376 done\\n']],
  ['stderr too', 'sh', ['-c', 'echo out; echo err >&2']],
  ['non-zero exit with stderr', 'sh', ['-c', 'echo a >&2; echo b >&2; echo c >&2; echo d >&2; exit 3']],
  ['non-zero exit, stdout only', 'sh', ['-c', 'echo only-stdout; exit 1']],
  ['non-zero exit allowed', 'sh', ['-c', 'echo x; exit 4'], { allowFailure: true }],
  ['missing tool', 'kindling-no-such-tool', ['a']],
  ['missing tool allowed', 'kindling-no-such-tool', [], { allowFailure: true }],
  ['not executable', noExec, []],
  ['missing working directory', 'true', [], { cwd: join(dir, 'missing') }],
  ['working directory is a file', 'true', [], { cwd: notDir }],
  ['working directory', 'pwd', [], { cwd: dir }],
  ['environment extends the parent', 'sh', ['-c', 'echo "$KINDLING_T $HOME"'], { env: { KINDLING_T: 'set' } }],
  ['input on stdin', 'sh', ['-c', 'cat; echo done >&2'], { input: 'line 1\nline 2\n' }],
  ['buffer input', 'wc', ['-c'], { input: Buffer.alloc(70_000, 1) }],
  ['input the tool never reads', 'true', [], { input: 'x'.repeat(1 << 20) }],
  ['killed by a signal', 'sh', ['-c', 'echo before; kill -9 $$']],
  ['killed by a signal, allowed', 'sh', ['-c', 'kill -TERM $$'], { allowFailure: true }],
  ['timeout', 'sh', ['-c', 'echo started; sleep 5'], { timeout: 300 }],
  ['timeout, allowed', 'sleep', ['5'], { timeout: 200, allowFailure: true }],
  ['stdin left open without input', 'cat', [], { timeout: 300 }],
  ['a NUL byte in an argument', 'echo', ['a\0b']],
  ['a NUL byte in the environment', 'true', [], { env: { X: 'a\0b' } }],
  ['secret arguments', 'sh', ['-c', 'exit 2', 'hunter2'], { secretArgs: [2] }],
];

describe('run(): the same results as the execa-based run()', () => {
  for (const [name, tool, args, opts] of CASES) {
    it(name, async () => {
      const [a, b] = await Promise.all([settle(oldRun(tool, args, opts)), settle(run(tool, args, opts))]);
      expect(b).toEqual(a);
    });
  }

  it('SIGKILL follows when the tool ignores the timeout SIGTERM', async () => {
    const t0 = Date.now();
    const r = await settle(run('sh', ['-c', 'trap "" TERM; exec sleep 20'], { timeout: 200 }));
    expect(r).toEqual({ threw: 'system: sh timed out: ' });
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 20_000);
});
