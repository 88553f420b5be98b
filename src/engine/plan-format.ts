// How a plan is shown: a compact human listing, and a stable JSON document for scripts.
// The JSON form is versioned ("format": 1); fields are only ever added, never renamed.
import type { Plan } from '../../stages/types.js';
import type { ReportEntry } from '../errors.js';
import { KINDLING_VERSION } from '../version.js';

export interface StagePlanResult {
  stage: string;
  plan?: Plan;
  /** Set when the stage refused to plan: the config cannot be carried out as written. */
  error?: { kind: string; message: string; pointer?: string };
}

export interface PlanDocument {
  format: 1;
  kindling: string;
  config: string;
  sourceVersion: string;
  warnings: ReportEntry[];
  stages: Array<{
    stage: string;
    ops: Plan['ops'];
    warnings: string[];
    error?: StagePlanResult['error'];
  }>;
}

export function planDocument(origin: string, sourceVersion: string, warnings: ReportEntry[], results: StagePlanResult[]): PlanDocument {
  return {
    format: 1,
    kindling: KINDLING_VERSION,
    config: origin,
    sourceVersion,
    warnings,
    stages: results.map((r) => ({
      stage: r.stage,
      ops: r.plan?.ops ?? [],
      warnings: r.plan?.warnings ?? [],
      ...(r.error ? { error: r.error } : {}),
    })),
  };
}

export function formatPlanText(doc: PlanDocument): string {
  const lines: string[] = [];
  lines.push(`Plan for ${doc.config} (spec ${doc.sourceVersion}), Kindling ${doc.kindling}`);
  for (const w of doc.warnings) {
    lines.push(`  warning: ${w.message}${w.location ? ` at ${w.location.pointer || '/'}` : ''}`);
  }
  for (const s of doc.stages) {
    const count = s.ops.filter((op) => !op.noop).length;
    lines.push('');
    lines.push(`${s.stage}: ${s.error ? 'REFUSED' : count === 0 ? 'nothing to do' : `${count} operation${count === 1 ? '' : 's'}`}`);
    s.ops.forEach((op, i) => {
      const where = op.pointer ? `  [${op.pointer}]` : '';
      lines.push(`  ${String(i + 1).padStart(3)}. ${op.noop ? '(unchanged) ' : ''}${op.summary}${where}`);
    });
    for (const w of s.warnings) lines.push(`       warning: ${w}`);
    if (s.error) lines.push(`       error: ${s.error.message}${s.error.pointer ? ` at ${s.error.pointer}` : ''}`);
  }
  return lines.join('\n') + '\n';
}
