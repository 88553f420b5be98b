// Differential test of the pure sgdisk placement model against sgdisk itself: random tables
// (written with our GPT writer to an image file), random delete/create sequences with default
// and explicit starts, sizes and numbers; `sgdisk --pretend ... -p` must print exactly the table
// the model predicts, and refuse exactly when the model refuses.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, openSync, closeSync, ftruncateSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGptFd, gptGeometry } from '../../src/disk/gpt.js';
import { SgdiskModel, SgdiskError, computeAlignment } from '../../stages/disks/sgdisk-model.js';

const dir = mkdtempSync(join(tmpdir(), 'kindling-sgmodel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Existing {
  number: number;
  start: number;
  size: number;
}
type Action = { kind: 'delete'; number: number } | { kind: 'create'; number: number; start: number; size: number };

function printed(out: string): Array<{ number: number; start: number; end: number }> {
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

const SECTORS = 262144; // 128 MiB

const existingArb = fc
  .array(fc.record({ startMiB: fc.integer({ min: 1, max: 120 }), sizeMiB: fc.integer({ min: 1, max: 12 }), odd: fc.integer({ min: 0, max: 3 }) }), { maxLength: 5 })
  .map((parts) => {
    const out: Existing[] = [];
    let n = 1;
    for (const p of parts) {
      // Mostly MiB-aligned, sometimes at an odd multiple of 8 sectors (lowers sgdisk's alignment).
      const start = p.startMiB * 2048 + (p.odd === 3 ? 8 * 3 : 0);
      const size = p.sizeMiB * 2048;
      const end = start + size - 1;
      if (end > SECTORS - 34) continue;
      if (out.some((q) => start <= q.start + q.size - 1 && end >= q.start)) continue;
      out.push({ number: n++, start, size });
    }
    return out;
  });

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), number: fc.integer({ min: 1, max: 6 }) }),
  fc.record({
    kind: fc.constant('create' as const),
    number: fc.integer({ min: 0, max: 8 }),
    start: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 127 }).map((m) => m * 2048), fc.integer({ min: 40, max: 200000 })),
    size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }).map((m) => m * 2048), fc.integer({ min: 1, max: 5000 })),
  }),
);

describe('SgdiskModel vs sgdisk --pretend', () => {
  it('computes alignment like sgdisk', () => {
    expect(computeAlignment([], 512, SECTORS)).toBe(2048);
    expect(computeAlignment([{ start: 4096 }], 512, SECTORS)).toBe(2048);
    expect(computeAlignment([{ start: 2048 }, { start: 2048 + 24 }], 512, SECTORS)).toBe(8);
    expect(computeAlignment([{ start: 34 }], 512, 2 ** 32)).toBe(8);
  });

  it('picks the first of two equally large free blocks, as sgdisk does', () => {
    const img = join(dir, 'tie.img');
    const fd = openSync(img, 'w+');
    ftruncateSync(fd, SECTORS * 512);
    const geo = gptGeometry(512, SECTORS);
    const parts = [
      { number: 1, start: 2048, end: 22527 },
      { number: 2, start: 43008, end: geo.lastUsable - 20480 },
    ];
    writeGptFd(fd, 512, SECTORS, { diskGuid: '11111111-2222-4333-8444-555555555555', partitions: parts.map((p) => ({ number: p.number, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: `00000000-0000-4000-8000-00000000000${p.number}`, startLba: p.start, endLba: p.end, label: '' })) });
    closeSync(fd);
    const model = new SgdiskModel({ sectorSize: 512, totalSectors: SECTORS, firstUsable: geo.firstUsable, lastUsable: geo.lastUsable, partitions: parts });
    const created = model.create(0, 0, 0);
    const out = spawnSync('sgdisk', ['--pretend', '--new=0:0:+0', '-p', img]).stdout.toString();
    expect(printed(out)).toEqual(model.partitions());
    expect(created.start).toBe(22528);
  });

  it('places and refuses exactly as sgdisk 1.0.x does (random tables and operations)', () => {
    let i = 0;
    let compared = 0;
    fc.assert(
      fc.property(existingArb, fc.array(actionArb, { minLength: 1, maxLength: 5 }), (existing, actions) => {
        const img = join(dir, `m${i++}.img`);
        const fd = openSync(img, 'w+');
        ftruncateSync(fd, SECTORS * 512);
        writeGptFd(fd, 512, SECTORS, {
          diskGuid: '11111111-2222-4333-8444-555555555555',
          partitions: existing.map((p) => ({ number: p.number, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: `00000000-0000-4000-8000-00000000000${p.number}`, startLba: p.start, endLba: p.start + p.size - 1, label: `p${p.number}` })),
        });
        closeSync(fd);
        const geo = gptGeometry(512, SECTORS);
        const model = new SgdiskModel({ sectorSize: 512, totalSectors: SECTORS, firstUsable: geo.firstUsable, lastUsable: geo.lastUsable, partitions: existing.map((p) => ({ number: p.number, start: p.start, end: p.start + p.size - 1 })) });
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
        args.push('-p', img);
        const r = spawnSync('sgdisk', args);
        const out = r.stdout.toString() + r.stderr.toString();
        const sgdiskFailed = /Could not create partition|Unable to|Error encountered/.test(out) || r.status !== 0;
        expect({ failed: sgdiskFailed, actions, existing }).toEqual({ failed: modelFailed, actions, existing });
        if (!modelFailed) {
          expect(printed(out)).toEqual(model.partitions());
          compared++;
        }
        rmSync(img);
      }),
      { numRuns: 150, seed: 20261129 },
    );
    expect(compared).toBeGreaterThan(30);
  });
});
