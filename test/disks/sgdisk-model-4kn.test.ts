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
import { SgdiskModel, computeAlignment } from '../../stages/disks/sgdisk-model.js';
import { actionArb, existingArb, gptOf, play, printed, sgdiskRefused } from './sgdisk-compare.js';
import { LoopLab, sh } from './loopdisk.js';

const lab = new LoopLab('kindling-sgmodel4k-');
afterAll(() => lab.cleanup());

const SS = 4096;
const MIB = (1024 * 1024) / SS; // 256 sectors
const SECTORS = 128 * MIB; // 128 MiB

const GEO = { mib: MIB, sectors: SECTORS, reservedEnd: 6, oddStart: [6, 30000] as [number, number], oddSizeMax: 700 };

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
      fc.property(existingArb(GEO), fc.array(actionArb(GEO), { minLength: 1, maxLength: 5 }), (existing, actions) => {
        const fd = openSync(dev, 'r+');
        try {
          writeGptFd(fd, SS, SECTORS, gptOf(existing));
          expect(readGptFd(fd, SS, SECTORS)?.partitions.length).toBe(existing.length);
        } finally {
          closeSync(fd);
        }
        const geo = gptGeometry(SS, SECTORS);
        const model = new SgdiskModel({ sectorSize: SS, totalSectors: SECTORS, firstUsable: geo.firstUsable, lastUsable: geo.lastUsable, partitions: existing.map((p) => ({ number: p.number, start: p.start, end: p.start + p.size - 1 })) });
        const { args, modelFailed } = play(model, actions);
        args.push('-p', dev);
        const r = spawnSync('sgdisk', args);
        const out = r.stdout.toString() + r.stderr.toString();
        expect(out).toMatch(/Sector size \(logical\/physical\): 4096\//);
        const sgdiskFailed = sgdiskRefused(out, r.status);
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
