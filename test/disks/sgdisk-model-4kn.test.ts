// The sgdisk placement model on a 4Kn disk: sgdisk reads the logical sector size from the device
// (a file always counts as 512), so the random tables are written with our GPT writer to a
// 4096-byte-sector loop device and `sgdisk --pretend ... -p` runs on it. Alignment is 1 MiB =
// 256 sectors there (lowered by odd starts as on 512-byte disks); the model must print exactly
// sgdisk's table and refuse exactly when sgdisk refuses.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { closeSync, openSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { writeGptFd, gptGeometry, readGptFd } from '../../src/disk/gpt.js';
import { SgdiskModel, SgdiskError, computeAlignment } from '../../stages/disks/sgdisk-model.js';
import { LoopLab, sh } from './loopdisk.js';

const lab = new LoopLab('kindling-sgmodel4k-');
afterAll(() => lab.cleanup());

const SS = 4096;
const MIB = (1024 * 1024) / SS; // 256 sectors
const SECTORS = 128 * MIB; // 128 MiB

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

interface Existing {
  number: number;
  start: number;
  size: number;
}
type Action = { kind: 'delete'; number: number } | { kind: 'create'; number: number; start: number; size: number };

const existingArb = fc
  .array(fc.record({ startMiB: fc.integer({ min: 1, max: 120 }), sizeMiB: fc.integer({ min: 1, max: 12 }), odd: fc.integer({ min: 0, max: 3 }) }), { maxLength: 5 })
  .map((parts) => {
    const out: Existing[] = [];
    let n = 1;
    for (const p of parts) {
      const start = p.startMiB * MIB + (p.odd === 3 ? 8 * 3 : 0);
      const size = p.sizeMiB * MIB;
      const end = start + size - 1;
      if (end > SECTORS - 6) continue;
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
    start: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 127 }).map((m) => m * MIB), fc.integer({ min: 6, max: 30000 })),
    size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }).map((m) => m * MIB), fc.integer({ min: 1, max: 700 })),
  }),
);

describe('SgdiskModel vs sgdisk --pretend on a 4Kn loop device', () => {
  it('uses 1 MiB (256-sector) alignment and 6 reserved sectors at each end', () => {
    expect(computeAlignment([], SS, SECTORS)).toBe(256);
    expect(computeAlignment([{ start: 256 }, { start: 256 + 24 }], SS, SECTORS)).toBe(8);
    expect(gptGeometry(SS, SECTORS)).toEqual({ entrySectors: 4, firstUsable: 6, lastUsable: SECTORS - 6 });
  });

  it('places and refuses exactly as sgdisk does (random tables and operations)', () => {
    const dev = lab.attach(lab.image('4k.img', SECTORS * SS), SS);
    expect(sh('blockdev', ['--getss', dev]).trim()).toBe('4096');
    let compared = 0;
    fc.assert(
      fc.property(existingArb, fc.array(actionArb, { minLength: 1, maxLength: 5 }), (existing, actions) => {
        const fd = openSync(dev, 'r+');
        try {
          writeGptFd(fd, SS, SECTORS, {
            diskGuid: '11111111-2222-4333-8444-555555555555',
            partitions: existing.map((p) => ({ number: p.number, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: `00000000-0000-4000-8000-00000000000${p.number}`, startLba: p.start, endLba: p.start + p.size - 1, label: `p${p.number}` })),
          });
          expect(readGptFd(fd, SS, SECTORS)?.partitions.length).toBe(existing.length);
        } finally {
          closeSync(fd);
        }
        const geo = gptGeometry(SS, SECTORS);
        const model = new SgdiskModel({ sectorSize: SS, totalSectors: SECTORS, firstUsable: geo.firstUsable, lastUsable: geo.lastUsable, partitions: existing.map((p) => ({ number: p.number, start: p.start, end: p.start + p.size - 1 })) });
        const args: string[] = ['--pretend'];
        let modelFailed = false;
        for (const a of actions) {
          if (a.kind === 'delete') {
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
        args.push('-p', dev);
        const r = spawnSync('sgdisk', args);
        const out = r.stdout.toString() + r.stderr.toString();
        expect(out).toMatch(/Sector size \(logical\/physical\): 4096\//);
        const sgdiskFailed = /Could not create partition|Unable to|Error encountered/.test(out) || r.status !== 0;
        expect({ failed: sgdiskFailed, actions, existing }).toEqual({ failed: modelFailed, actions, existing });
        if (!modelFailed) {
          expect(printed(out)).toEqual(model.partitions());
          compared++;
        }
      }),
      { numRuns: 80, seed: 20261129 },
    );
    expect(compared).toBeGreaterThan(15);
  }, 180_000);
});
