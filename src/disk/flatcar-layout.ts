// Flatcar's stock disk layout (flatcar/scripts build_library/disk_layout.json, "base" layout):
// partitions aligned to 4096 sectors, 512-byte sectors, ROOT last so it can grow into the rest of
// the disk. Slots 5 (ROOT-C) and 8 are "blank" there: reserved numbers with no partition.
// createFlatcarImage() writes that table (our own GPT writer) to a sparse file and puts the
// filesystems a first boot cares about on it: EFI-SYSTEM (vfat), OEM (btrfs), ROOT (ext4).
import { closeSync, ftruncateSync, openSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGptFd } from './gpt.js';
import { TYPE_GUIDS } from './guid.js';
import type { DiskInfo } from './probe.js';
import type { FsInfo } from './blkid.js';
import { run } from '../system/exec.js';
import { readGptFd } from './gpt.js';

export interface LayoutPartition {
  number: number;
  label: string;
  typeGuid: string;
  /** Fixed GUID where Flatcar fixes one (USR-A/B); else generated per image. */
  guid?: string;
  sizeSectors: number;
  fs?: { type: 'vfat' | 'btrfs' | 'ext4'; label: string };
}

export const FLATCAR_ALIGNMENT = 4096;
export const FLATCAR_FIRST_SECTOR = 4096;

export const FLATCAR_LAYOUT: readonly LayoutPartition[] = [
  { number: 1, label: 'EFI-SYSTEM', typeGuid: TYPE_GUIDS.efi, sizeSectors: 2097152, fs: { type: 'vfat', label: 'EFI-SYSTEM' } },
  { number: 2, label: 'BIOS-BOOT', typeGuid: TYPE_GUIDS.bios, sizeSectors: 4096 },
  { number: 3, label: 'USR-A', typeGuid: TYPE_GUIDS['flatcar-rootfs'], guid: '7130C94A-213A-4E5A-8E26-6CCE9662F132', sizeSectors: 4194304 },
  { number: 4, label: 'USR-B', typeGuid: TYPE_GUIDS['flatcar-rootfs'], guid: 'E03DD35C-7C2D-4A47-B3FE-27F15780A57C', sizeSectors: 4194304 },
  { number: 6, label: 'OEM', typeGuid: TYPE_GUIDS.data, sizeSectors: 2097152, fs: { type: 'btrfs', label: 'OEM' } },
  { number: 7, label: 'OEM-CONFIG', typeGuid: TYPE_GUIDS['flatcar-reserved'], sizeSectors: 131072 },
  { number: 9, label: 'ROOT', typeGuid: TYPE_GUIDS['flatcar-resize'], sizeSectors: 3653632, fs: { type: 'ext4', label: 'ROOT' } },
];

/** Flatcar's stock image size: the layout plus the backup GPT, rounded as its build does. */
export const FLATCAR_IMAGE_BYTES = 8 * 1024 ** 3;

export interface PlacedPartition extends LayoutPartition {
  start: number;
  guid: string;
}

/** Where each partition lands on a disk of totalSectors (512-byte sectors). */
export function placeFlatcarLayout(totalSectors: number, guidFor: (p: LayoutPartition) => string = (p) => p.guid ?? stableGuid(p.number)): PlacedPartition[] {
  let cur = FLATCAR_FIRST_SECTOR;
  const out: PlacedPartition[] = [];
  for (const p of FLATCAR_LAYOUT) {
    out.push({ ...p, start: cur, guid: guidFor(p) });
    cur += p.sizeSectors;
  }
  if (cur > totalSectors - 34) throw new Error(`a Flatcar layout needs at least ${(cur + 34) * 512} bytes; the disk has ${totalSectors * 512}`);
  return out;
}

