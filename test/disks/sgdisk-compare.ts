// What the two property tests of the sgdisk placement model share (512-byte sectors on an image
// file, 4096-byte sectors on a 4Kn loop device): the random tables and operations, the same
// operations played on the model and spelled as sgdisk arguments, and reading sgdisk's verdict.
import fc from 'fast-check';
import { SgdiskError, type SgdiskModel } from '../../stages/disks/sgdisk-model.js';

export interface Existing {
  number: number;
  start: number;
  size: number;
}
export type Action = { kind: 'delete'; number: number } | { kind: 'create'; number: number; start: number; size: number };

/** The partition rows of `sgdisk -p`. */
export function printed(out: string): Array<{ number: number; start: number; end: number }> {
  const rows: Array<{ number: number; start: number; end: number }> = [];
  let inTable = false;
  for (const line of out.split('\n')) {
    if (/^Number\s+Start/.test(line)) {
      inTable = true;
      continue;
    }
    const m = inTable ? /^\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line) : null;
    if (m) rows.push({ number: Number(m[1]), start: Number(m[2]), end: Number(m[3]) });
  }
  return rows;
}

export interface Geometry {
  /** Sectors per MiB. */
  mib: number;
  sectors: number;
  /** Sectors GPT keeps at the end (entries + backup header). */
  reservedEnd: number;
  /** Range of unaligned start sectors, and the largest unaligned size, for create actions. */
  oddStart: [number, number];
  oddSizeMax: number;
}

/** Up to 5 non-overlapping partitions, mostly MiB-aligned, sometimes at an odd multiple of 8 sectors (which lowers sgdisk's alignment). */
export function existingArb(g: Geometry): fc.Arbitrary<Existing[]> {
  return fc
    .array(fc.record({ startMiB: fc.integer({ min: 1, max: 120 }), sizeMiB: fc.integer({ min: 1, max: 12 }), odd: fc.integer({ min: 0, max: 3 }) }), { maxLength: 5 })
    .map((parts) => {
      const out: Existing[] = [];
      let n = 1;
      for (const p of parts) {
        const start = p.startMiB * g.mib + (p.odd === 3 ? 8 * 3 : 0);
        const size = p.sizeMiB * g.mib;
        const end = start + size - 1;
        if (end > g.sectors - g.reservedEnd) continue;
        if (out.some((q) => start <= q.start + q.size - 1 && end >= q.start)) continue;
        out.push({ number: n++, start, size });
      }
      return out;
    });
}

export function actionArb(g: Geometry): fc.Arbitrary<Action> {
  return fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), number: fc.integer({ min: 1, max: 6 }) }),
    fc.record({
      kind: fc.constant('create' as const),
      number: fc.integer({ min: 0, max: 8 }),
      start: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 127 }).map((m) => m * g.mib), fc.integer({ min: g.oddStart[0], max: g.oddStart[1] })),
      size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }).map((m) => m * g.mib), fc.integer({ min: 1, max: g.oddSizeMax })),
    }),
  );
}

/** The GPT entries of a random table, for writeGptFd. */
export function gptOf(existing: Existing[]) {
  return {
    diskGuid: '11111111-2222-4333-8444-555555555555',
    partitions: existing.map((p) => ({ number: p.number, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: `00000000-0000-4000-8000-00000000000${p.number}`, startLba: p.start, endLba: p.start + p.size - 1, label: `p${p.number}` })),
  };
}

/**
 * Plays the actions on the model and spells them as sgdisk arguments (after --pretend). The model
 * stops at its first refusal; sgdisk is given every action, as Ignition would run them.
 */
export function play(model: SgdiskModel, actions: Action[]): { args: string[]; modelFailed: boolean } {
  const args: string[] = ['--pretend'];
  let modelFailed = false;
  for (const a of actions) {
    if (a.kind === 'delete') {
      // sgdisk refuses to delete a missing partition; keep to existing ones like Ignition does.
      if (!model.get(a.number)) continue;
      model.delete(a.number);
      args.push(`--delete=${a.number}`);
    } else {
      args.push(`--new=${a.number}:${a.start}:+${a.size}`);
      if (!modelFailed) {
        try {
          model.create(a.number, a.start, a.size);
        } catch (e) {
          if (!(e instanceof SgdiskError)) throw e;
          modelFailed = true;
        }
      }
    }
  }
  return { args, modelFailed };
}

/** Whether sgdisk refused the operations. */
export function sgdiskRefused(out: string, status: number | null): boolean {
  return /Could not create partition|Unable to|Error encountered/.test(out) || status !== 0;
}
