// Writing a planned partition table. Kindling writes the GPT itself (src/disk/gpt.ts) instead of
// calling sgdisk: the plan already holds every sector, sgdisk would only re-derive them, and each
// sgdisk write costs a fixed ~1 s (it sleeps after syncing, measured: 1.03–1.07 s per call on
// loop devices and files alike). Our writer puts the backup table down first and the primary header
// last, so a crash leaves either the old primary or a complete new backup. sgdisk remains the
// fallback for tables our writer does not produce (entry arrays other than 128 × 128 bytes) and can
// be forced with options.gptWriter = "sgdisk" (used by the differential test).
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { hybridMbrEntries, writeGptFd, zapGptFd } from '../../src/disk/gpt.js';
import { randomGuid, sameGuid } from '../../src/disk/guid.js';
import { probeDisk } from '../../src/disk/probe.js';
import { run } from '../../src/system/exec.js';
import type { TablePartition } from './plan-partitions.js';

export type GptWriter = 'kindling' | 'sgdisk';

export async function writePlannedTable(device: string, expect: TablePartition[], opts: { wipe: boolean; writer: GptWriter; sgdiskArgs: string[] }): Promise<void> {
  const info = probeDisk(device);
  const h = info.gpt?.header;
  const standard = !h || (h.entryCount === 128 && h.entrySize === 128);
  if (opts.writer === 'sgdisk' || !standard) {
    if (opts.wipe) {
      try {
        await run('sgdisk', ['--zap-all', device]);
      } catch {
        await run('sgdisk', ['--zap-all', device]);
      }
    }
    if (info.gpt?.backupMisplaced && !opts.wipe) await run('sgdisk', ['--move-second-header', device]);
    if (opts.sgdiskArgs.length > 1 || opts.wipe) await run('sgdisk', [...opts.sgdiskArgs, device]);
    return;
  }
  const old = opts.wipe ? [] : (info.gpt?.partitions ?? []);
  const fd = openSync(info.realPath, 'r+');
  try {
    // A hybrid MBR stays only while every partition it mirrors is still in the table, unchanged.
    const hybrid = opts.wipe ? [] : hybridMbrEntries(fd, info.sectorSize);
    const keepMbr = hybrid.length > 0 && hybrid.every((m) => expect.some((e) => e.start === m.start && e.size === m.size));
    if (opts.wipe) zapGptFd(fd, info.sectorSize, info.totalSectors);
    writeGptFd(
      fd,
      info.sectorSize,
      info.totalSectors,
      {
        diskGuid: !opts.wipe && h ? h.diskGuid : randomGuid(),
        partitions: expect.map((e) => {
          // Attributes survive on a partition that keeps its place and identity (kept or grown).
          const was = old.find((p) => p.number === e.number && p.startLba === e.start && (!e.guid || sameGuid(p.guid, e.guid)));
          return { number: e.number, typeGuid: e.typeGuid, guid: e.guid ?? randomGuid(), startLba: e.start, endLba: e.start + e.size - 1, label: e.label, attributes: was?.attributes ?? 0n };
        }),
      },
      { keepMbr },
    );
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