// Deterministic GUIDs for imagined disks, so a dry-run prints the same plan every time.
function stableGuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`.toUpperCase();
}

/** A DiskInfo of an imagined Flatcar disk (no file): what `kindling plan` assumes without --disk. */
export function imaginedFlatcarDisk(device: string, sizeBytes: number = FLATCAR_IMAGE_BYTES): { info: DiskInfo; fs: Map<number, FsInfo> } {
  const totalSectors = Math.floor(sizeBytes / 512);
  const placed = placeFlatcarLayout(totalSectors);
  // The stock image's table ends where the stock image ends; a bigger disk has its backup header
  // misplaced until someone moves it (Kindling does, at first boot).
  const imageSectors = Math.floor(FLATCAR_IMAGE_BYTES / 512);
  const misplaced = totalSectors > imageSectors;
  const lastUsable = (misplaced ? imageSectors : totalSectors) - 34;
  const info: DiskInfo = {
    device,
    realPath: device,
    isBlockDevice: true,
    sectorSize: 512,
    totalSectors,
    hasMbr: false,
    gpt: {
      sectorSize: 512,
      totalSectors,
      header: { currentLba: 1, backupLba: lastUsable + 33, firstUsableLba: 34, lastUsableLba: lastUsable, diskGuid: stableGuid(0), entriesLba: 2, entryCount: 128, entrySize: 128, entriesCrc: 0, headerCrcOk: true, entriesCrcOk: true },
      primaryOk: true,
      backupOk: true,
      backupMisplaced: misplaced,
      problems: [],
      partitions: placed.map((p) => ({ number: p.number, typeGuid: p.typeGuid, guid: p.guid, startLba: p.start, endLba: p.start + p.sizeSectors - 1, sizeSectors: p.sizeSectors, attributes: 0n, label: p.label })),
    },
  };
  const fs = new Map<number, FsInfo>();
  for (const p of placed) if (p.fs) fs.set(p.number, { type: p.fs.type, label: p.fs.label, uuid: '', ambivalent: false });
  return { info, fs };
}

export interface CreateImageOptions {
  /**
   * Make the filesystems (default true: all three). Needs mkfs.vfat, mkfs.btrfs, mkfs.ext4 — no
   * root. A list picks some: OEM's btrfs is the slow one (made in a scratch file and copied, ~4 s).
   */
  filesystems?: boolean | Array<'vfat' | 'btrfs' | 'ext4'>;
  /** Size of the table's disk, when it should be smaller than the file (an image written to a bigger disk). */
  tableBytes?: number;
  /**
   * Logical sector size of the disk the image is for (default 512). 4096 writes the same layout
   * (same byte offsets and sizes) as a 4Kn disk sees it: LBAs divided by 8, a 4-sector entry array;
   * attach it with `losetup --sector-size 4096`.
   */
  sectorSize?: 512 | 4096;
}

/**
 * A sparse image file of sizeBytes with Flatcar's GPT and (by default) its filesystems. The table
 * covers the whole file unless opts.tableBytes is smaller (then its backup header sits where a
 * stock image of that size would put it, as after `dd` of a stock image onto a larger disk).
 */
export async function createFlatcarImage(file: string, sizeBytes: number, opts: CreateImageOptions = {}): Promise<void> {
  const ss = opts.sectorSize ?? 512;
  const per = ss / 512;
  const tableBytes = opts.tableBytes ?? sizeBytes;
  const placed = placeFlatcarLayout(Math.floor(tableBytes / 512), (p) => p.guid ?? randomUpperGuid());
  const fd = openSync(file, 'w+');
  try {
    ftruncateSync(fd, sizeBytes);
    writeGptFd(fd, ss, Math.floor(tableBytes / ss), {
      diskGuid: randomUpperGuid(),
      partitions: placed.map((p) => ({ number: p.number, typeGuid: p.typeGuid, guid: p.guid, startLba: p.start / per, endLba: (p.start + p.sizeSectors) / per - 1, label: p.label })),
    });
    // sanity: what we wrote reads back
    if (!readGptFd(fd, ss, Math.floor(tableBytes / ss))) throw new Error('written GPT does not read back');
  } finally {
    closeSync(fd);
  }
  if (opts.filesystems === false) return;
  const wanted = Array.isArray(opts.filesystems) ? opts.filesystems : ['vfat', 'btrfs', 'ext4'];
  for (const p of placed) {
    if (!p.fs || !wanted.includes(p.fs.type)) continue;
    const offset = p.start * 512;
    const bytes = p.sizeSectors * 512;
    if (p.fs.type === 'ext4') {
      await run('mkfs.ext4', ['-q', '-F', '-L', p.fs.label, '-E', `offset=${offset}`, file, `${bytes / 1024}k`]);
    } else if (p.fs.type === 'vfat') {
      await run('mkfs.vfat', ['-n', p.fs.label, '--offset', String(p.start), file, String(bytes / 1024)]);
    } else {
      // mkfs.btrfs has no offset option: make it in a sparse scratch file and copy only what it wrote.
      const dir = mkdtempSync(join(tmpdir(), 'kindling-btrfs-'));
      try {
        const scratch = join(dir, 'fs');
        const sfd = openSync(scratch, 'w');
        ftruncateSync(sfd, bytes);
        closeSync(sfd);
        await run('mkfs.btrfs', ['-q', '-f', '-L', p.fs.label, scratch]);
        await run('dd', [`if=${scratch}`, `of=${file}`, 'bs=1M', `seek=${offset}`, 'oflag=seek_bytes', 'conv=sparse,notrunc', 'status=none']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

function randomUpperGuid(): string {
  return crypto.randomUUID().toUpperCase();
}
