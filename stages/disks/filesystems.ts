// Ignition's filesystem rules (internal/exec/stages/disks/filesystems.go):
//  - no format: nothing to do;
//  - wipeFilesystem false: an existing filesystem of the same format whose label and UUID match
//    (when the config gives them) is reused untouched; any other existing filesystem is an error;
//    no filesystem means create; an "ambivalent" probe (several signatures) is judged by the first
//    signature libblkid finds, as Ignition's second, ambivalence-allowing probe does (and means
//    create only when no signature could be read);
//  - otherwise: wipefs -a, then mkfs with the config's options first, then the force flag, UUID and
//    label;
//  - UUIDs compare case-insensitively; vfat ones without the dash after 4 digits.
import { closeSync, openSync, readSync } from 'node:fs';
import type { Filesystem } from '../../src/config/types.js';
import type { FsInfo } from '../../src/disk/blkid.js';

export const SUPPORTED_FORMATS = ['ext4', 'btrfs', 'xfs', 'vfat', 'swap', 'none'] as const;

export function canonicalFsUuid(format: string, uuid: string): string {
  const u = uuid.toLowerCase();
  // FAT has a 32-bit volume id: blkid shows A1B2-C3D4, mkfs.vfat wants it without the dash.
  return format === 'vfat' && u.length >= 5 && u[4] === '-' ? u.slice(0, 4) + u.slice(5) : u;
}

export type FsDecision = { action: 'reuse'; why: string } | { action: 'create'; why: string } | { action: 'error'; why: string };

/** The Ignition rule, given what is on the device now. */
export function decideFilesystem(fs: Filesystem, found: FsInfo): FsDecision {
  const format = fs.format!;
  if (fs.wipeFilesystem === true) return { action: 'create', why: 'wipeFilesystem is true' };
  if (found.ambivalent && found.type === '') return { action: 'create', why: 'several signatures were found (ambivalent) and none could be read; treated as no filesystem' };
  if (
    found.type === format &&
    (fs.label === undefined || found.label === fs.label) &&
    (fs.uuid === undefined || canonicalFsUuid(found.type, found.uuid) === canonicalFsUuid(format, fs.uuid))
  ) {
    return { action: 'reuse', why: `an existing ${format} filesystem matches${found.ambivalent ? ' (beside other, stale signatures)' : ''}; wipeFilesystem is false` };
  }
  if (found.type !== '') {
    return {
      action: 'error',
      why: `the device holds ${found.type} (label "${found.label}", UUID ${found.uuid || 'none'}) which is not the ${format}${fs.label !== undefined ? ` labelled "${fs.label}"` : ''}${fs.uuid !== undefined ? ` with UUID ${fs.uuid}` : ''} the config asks for, and wipeFilesystem is false`,
    };
  }
  return { action: 'create', why: 'no filesystem found' };
}

/** The mkfs command line Ignition runs for this entry (without the device), or none for "none". */
export function mkfsCommand(fs: Filesystem): { tool: string; args: string[] } | undefined {
  const args = [...(fs.options ?? [])];
  const f = fs.format!;
  switch (f) {
    case 'btrfs':
      args.push('--force');
      if (fs.uuid !== undefined) args.push('-U', canonicalFsUuid(f, fs.uuid));
      if (fs.label !== undefined) args.push('-L', fs.label);
      return { tool: 'mkfs.btrfs', args };
    case 'ext4':
      args.push('-F');
      if (fs.uuid !== undefined) args.push('-U', canonicalFsUuid(f, fs.uuid));
      if (fs.label !== undefined) args.push('-L', fs.label);
      return { tool: 'mkfs.ext4', args };
    case 'xfs':
      args.push('-f');
      if (fs.uuid !== undefined) args.push('-m', `uuid=${canonicalFsUuid(f, fs.uuid)}`);
      if (fs.label !== undefined) args.push('-L', fs.label);
      return { tool: 'mkfs.xfs', args };
    case 'swap':
      args.push('-f');
      if (fs.uuid !== undefined) args.push('-U', canonicalFsUuid(f, fs.uuid));
      if (fs.label !== undefined) args.push('-L', fs.label);
      return { tool: 'mkswap', args };
    case 'vfat':
      // mkfs.vfat has no force flag; it always overwrites.
      if (fs.uuid !== undefined) args.push('-i', canonicalFsUuid(f, fs.uuid));
      if (fs.label !== undefined) args.push('-n', fs.label);
      return { tool: 'mkfs.vfat', args };
    default:
      return undefined;
  }
}

/**
 * Bytes a filesystem spans, read from its superblock (ext2/3/4, xfs, btrfs); undefined for other
 * formats. Used to see whether ROOT's filesystem still has to grow into its partition — a rerun
 * after an interrupted first boot finds the partition grown but not the filesystem.
 */
export function filesystemBytes(device: string, offset = 0): number | undefined {
  const fd = openSync(device, 'r');
  try {
    const rd = (pos: number, len: number): Buffer => {
      const b = Buffer.alloc(len);
      readSync(fd, b, 0, len, offset + pos);
      return b;
    };
    const ext = rd(1024, 1024);
    if (ext.readUInt16LE(0x38) === 0xef53) {
      const blockSize = 1024 << ext.readUInt32LE(24);
      const incompat = ext.readUInt32LE(0x60);
      const hi = incompat & 0x80 ? ext.readUInt32LE(0x150) : 0;
      return (hi * 2 ** 32 + ext.readUInt32LE(4)) * blockSize;
    }
    const xfs = rd(0, 512);
    if (xfs.toString('latin1', 0, 4) === 'XFSB') {
      return Number(xfs.readBigUInt64BE(8)) * xfs.readUInt32BE(4);
    }
    const btrfs = rd(0x10000, 4096);
    if (btrfs.toString('latin1', 0x40, 0x48) === '_BHRfS_M') {
      return Number(btrfs.readBigUInt64LE(0x70));
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export const GROWABLE_FORMATS = ['ext4', 'ext3', 'ext2', 'xfs', 'btrfs'];
