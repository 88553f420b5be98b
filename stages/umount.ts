// The umount stage: unmount what the mount stage mounted, deepest first. It works from the config,
// not from the mount stage's memory, so it can run after any failure (or in a later process) and
// unmounts whatever of it is still mounted; it tries every entry and reports the first failure.
import { KindlingError } from '../src/errors.js';
import { run } from '../src/system/exec.js';
import type { Plan, PlannedOp, Stage, StageContext } from './types.js';
import { mountEntries, mountedTargets, canonicalTarget } from './disks/mounts.js';

export const umountStage: Stage = {
  name: 'umount',
  async plan(ctx: StageContext): Promise<Plan> {
    const ops: PlannedOp[] = mountEntries(ctx.config, ctx.root)
      .reverse()
      .map((e) => ({ kind: 'umount', pointer: e.pointer, summary: `unmount ${e.path}`, details: { path: e.path, target: e.target } }));
    return { stage: 'umount', ops, warnings: [] };
  },
  async apply(ctx: StageContext, plan: Plan): Promise<void> {
    let first: KindlingError | undefined;
    for (const x of plan.ops) {
      const target = canonicalTarget(x.details.target as string);
      if (!mountedTargets().has(target)) continue;
      const r = await run('umount', [target], { allowFailure: true });
      if (r.exitCode !== 0) {
        // Busy: detach it lazily so the initrd can still switch root, but report it.
        await run('umount', ['-l', target], { allowFailure: true });
        first ??= new KindlingError('disk', `unmounting ${x.details.path} failed: ${r.stderr.trim()}`, { location: { pointer: x.pointer } });
      }
    }
    if (first) throw first;
  },
};
