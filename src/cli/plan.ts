// `kindling plan CONFIG [--disk DEVICE=IMAGE_OR_SIZE ...] [--root DIR] [--json]`
// Calls each stage's plan() — the very function a real run applies — and prints the result.
// Nothing is written: no root privileges, no network (remote child configs are listed, not fetched).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_STAGES, getStage } from '../../stages/index.js';
import { childConfigReferences, loadConfig } from '../engine/load-config.js';
import { formatPlanText, planDocument, type StagePlanResult } from '../engine/plan-format.js';
import { localContext } from '../engine/context.js';
import { KindlingError, type ReportEntry } from '../errors.js';
import { parseFlags } from './flags.js';
import { renderConfig } from '../acquire/render.js';
import { emptyState } from '../acquire/state.js';
import { getLogger } from '../log/logger.js';
import { parseDiskArgs } from '../engine/disk-args.js';
import { seedBaseAccounts } from '../engine/base-root.js';

export async function runPlan(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, { booleans: ['json', 'fetch'], strings: ['root'], lists: ['disk'], interspersed: true });
  const origin = flags.rest[0];
  if (!origin || flags.rest.length > 1) throw new KindlingError('usage', 'usage: kindling plan CONFIG [--disk DEVICE=IMAGE_OR_SIZE ...] [--root DIR] [--json] [--fetch]');
  const loaded = await loadConfig(origin);
  const warnings: ReportEntry[] = [...loaded.report];
  if (flags.booleans.fetch) {
    // --fetch: resolve ignition.config.merge/replace exactly as the fetch stage does, so the plan
    // covers the config a machine would really run.
    loaded.config = await renderConfig(loaded.config, { offline: false, state: emptyState(), log: getLogger() });
  } else {
    for (const [pointer, url] of childConfigReferences(loaded.config)) {
      warnings.push({ kind: 'warning', message: `child config ${url} is not fetched in a dry-run (use --fetch); the plan covers this config only`, location: { pointer } });
    }
  }

  // Without --root the files stage plans against an empty root: every entry is created.
  const scratch = flags.values.root ? undefined : mkdtempSync(join(tmpdir(), 'kindling-plan-root-'));
  const root = flags.values.root ?? scratch!;
  // The scratch root holds what a blank Flatcar ROOT holds when the files stage runs.
  if (scratch) seedBaseAccounts(scratch);
  const ctx = localContext({
    config: loaded.config,
    root,
    options: { dryRun: true, disks: parseDiskArgs(flags.lists.disk ?? []), assumeFlatcarLayout: !(flags.lists.disk?.length), unprivileged: true },
  });

  const results: StagePlanResult[] = [];
  try {
    for (const name of CONFIG_STAGES) {
      try {
        results.push({ stage: name, plan: await getStage(name).plan(ctx) });
      } catch (err) {
        if (!(err instanceof KindlingError)) throw err;
        results.push({ stage: name, error: { kind: err.kind, message: err.message, ...(err.location ? { pointer: err.location.pointer } : {}) } });
      }
    }
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }

  const doc = planDocument(origin, loaded.sourceVersion, warnings, results);
  // The scratch root is a random temporary directory: show it as $ROOT so that the same config
  // always prints the same plan.
  const text = flags.booleans.json ? JSON.stringify(doc, null, 2) + '\n' : formatPlanText(doc);
  process.stdout.write(scratch ? text.split(scratch).join('$ROOT') : text);
  return results.some((r) => r.error) ? 1 : 0;
}
