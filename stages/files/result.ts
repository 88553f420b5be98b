// /etc/.ignition-result.json, written last, as Ignition (2.12+) writes it: indented JSON with a final
// newline, mode 0600 root:root, replacing an older one whose report is kept nested as
// "previousReport" (measured with Ignition 2.14: a second run nests the first run's report).
import { readFile, rm } from 'node:fs/promises';
import { resolveInRoot, toInRoot } from '../../src/root/resolve.js';
import { filesystemsUnder, flushFilesystems } from './durability.js';
import type { StageContextConfig } from './context.js';
import type { FilesOp } from './types.js';
import { KindlingError } from '../../src/errors.js';
import { errno } from './util.js';
import { writeRootOwnedFile } from './atomic.js';

export const RESULT_PATH = '/etc/.ignition-result.json';

export interface IgnitionReport {
  provisioningBootID: string;
  provisioningDate: string;
  userConfigProvided: boolean;
  previousReport?: IgnitionReport;
}

/**
 * The last operation: flush the filesystems the stage wrote to (durability.ts; unless switched
 * off), then write the report, so that a report on the disk vouches for a tree on the disk.
 */
export function planResult(cfg?: StageContextConfig): FilesOp {
  const sync = cfg?.syncfs ? filesystemsUnder(cfg.root) : [];
  const flushed = sync.length ? `flush ${sync.map((p) => toInRoot(cfg!.root, p)).join(', ')} to disk (syncfs), then ` : '';
  return { kind: 'result.write', pointer: '', summary: `${flushed}write the provisioning report ${RESULT_PATH} (0600 root:root)`, details: { path: RESULT_PATH, sync } };
}

/** Keeps the fields Go's json.Unmarshal would keep. */
function asReport(v: unknown): IgnitionReport | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const prev = asReport(o.previousReport);
  return {
    provisioningBootID: typeof o.provisioningBootID === 'string' ? o.provisioningBootID : '',
    provisioningDate: typeof o.provisioningDate === 'string' ? o.provisioningDate : '',
    userConfigProvided: o.userConfigProvided === true,
    ...(prev ? { previousReport: prev } : {}),
  };
}

/** RFC 3339 in UTC with whole seconds, as Go's time.Format(time.RFC3339) of a UTC time. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function applyResult(cfg: StageContextConfig, op: FilesOp): Promise<void> {
  const sync = (op.details as { sync?: string[] }).sync ?? [];
  try {
    await flushFilesystems(cfg, sync);
  } catch (err) {
    throw err instanceof KindlingError ? new KindlingError('files', err.message, { location: { pointer: op.pointer }, cause: err }) : err;
  }
  try {
    const p = await resolveInRoot(cfg.root, RESULT_PATH);
    const bootId = (await readFile(cfg.bootIdFile, 'utf8').catch(() => '')).trim();
    const report: IgnitionReport = { provisioningBootID: bootId, provisioningDate: rfc3339(cfg.now()), userConfigProvided: cfg.userConfigProvided };
    try {
      const prev = asReport(JSON.parse(await readFile(p, 'utf8')));
      if (prev) report.previousReport = prev;
    } catch (err) {
      if (errno(err) !== 'ENOENT') cfg.log.warn(`ignoring the unreadable previous report ${RESULT_PATH}: ${(err as Error).message}`);
    }
    await rm(p, { recursive: true, force: true });
    await writeRootOwnedFile(cfg, p, JSON.stringify(report, null, 2) + '\n', 0o600, true);
  } catch (err) {
    throw new KindlingError('files', `failed to write the provisioning report ${RESULT_PATH}: ${(err as Error).message}`, { location: { pointer: op.pointer }, cause: err });
  }
}
