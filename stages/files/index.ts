// The files stage: users and groups, SSH keys, directories/files/links, systemd units and presets,
// and the provisioning report, in the target root, as CoreOS Ignition's files stage does them.
// plan() only probes (which users exist, where paths resolve); apply() carries out exactly that plan.
// Options read from ctx.options (all optional):
//   unprivileged: boolean          chown that needs root is reported, not fatal (kindling apply as a user)
//   authorizedKeysFragment: bool   false: keys go to ~/.ssh/authorized_keys instead of authorized_keys.d/ignition
//   fetchConcurrency: number       remote contents fetched ahead at once (default 8)
//   fsync: boolean                 fsync each file before renaming it into place (default false)
//   syncfs: boolean                flush the target filesystems before the report (default true)
//   userConfigProvided: boolean    the report's userConfigProvided (default true)
//   signal: AbortSignal            ends remote fetches (e.g. a deadline)
//   oemRoot, systemctl, bootIdFile, openResource (tests)
import { filesContext, type StageContextConfig } from './context.js';
import { applyPlan } from './apply.js';
import { buildPlan } from './plan.js';
import type { FilesPlan } from './types.js';
import type { Stage, StageContext } from '../types.js';
import { applyCrypttabOp, isCrypttabOp, planCrypttab } from './crypttab.js';
import { applyProviderFileOp, isProviderFileOp, planProviderFiles } from './provider-files.js';
import type { PlannedOp } from '../types.js';

export type { FilesPlan, FilesOp } from './types.js';

/** Contexts are per run; apply() reuses the one plan() made when given the same StageContext. */
const contexts = new WeakMap<StageContext, StageContextConfig>();

function contextFor(ctx: StageContext): StageContextConfig {
  let c = contexts.get(ctx);
  if (!c) {
    c = filesContext(ctx);
    contexts.set(ctx, c);
  }
  return c;
}

export const filesStage: Stage<FilesPlan> = {
  name: 'files',
  async plan(ctx) {
    const plan = await buildPlan(contextFor(ctx));
    // LUKS persistence (crypttab.ts) comes after units and before the report, as in Ignition.
    const luks = (await planCrypttab(ctx)) as FilesPlan['ops'];
    // Files a provider handed over in the state file (provider-files.ts: the hyperv KVP pools), after them.
    const taken = new Map<string, string>();
    for (const o of plan.ops) if (typeof o.details.resolved === 'string') taken.set(o.details.resolved, o.pointer);
    const provided = planProviderFiles(ctx, contextFor(ctx), taken) as FilesPlan['ops'];
    const extra = [...luks, ...provided];
    if (extra.length) plan.ops.splice(plan.ops.findIndex((o) => o.kind === 'result.write') >>> 0, 0, ...extra);
    return plan;
  },
  async apply(ctx, plan) {
    const isExtra = (o: PlannedOp) => isCrypttabOp(o) || isProviderFileOp(o);
    const at = plan.ops.findIndex(isExtra);
    if (at < 0) return applyPlan(contextFor(ctx), plan);
    await applyPlan(contextFor(ctx), { ...plan, ops: plan.ops.slice(0, at) });
    for (const op of plan.ops.filter(isExtra)) {
      if (isCrypttabOp(op)) await applyCrypttabOp(ctx, op);
      else {
        ctx.log.info(`[started]  ${op.summary}`);
        await applyProviderFileOp(ctx, contextFor(ctx), op);
        ctx.log.info(`[finished] ${op.summary}`);
      }
    }
    await applyPlan(contextFor(ctx), { ...plan, ops: plan.ops.slice(at).filter((o) => !isExtra(o)) });
  },
};
