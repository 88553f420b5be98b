// The disks stage: partitions, RAID, LUKS, filesystems — planned completely before anything is
// written (plan.ts), then carried out exactly (apply.ts). See docs/disks.md.
import type { Stage } from '../types.js';
import { planDisks, type DisksPlan } from './plan.js';
import { applyDisks } from './apply.js';

export const disksStage: Stage<DisksPlan> = {
  name: 'disks',
  plan: planDisks,
  apply: applyDisks,
};
