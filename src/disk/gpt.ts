// GPT read and write, our own code: the on-disk format is small and fixed (UEFI spec 2.x, ch. 5),
// and reading it ourselves lets plan() see both headers, both CRCs and the exact entries without
// running a tool. Writing is used to build images (createFlatcarImage); changing the table of a
// real disk goes through sgdisk, as Ignition does.
import { closeSync, openSync, readSync, writeSync, fstatSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { guidFromBytes, guidToBytes, isZeroGuid } from './guid.js';

export const GPT_SIGNATURE = 'EFI PART';
export const DEFAULT_ENTRY_COUNT = 128;
export const ENTRY_SIZE = 128;

export interface GptHeader {
  currentLba: number;
  backupLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
  headerCrcOk: boolean;
  entriesCrcOk: boolean;
}

export interface GptPartition {
  /** 1-based slot number, as sgdisk and the kernel number partitions. */
  number: number;
  typeGuid: string;
  guid: string;
  startLba: number;
  /** Inclusive. */
  endLba: number;
  sizeSectors: number;
  attributes: bigint;
  label: string;
}

export interface GptTable {
  sectorSize: number;
  /** Size of the device in sectors. */
  totalSectors: number;
  /** The header whose data is used: the primary when valid, else the backup. */
  header: GptHeader;
  primaryOk: boolean;
  backupOk: boolean;
  /** The backup header is not at the last sector (an image written to a larger disk). */
  backupMisplaced: boolean;
  partitions: GptPartition[];
  problems: string[];
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let off = 0;
  while (off < len) {
    const n = readSync(fd, b, off, len - off, pos + off);
    if (n === 0) break;
    off += n;
  }
  return b;
}

function parseHeader(buf: Buffer): Omit<GptHeader, 'entriesCrcOk'> | undefined {
  if (buf.toString('latin1', 0, 8) !== GPT_SIGNATURE) return undefined;
  const size = buf.readUInt32LE(12);
  if (size < 92 || size > buf.length) return undefined;
  const stored = buf.readUInt32LE(16);
  const copy = Buffer.from(buf.subarray(0, size));
  copy.writeUInt32LE(0, 16);
  return {
    currentLba: Number(buf.readBigUInt64LE(24)),
    backupLba: Number(buf.readBigUInt64LE(32)),
    firstUsableLba: Number(buf.readBigUInt64LE(40)),
    lastUsableLba: Number(buf.readBigUInt64LE(48)),
    diskGuid: guidFromBytes(buf.subarray(56, 72)),
    entriesLba: Number(buf.readBigUInt64LE(72)),
    entryCount: buf.readUInt32LE(80),
    entrySize: buf.readUInt32LE(84),
    entriesCrc: buf.readUInt32LE(88),
    headerCrcOk: crc32(copy) === stored,
  };
}

function parseEntries(buf: Buffer, count: number, size: number): GptPartition[] {
  const parts: GptPartition[] = [];
  for (let i = 0; i < count; i++) {
    const e = buf.subarray(i * size, i * size + size);
    const type = guidFromBytes(e.subarray(0, 16));
    if (isZeroGuid(type)) continue;
    const start = Number(e.readBigUInt64LE(32));
    const end = Number(e.readBigUInt64LE(40));
    const nameRaw = e.subarray(56, 128);
    let label = nameRaw.toString('utf16le');
    const nul = label.indexOf('\0');
    if (nul >= 0) label = label.slice(0, nul);
    parts.push({
      number: i + 1,
      typeGuid: type,
      guid: guidFromBytes(e.subarray(16, 32)),
      startLba: start,
      endLba: end,
      sizeSectors: end - start + 1,
      attributes: e.readBigUInt64LE(48),
      label,
    });
  }
  return parts;
}

/** Reads the GPT of an open device or image. undefined when neither header is valid. */
export function readGptFd(fd: number, sectorSize: number, totalSectors: number): GptTable | undefined {
  const problems: string[] = [];
  const tryHeader = (lba: number): GptHeader | undefined => {
    if (lba <= 0 || lba >= totalSectors) return undefined;
    const h = parseHeader(readAt(fd, lba * sectorSize, sectorSize));
    if (!h || !h.headerCrcOk || h.currentLba !== lba) return undefined;
    if (h.entrySize < 128 || h.entryCount > 4096) return undefined;
    const entries = readAt(fd, h.entriesLba * sectorSize, h.entryCount * h.entrySize);
    return { ...h, entriesCrcOk: crc32(entries) === h.entriesCrc };
  };
  const primary = tryHeader(1);
  const primaryOk = !!primary && primary.entriesCrcOk;
  // Where the backup should be, and where the primary says it is (they differ after an image is
  // written to a bigger disk).
  let backup = tryHeader(totalSectors - 1);
  let backupMisplaced = false;
  if (!backup || !backup.entriesCrcOk) {
    const claimed = primary?.backupLba;
    const atClaim = claimed !== undefined && claimed !== totalSectors - 1 ? tryHeader(claimed) : undefined;
    if (atClaim) {
      backup = atClaim;
      backupMisplaced = true;
    } else if (primaryOk && primary!.backupLba !== totalSectors - 1) {
      backupMisplaced = true;
    }
  }
  const backupOk = !!backup && backup.entriesCrcOk;
  const header = primaryOk ? primary! : backupOk ? backup! : undefined;
  if (!header) return undefined;
  if (!primaryOk) problems.push('primary GPT header or entries are damaged; using the backup');
  if (!backupOk) problems.push('backup GPT header or entries are damaged or missing');
  if (backupMisplaced) problems.push('backup GPT header is not at the end of the disk');
  const entries = readAt(fd, header.entriesLba * sectorSize, header.entryCount * header.entrySize);
  return {
    sectorSize,
    totalSectors,
    header,
    primaryOk,
    backupOk,
    backupMisplaced,
    partitions: parseEntries(entries, header.entryCount, header.entrySize),
    problems,
  };
}

export function readGpt(path: string, sectorSize: number, totalSectors: number): GptTable | undefined {
  const fd = openSync(path, 'r');
  try {
    return readGptFd(fd, sectorSize, totalSectors);
  } finally {
    closeSync(fd);
  }
}

export interface GptWriteSpec {
  diskGuid: string;
  partitions: Array<Pick<GptPartition, 'number' | 'typeGuid' | 'guid' | 'startLba' | 'endLba' | 'label'> & { attributes?: bigint }>;
}

/** Layout numbers of a GPT with 128 entries on a disk of totalSectors. */
export function gptGeometry(sectorSize: number, totalSectors: number): { entrySectors: number; firstUsable: number; lastUsable: number } {
  const entrySectors = Math.ceil((DEFAULT_ENTRY_COUNT * ENTRY_SIZE) / sectorSize);
  return { entrySectors, firstUsable: 2 + entrySectors, lastUsable: totalSectors - 2 - entrySectors };
}

function encodeHeader(h: { current: number; backup: number; firstUsable: number; lastUsable: number; diskGuid: string; entriesLba: number; entriesCrc: number }, sectorSize: number): Buffer {
  const b = Buffer.alloc(sectorSize);
  b.write(GPT_SIGNATURE, 0, 'latin1');
  b.writeUInt32LE(0x00010000, 8);
  b.writeUInt32LE(92, 12);
  b.writeBigUInt64LE(BigInt(h.current), 24);
  b.writeBigUInt64LE(BigInt(h.backup), 32);
  b.writeBigUInt64LE(BigInt(h.firstUsable), 40);
  b.writeBigUInt64LE(BigInt(h.lastUsable), 48);
  guidToBytes(h.diskGuid).copy(b, 56);
  b.writeBigUInt64LE(BigInt(h.entriesLba), 72);
  b.writeUInt32LE(DEFAULT_ENTRY_COUNT, 80);
  b.writeUInt32LE(ENTRY_SIZE, 84);
  b.writeUInt32LE(h.entriesCrc, 88);
  b.writeUInt32LE(crc32(b.subarray(0, 92)), 16);
  return b;
}

/**
 * Writes protective MBR, primary and backup GPT to an open file or device. The backup goes first
 * and the primary header last, so an interrupted write leaves the old primary (or a complete new
 * backup) for the next reader.
 */
export function writeGptFd(fd: number, sectorSize: number, totalSectors: number, spec: GptWriteSpec, opts: { keepMbr?: boolean } = {}): void {
  const { entrySectors, firstUsable, lastUsable } = gptGeometry(sectorSize, totalSectors);
  const entries = Buffer.alloc(entrySectors * sectorSize);
  for (const p of spec.partitions) {
    if (p.number < 1 || p.number > DEFAULT_ENTRY_COUNT) throw new Error(`partition number ${p.number} out of range`);
    if (p.startLba < firstUsable || p.endLba > lastUsable || p.endLba < p.startLba) throw new Error(`partition ${p.number} outside the usable area`);
    const e = entries.subarray((p.number - 1) * ENTRY_SIZE, p.number * ENTRY_SIZE);
    guidToBytes(p.typeGuid).copy(e, 0);
    guidToBytes(p.guid).copy(e, 16);
    e.writeBigUInt64LE(BigInt(p.startLba), 32);
    e.writeBigUInt64LE(BigInt(p.endLba), 40);
    e.writeBigUInt64LE(p.attributes ?? 0n, 48);
    const name = Buffer.from(p.label.slice(0, 36), 'utf16le');
    name.copy(e, 56);
  }
  const entriesCrc = crc32(entries.subarray(0, DEFAULT_ENTRY_COUNT * ENTRY_SIZE));
  const backupEntriesLba = totalSectors - 1 - entrySectors;
  const common = { firstUsable, lastUsable, diskGuid: spec.diskGuid, entriesCrc };
  const put = (buf: Buffer, lba: number): void => {
    writeSync(fd, buf, 0, buf.length, lba * sectorSize);
  };
  put(entries, backupEntriesLba);
  put(encodeHeader({ ...common, current: totalSectors - 1, backup: 1, entriesLba: backupEntriesLba }, sectorSize), totalSectors - 1);
  put(entries, 2);
  // Protective MBR: one 0xEE partition covering the disk (capped at 2^32-1 sectors).
  const mbr = Buffer.alloc(sectorSize);
  const pe = mbr.subarray(446, 462);
  pe[1] = 0x00;
  pe[2] = 0x02;
  pe[3] = 0x00;
  pe[4] = 0xee;
  pe[5] = 0xff;
  pe[6] = 0xff;
  pe[7] = 0xff;
  pe.writeUInt32LE(1, 8);
  pe.writeUInt32LE(Math.min(totalSectors - 1, 0xffffffff), 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  // A hybrid MBR (BIOS boot on Flatcar) is kept as it is, as sgdisk keeps it.
  if (!opts.keepMbr) put(mbr, 0);
  put(encodeHeader({ ...common, current: 1, backup: totalSectors - 1, entriesLba: 2 }, sectorSize), 1);
}

/** Zero what sgdisk --zap-all zaps: the MBR, the primary and the backup GPT. */
export function zapGptFd(fd: number, sectorSize: number, totalSectors: number): void {
  const { entrySectors } = gptGeometry(sectorSize, totalSectors);
  const zeros = Buffer.alloc((entrySectors + 2) * sectorSize);
  writeSync(fd, zeros, 0, zeros.length, 0);
  writeSync(fd, zeros, 0, (entrySectors + 1) * sectorSize, (totalSectors - 1 - entrySectors) * sectorSize);
}

/** The non-protective entries of a hybrid MBR in sector 0 (empty for a protective or no MBR). */
export function hybridMbrEntries(fd: number, sectorSize: number): Array<{ start: number; size: number }> {
  const b = Buffer.alloc(sectorSize);
  readSync(fd, b, 0, sectorSize, 0);
  if (b[510] !== 0x55 || b[511] !== 0xaa) return [];
  let ee = false;
  const other: Array<{ start: number; size: number }> = [];
  for (let i = 0; i < 4; i++) {
    const e = b.subarray(446 + i * 16, 462 + i * 16);
    if (e[4] === 0xee) ee = true;
    else if (e[4] !== 0) other.push({ start: e.readUInt32LE(8), size: e.readUInt32LE(12) });
  }
  return ee ? other : [];
}

export function fdSize(fd: number): number {
  return fstatSync(fd).size;
}
