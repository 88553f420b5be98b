// The files stage: users and groups, SSH keys, directories/files/links, systemd units and presets,
// and the provisioning report, in the target root, as CoreOS Ignition's files stage does them.
// plan() only probes (which users exist, where paths resolve); apply() carries out exactly that plan.
// Options read from ctx.options (all optional):
//   unprivileged: boolean          chown that needs root is reported, not fatal (kindling apply as a user)
//   authorizedKeysFragment: bool   false: keys go to ~/.ssh/authorized_keys instead of authorized_keys.d/ignition
//   fetchConcurrency: number       remote contents fetched ahead at once (default 8)
//   fsync: boolean                 fsync each file before renaming it into place (default true)
//   userConfigProvided: boolean    the report's userConfigProvided (default true)
//   signal: AbortSignal            ends remote fetches (e.g. a deadline)
//   oemRoot, systemctl, bootIdFile, openResource (tests)
import { filesContext, type StageContextConfig } from './context.js';
import { applyPlan } from './apply.js';
import { buildPlan } from './plan.js';
import type { FilesPlan } from './types.js';
import type { Stage, StageContext } from '../types.js';

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
    return buildPlan(contextFor(ctx));
  },
  async apply(ctx, plan) {
    await applyPlan(contextFor(ctx), plan);
  },
};
