// Running the built binary from tests: dist/kindling (scripts/test.sh builds it first), or
// KINDLING_BIN when a developer points the tests at another build.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
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

/**
 * A scratch system in `d` for the qemu platform: a fw_cfg directory holding `config`, a command
 * line, and every system path (base.d, user.ign, OEM) pointed inside `d`; returns the environment
 * that injects them (plus `extraEnv`) and the fetch-offline flags writing `d/config.json`.
 */
export function fwCfgSandbox(d: string, config: string, extraEnv: Record<string, string> = {}) {
  const key = join(d, 'fw_cfg/by_name/opt/org.flatcar-linux/config');
  mkdirSync(key, { recursive: true });
  writeFileSync(join(key, 'raw'), config);
  writeFileSync(join(key, 'size'), String(Buffer.byteLength(config)));
  writeFileSync(join(d, 'cmdline'), 'console=ttyS0\n');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    IGNITION_KERNEL_CMDLINE_PATH: join(d, 'cmdline'),
    IGNITION_SYSTEM_CONFIG_DIR: join(d, 'usr'),
    IGNITION_SYSTEM_RUNTIME_CONFIG_DIR: join(d, 'run'),
    IGNITION_SYSTEM_LOCAL_CONFIG_DIR: join(d, 'etc'),
    KINDLING_OEM_DIRS: join(d, 'oem'),
    KINDLING_NO_MODPROBE: '1',
    KINDLING_FW_CFG_DIR: join(d, 'fw_cfg'),
    ...extraEnv,
  };
  const cache = join(d, 'config.json');
  const args = ['-platform', 'qemu', '-stage', 'fetch-offline', '-config-cache', cache, '-state-file', join(d, 'state'), '-neednet', join(d, 'neednet'), '-log-to-stdout'];
  return { d, env, cache, args };
}
