// Running the built binary from tests: dist/kindling (scripts/test.sh builds it first), or
// KINDLING_BIN when a developer points the tests at another build.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');
export const KINDLING = process.env.KINDLING_BIN ?? join(REPO, 'dist', 'kindling');
export const EXAMPLE = join(REPO, 'examples', 'flatcar-node.ign');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kindling(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  if (!existsSync(KINDLING)) throw new Error(`${KINDLING} is missing: run node scripts/build.mjs first`);
  return new Promise((resolve) => {
    const child = execFile(KINDLING, args, { env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? Number((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// The fw_cfg scratch system the build's warm-up and the benches use too.
export { fwCfgSandbox } from '../../scripts/sandbox.mjs';
