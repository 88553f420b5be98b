// The knobs a caller may pass to the disks, mount and umount stages through ctx.options.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StageContext } from '../types.js';
import type { DiskArg } from '../../src/engine/disk-args.js';

export interface DisksOptions {
  /** `kindling plan --disk DEVICE=IMAGE_OR_SIZE`: what stands for a device the config names. */
  diskArgs: DiskArg[];
  /** Config device → the block device that really is it (e.g. /dev/vda → /dev/loop3 for `apply --image`). */
  deviceMap: Record<string, string>;
  /** Dry-run without disks: imagine Flatcar's layout for boot disks, never open a real device. */
  assumeFlatcarLayout: boolean;
  dryRun: boolean;
  /** Disks searched for by-* names when udev made no links (default: every disk the kernel lists). */
  candidateDisks?: string[];
  /** The disk whose Flatcar ROOT may grow (default: a config disk holding it; in the initrd, by-partlabel/ROOT). */
  rootDisk?: string;
  /** Grow Flatcar's ROOT into free space after it at first boot (default true). */
  growRoot: boolean;
  inInitrd: boolean;
  /**
   * Intent journal and generated LUKS key files. Scoped to the run like Ignition's own state:
   * beside -state-file (in the initrd /run/ignition/kindling-disks), so an entry left by another
   * run — a test on a reused loop device — can never make this one reformat a filesystem.
   * Without a state file (dry-runs, library use): /run/kindling/disks.
   */
  stateDir: string;
  /** How long to wait for a device the config names to appear (default 30 s in the initrd, else 2 s; 0 in dry-runs). */
  deviceTimeoutMs: number;
  /** Who writes partition tables: Kindling's own GPT writer (default) or sgdisk. */
  gptWriter: 'kindling' | 'sgdisk';
}

export function disksOptions(ctx: StageContext): DisksOptions {
  const o = (ctx.options ?? {}) as Record<string, unknown>;
  const inInitrd = existsSync('/etc/initrd-release');
  const dryRun = o.dryRun === true;
  return {
    deviceTimeoutMs: typeof o.deviceTimeoutMs === 'number' ? o.deviceTimeoutMs : dryRun ? 0 : inInitrd ? 30_000 : 2_000,
    diskArgs: Array.isArray(o.disks) ? (o.disks as DiskArg[]) : [],
    deviceMap: (o.deviceMap as Record<string, string>) ?? {},
    assumeFlatcarLayout: o.assumeFlatcarLayout === true,
    dryRun,
    candidateDisks: Array.isArray(o.candidateDisks) ? (o.candidateDisks as string[]) : undefined,
    rootDisk: typeof o.rootDisk === 'string' ? o.rootDisk : undefined,
    growRoot: o.growRoot === undefined ? process.env.KINDLING_GROW_ROOT !== '0' : o.growRoot !== false,
    inInitrd,
    stateDir:
      typeof o.stateDir === 'string'
        ? o.stateDir
        : (process.env.KINDLING_DISKS_STATE_DIR ?? (ctx.stateFile ? join(dirname(ctx.stateFile), 'kindling-disks') : '/run/kindling/disks')),
    gptWriter: (o.gptWriter ?? process.env.KINDLING_GPT_WRITER) === 'sgdisk' ? 'sgdisk' : 'kindling',
  };
}
