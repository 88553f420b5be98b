// The whole plan, in Ignition's order: groups, users (with password and SSH keys), then
// directories/files/links (by depth, hard links last), then units and presets, then the report.
// Probing is read-only: which users and groups exist, where paths land after the root's symlinks.
import type { StageContextConfig } from './context.js';
import { planNodes } from './nodes.js';
import { planResult } from './result.js';
import type { FilesPlan } from './types.js';
import { planUnits } from './units.js';
import { planPasswd } from './users.js';

export async function buildPlan(cfg: StageContextConfig): Promise<FilesPlan> {
  const warnings: string[] = [];
  const ops = [...(await planPasswd(cfg)), ...(await planNodes(cfg)), ...planUnits(cfg), planResult(cfg)];
  if (cfg.unprivileged) warnings.push('not running as root: ownership that only root can set will be reported, not applied');
  return { stage: 'files', ops, warnings };
}
