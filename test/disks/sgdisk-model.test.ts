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
import { SgdiskModel, computeAlignment } from '../../stages/disks/sgdisk-model.js';
import { actionArb, existingArb, gptOf, play, printed, sgdiskRefused } from './sgdisk-compare.js';

const dir = mkdtempSync(join(tmpdir(), 'kindling-sgmodel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECTORS = 262144; // 128 MiB
const GEO = { mib: 2048, sectors: SECTORS, reservedEnd: 34, oddStart: [40, 200000] as [number, number], oddSizeMax: 5000 };

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
      fc.property(existingArb(GEO), fc.array(actionArb(GEO), { minLength: 1, maxLength: 5 }), (existing, actions) => {
        const img = join(dir, `m${i++}.img`);
        const fd = openSync(img, 'w+');
        ftruncateSync(fd, SECTORS * 512);
        writeGptFd(fd, 512, SECTORS, gptOf(existing));
        closeSync(fd);
        const geo = gptGeometry(512, SECTORS);
        const model = new SgdiskModel({ sectorSize: 512, totalSectors: SECTORS, firstUsable: geo.firstUsable, lastUsable: geo.lastUsable, partitions: existing.map((p) => ({ number: p.number, start: p.start, end: p.start + p.size - 1 })) });
        const { args, modelFailed } = play(model, actions);
        args.push('-p', img);
        const r = spawnSync('sgdisk', args);
        const out = r.stdout.toString() + r.stderr.toString();
        const sgdiskFailed = sgdiskRefused(out, r.status);
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
