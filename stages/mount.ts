// The mount stage: every filesystem of the config with a path (and a mountable format) is mounted
// under the root (ctx.root: /sysroot in the initrd), shallow paths first, with its mountOptions and
// its format as the type — so the files stage writes onto them. A path that runs through a symlink
// in the root is refused, as Ignition refuses it. If a mount fails, what this run mounted is
// unmounted again before the error is reported.
import { mkdirSync } from 'node:fs';
import { KindlingError } from '../src/errors.js';
import { run } from '../src/system/exec.js';
import { resolveExisting } from '../src/disk/resolve.js';
import type { Plan, PlannedOp, Stage, StageContext } from './types.js';
import { mountEntries, mappedDevice, symlinkOnPath, type MountEntry } from './disks/mounts.js';
import { disksOptions } from './disks/options.js';
import { missingDirs, recordCreatedDirs } from './mountpoint-dirs.js';

function refuseSymlink(e: MountEntry, root: string): void {
  const link = symlinkOnPath(root, e.path);
  if (link) throw new KindlingError('disk', `cannot mount ${e.device} at ${e.path}: ${link} is a symlink and Ignition semantics forbid mounting through one`, { location: { pointer: `${e.pointer}/path` } });
}

export const mountStage: Stage = {
  name: 'mount',
  async plan(ctx: StageContext): Promise<Plan> {
    const o = disksOptions(ctx);
    const ops: PlannedOp[] = [];
    for (const e of mountEntries(ctx.config, ctx.root)) {
      refuseSymlink(e, ctx.root);
      const device = mappedDevice(e.device, o.deviceMap);
      ops.push({
        kind: 'mount',
        pointer: e.pointer,
        summary: `mount ${e.format} ${e.device} at ${e.path}${e.options.length ? ` (-o ${e.options.join(',')})` : ''}`,
        details: { device, path: e.path, target: e.target, format: e.format, options: e.options },
      });
    }
    return { stage: 'mount', ops, warnings: [] };
  },
  async apply(ctx: StageContext, plan: Plan): Promise<void> {
    const o = disksOptions(ctx);
    const done: string[] = [];
    try {
      for (const x of plan.ops) {
        const d = x.details as { device: string; path: string; target: string; format: string; options: string[] };
        refuseSymlink({ pointer: x.pointer, device: d.device, path: d.path, target: d.target, format: d.format, options: d.options }, ctx.root);
        const dev = (await resolveExisting(d.device, o.candidateDisks)) ?? d.device;
        const created = missingDirs(ctx.root, d.path);
        mkdirSync(d.target, { recursive: true, mode: 0o755 });
        recordCreatedDirs(ctx, created);
        ctx.log.info({ op: 'mount', pointer: x.pointer }, `mount: [started] ${x.summary}`);
        try {
          await run('mount', [...(d.options.length ? ['-o', d.options.join(',')] : []), '-t', d.format, dev, d.target]);
        } catch (err) {
          throw new KindlingError('disk', `mounting ${d.device} at ${d.path} failed: ${(err as Error).message}`, { location: { pointer: x.pointer }, cause: err });
        }
        done.push(d.target);
      }
    } catch (err) {
      for (const t of done.reverse()) await run('umount', [t], { allowFailure: true });
      throw err;
    }
  },
};
