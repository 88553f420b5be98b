// Read-only facts about a disk (block device or image file): size, sector size, GPT. Everything
// comes from sysfs and our own GPT reader, so probing costs no tool runs.
import { existsSync, readFileSync, realpathSync, statSync, openSync, closeSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { readGptFd, type GptPartition, type GptTable } from './gpt.js';

export interface DiskInfo {
  /** The path the config (or caller) named. */
  device: string;
  /** Symlinks resolved. */
  realPath: string;
  isBlockDevice: boolean;
  sectorSize: number;
  totalSectors: number;
  gpt?: GptTable;
  /** An MBR with real partitions (not a protective MBR) and no GPT. */
  hasMbr: boolean;
}

function readSys(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The kernel name of a block device path ("/dev/disk/by-partlabel/ROOT" → "loop3p9"). */
export function kernelName(device: string): string {
  return basename(realpathSync(device));
}

export function blockSizeBytes(device: string): { bytes: number; sectorSize: number } {
  const name = kernelName(device);
  const sectors = readSys(`/sys/class/block/${name}/size`);
  if (sectors === undefined) throw new Error(`${device} is not a block device known to sysfs`);
  const parent = isPartitionName(name) ? parentDiskName(name) : name;
  const ss = Number(readSys(`/sys/class/block/${parent}/queue/logical_block_size`) ?? '512');
  return { bytes: Number(sectors) * 512, sectorSize: ss };
}

export function isPartitionName(name: string): boolean {
  return existsSync(`/sys/class/block/${name}/partition`);
}

/** "loop3p9" → "loop3" (sysfs: a partition's directory sits inside its disk's). */
export function parentDiskName(name: string): string {
  const real = realpathSync(`/sys/class/block/${name}`);
  return basename(real.slice(0, real.lastIndexOf('/')));
}

export function partitionNumberOf(name: string): number | undefined {
  const n = readSys(`/sys/class/block/${name}/partition`);
  return n === undefined ? undefined : Number(n);
}

/** The device node the kernel gives partition N of a disk: sda→sda9, loop3→loop3p9, nvme0n1→nvme0n1p9. */
export function partitionDevicePath(disk: string, number: number): string {
  const real = disk.startsWith('/dev/') && existsSync(disk) ? realpathSync(disk) : disk;
  return /\d$/.test(real) ? `${real}p${number}` : `${real}${number}`;
}

function hasRealMbr(fd: number, sectorSize: number): boolean {
  const b = Buffer.alloc(sectorSize);
  readSync(fd, b, 0, sectorSize, 0);
  if (b[510] !== 0x55 || b[511] !== 0xaa) return false;
  for (let i = 0; i < 4; i++) {
    const type = b[446 + i * 16 + 4];
    if (type !== 0 && type !== 0xee) return true;
  }
  return false;
}

export function probeDisk(device: string): DiskInfo {
  const realPath = realpathSync(device);
  const st = statSync(realPath);
  let sectorSize = 512;
  let bytes: number;
  if (st.isBlockDevice()) {
    const b = blockSizeBytes(realPath);
    bytes = b.bytes;
    sectorSize = b.sectorSize;
  } else {
    bytes = st.size;
  }
  const totalSectors = Math.floor(bytes / sectorSize);
  const fd = openSync(realPath, 'r');
  try {
    const gpt = totalSectors > 67 ? readGptFd(fd, sectorSize, totalSectors) : undefined;
    return { device, realPath, isBlockDevice: st.isBlockDevice(), sectorSize, totalSectors, gpt, hasMbr: !gpt && hasRealMbr(fd, sectorSize) };
  } finally {
    closeSync(fd);
  }
}

export type { GptPartition };
