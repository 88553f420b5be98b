// Ignition's kargs stage: kernelArguments.shouldExist / shouldNotExist are handed to the distro's
// helper, `ignition-kargs-helper --should-exist ARG ... --should-not-exist ARG ...` (Flatcar's
// rewrites linux_append in /oem/grub.cfg, sets the first-boot flag and reboots). Nothing to do when
// both lists are empty. The plan also says which arguments the running kernel already has (from
// /proc/cmdline, informational: the helper decides). Applying changes without a helper is an error,
// not a silent skip: the user asked for kernel arguments the boot would not get.
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { cmdlinePath } from '../src/acquire/cmdline.js';
import { KindlingError } from '../src/errors.js';
import { run } from '../src/system/exec.js';
import type { Plan, PlannedOp, Stage, StageContext } from './types.js';

export const KARGS_HELPER = 'ignition-kargs-helper';

function helperPath(ctx: StageContext): string | undefined {
  const configured = ctx.options?.kargsHelper;
  const name = typeof configured === 'string' ? configured : KARGS_HELPER;
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function currentArgs(ctx: StageContext): Set<string> | undefined {
  const path = typeof ctx.options?.cmdlinePath === 'string' ? ctx.options.cmdlinePath : cmdlinePath();
  try {
    return new Set(readFileSync(path, 'utf8').split(/\s+/).filter(Boolean));
  } catch {
    return undefined;
  }
}

export const kargsStage: Stage = {
  name: 'kargs',
  async plan(ctx) {
    const ka = ctx.config.kernelArguments ?? {};
    const have = currentArgs(ctx);
    const ops: PlannedOp[] = [];
    (ka.shouldExist ?? []).forEach((arg, i) => {
      const present = have?.has(arg);
      ops.push({
        kind: 'karg.ensure',
        pointer: `/kernelArguments/shouldExist/${i}`,
        summary: `ensure kernel argument ${arg}${present ? ' (already on the running kernel)' : ''}`,
        details: { arg, presentNow: present ?? null },
      });
    });
    (ka.shouldNotExist ?? []).forEach((arg, i) => {
      const present = have?.has(arg);
      ops.push({
        kind: 'karg.remove',
        pointer: `/kernelArguments/shouldNotExist/${i}`,
        summary: `remove kernel argument ${arg}${present === false ? ' (not on the running kernel)' : ''}`,
        details: { arg, presentNow: present ?? null },
      });
    });
    const warnings: string[] = [];
    if (ops.length && !helperPath(ctx)) warnings.push(`${KARGS_HELPER} is not installed: applying these kernel arguments will fail`);
    return { stage: 'kargs', ops, warnings } satisfies Plan;
  },
  async apply(ctx, plan) {
    if (plan.ops.length === 0) return;
    const helper = helperPath(ctx);
    if (!helper) {
      throw new KindlingError('system', `the config changes kernel arguments but ${KARGS_HELPER} was not found on PATH; this distribution cannot apply kernelArguments`);
    }
    const args: string[] = [];
    for (const op of plan.ops) args.push(op.kind === 'karg.ensure' ? '--should-exist' : '--should-not-exist', String(op.details.arg));
    ctx.log.info(`updating kernel arguments: ${helper} ${args.join(' ')}`);
    try {
      await run(helper, args);
    } catch (err) {
      throw new KindlingError('system', `failed adding kernel arguments: ${(err as Error).message}`, { cause: err });
    }
  },
};
