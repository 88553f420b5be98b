// The contract every stage fulfils. A stage probes the world it acts on, computes a plan (plain
// data: an ordered list of operations, each naming the config entry it serves), and applies it.
// Dry-run (`kindling plan`) calls plan() and prints the result; a real run calls plan() then
// apply() on that same plan. There is no second code path.
import type { Config } from '../src/config/types.js';
import type { Logger } from '../src/log/logger.js';

export const STAGE_NAMES = ['fetch-offline', 'fetch', 'kargs', 'disks', 'mount', 'files', 'umount'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export interface StageContext {
  /** The rendered config (newest spec). Empty for the fetch stages, which produce it. */
  config: Config;
  /** The target root: /sysroot in the initrd, a directory or a mounted image on a laptop. */
  root: string;
  platform: string;
  log: Logger;
  /** Ignition's -config-cache, -state-file, -neednet and -fetch-timeout. */
  configCache: string;
  stateFile: string;
  needNetFile: string;
  fetchTimeoutMs: number;
  /** Extra knobs a caller may set (device maps for images, injectable roots for tests). */
  options?: Record<string, unknown>;
}

/** One operation of a plan. Plain data: printable, serialisable as JSON, comparable in tests. */
export interface PlannedOp {
  /** A stable kind, e.g. "partition.create", "file.write", "user.add", "unit.preset". */
  kind: string;
  /** The config entry this operation serves, as a JSON pointer ("" when it serves none). */
  pointer: string;
  /** One human line, e.g. "write /etc/hostname (0644 root:root, 9 bytes from data:)". */
  summary: string;
  /** Every fact the executor needs and a script may want; no secrets (no contents, no hashes of passwords). */
  details: Record<string, unknown>;
  /** True for an operation that only confirms the state is already as asked (keep, reuse): it changes nothing. */
  noop?: boolean;
}

export interface Plan {
  stage: StageName;
  ops: PlannedOp[];
  warnings: string[];
}

export interface Stage<P extends Plan = Plan> {
  name: StageName;
  /** Probe (read-only) and compute the plan. Must not change anything. */
  plan(ctx: StageContext): Promise<P>;
  /** Carry out exactly the plan; throw KindlingError on the first operation that fails. */
  apply(ctx: StageContext, plan: P): Promise<void>;
}
