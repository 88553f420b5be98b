// Ignition's partition semantics as a pure function: (the disk as probed, the config's disk entry)
// → the operations that make the table match, or Ignition's error. It follows
// internal/exec/stages/disks/partitions.go step by step:
//  1. wipeTable: start from an empty table;
//  2. partitions with number 0 go last (stable order otherwise);
//  3. "pretend": delete every existing partition the config names, then create every partition that
//     should exist, in order, to learn where start 0 / size 0 land (only for numbered partitions);
//  4. the operator notes' matrix per partition: keep, create, delete, resize or recreate — or fail;
//  5. "commit": deletions first, then creations, in order; that result is the new table.
// sgdisk's placement rules come from SgdiskModel, so the plan carries exact sectors and the apply
// step passes them to sgdisk verbatim.
import type { Disk, Partition } from '../../src/config/types.js';
import { KindlingError, toPointer } from '../../src/errors.js';
import { gptGeometry } from '../../src/disk/gpt.js';
import { canonicalGuid, DEFAULT_TYPE_GUID, sameGuid } from '../../src/disk/guid.js';
import type { DiskInfo } from '../../src/disk/probe.js';
import { SgdiskError, SgdiskModel, type ModelPartition } from './sgdisk-model.js';

export interface TablePartition {
  number: number;
  start: number;
  size: number;
  label: string;
  typeGuid: string;
  /** Absent for a partition sgdisk will give a random GUID. */
  guid?: string;
}

export type PartitionAction = 'keep' | 'create' | 'delete' | 'resize' | 'recreate' | 'absent';

export interface PartitionStep {
  action: PartitionAction;
  pointer: string;
  number: number;
  /** The partition as it will be (create/resize/recreate/keep) or as it was (delete). */
  partition?: TablePartition;
  /** The partition as it was, for resize/recreate/delete. */
  before?: TablePartition;
  why: string;
}

export interface DiskTablePlan {
  device: string;
  wipeTable: boolean;
  sectorSize: number;
  totalSectors: number;
  firstUsable: number;
  lastUsable: number;
  alignment: number;
  steps: PartitionStep[];
  /** The table after the commit, by number. */
  table: TablePartition[];
  /** Does the commit change the on-disk table at all? */
  changes: boolean;
}

interface Spec {
  cfg: Partition;
  pointer: string;
  number: number;
  start?: number;
  size?: number;
}

function fail(pointer: string, message: string): never {
  throw new KindlingError('disk', message, { location: { pointer } });
}

/** The partitions of the probed disk, as the table sgdisk would load. */
export function existingTable(info: DiskInfo): TablePartition[] {
  return (info.gpt?.partitions ?? []).map((p) => ({
    number: p.number,
    start: p.startLba,
    size: p.sizeSectors,
    label: p.label,
    typeGuid: p.typeGuid,
    guid: p.guid,
  }));
}

/** Usable area after Kindling moved the backup header to the true end of the disk (if needed). */
export function usableArea(info: DiskInfo, wipeTable: boolean): { firstUsable: number; lastUsable: number } {
  const geo = gptGeometry(info.sectorSize, info.totalSectors);
  if (!info.gpt || wipeTable) return { firstUsable: geo.firstUsable, lastUsable: geo.lastUsable };
  return { firstUsable: info.gpt.header.firstUsableLba, lastUsable: info.gpt.backupMisplaced ? geo.lastUsable : info.gpt.header.lastUsableLba };
}

export function planDiskTable(disk: Disk, diskPointer: string, info: DiskInfo): DiskTablePlan {
  const wipeTable = disk.wipeTable === true;
  if (!wipeTable && !info.gpt && info.hasMbr) {
    fail(diskPointer, `${disk.device} holds an MBR (dos) partition table, not GPT; refusing to convert it: set wipeTable to replace it`);
  }
  const existing = wipeTable ? [] : existingTable(info);
  const byNumber = new Map(existing.map((p) => [p.number, p]));
  const { firstUsable, lastUsable } = usableArea(info, wipeTable);
  const mkModel = (): SgdiskModel =>
    new SgdiskModel({
      sectorSize: info.sectorSize,
      totalSectors: info.totalSectors,
      firstUsable,
      lastUsable,
      partitions: existing.map((p) => ({ number: p.number, start: p.start, end: p.start + p.size - 1 })),
    });

  const perMiB = (1024 * 1024) / info.sectorSize;
  const indexed = (disk.partitions ?? []).map((cfg, i) => ({ cfg, i }));
  // Ignition: sort.Stable so that number 0 partitions are processed last.
  const ordered = [...indexed.filter((x) => (x.cfg.number ?? 0) !== 0), ...indexed.filter((x) => (x.cfg.number ?? 0) === 0)];
  const specs: Spec[] = ordered.map(({ cfg, i }) => ({
    cfg,
    pointer: `${diskPointer}/partitions/${i}`,
    number: cfg.number ?? 0,
    start: cfg.startMiB === undefined ? undefined : cfg.startMiB * perMiB,
    size: cfg.sizeMiB === undefined ? undefined : cfg.sizeMiB * perMiB,
  }));
  const shouldExist = (s: Spec): boolean => s.cfg.shouldExist !== false;
  const wipe = (s: Spec): boolean => s.cfg.wipePartitionEntry === true;

  // 3. pretend
  const pretend = mkModel();
  for (const s of specs) if (byNumber.has(s.number)) pretend.delete(s.number);
  for (const s of specs) {
    const old = byNumber.get(s.number);
    let start = s.start;
    let size = s.size;
    if (old && !wipe(s)) {
      start ??= old.start;
      size ??= old.size;
    }
    if (!shouldExist(s)) continue;
    try {
      pretend.create(s.number, start, size);
    } catch (e) {
      if (e instanceof SgdiskError) fail(s.pointer, `partition ${s.number === 0 ? '(next free number)' : s.number} on ${disk.device} does not fit: ${e.message}`);
      throw e;
    }
  }
  for (const s of specs) {
    if (s.number === 0 || !((s.start === 0) || (s.size === 0))) continue;
    const real = pretend.get(s.number);
    if (!real) continue;
    if (s.start !== undefined) s.start = real.start;
    if (s.size !== undefined) s.size = real.end - real.start + 1;
  }

  // 4. the matrix
  const steps: PartitionStep[] = [];
  const deletions: number[] = [];
  const creations: Array<{ spec: Spec; label?: string; typeGuid?: string; guid?: string; start?: number; size?: number; step: PartitionStep }> = [];
  for (const s of specs) {
    const old = byNumber.get(s.number);
    const exists = !!old;
    const should = shouldExist(s);
    const mismatch = old ? matchError(old, s) : undefined;
    const label = s.cfg.label;
    const typeGuid = s.cfg.typeGuid ? canonicalGuid(s.cfg.typeGuid) : undefined;
    const guid = s.cfg.guid ? canonicalGuid(s.cfg.guid) : undefined;
    if (!exists && !should) {
      steps.push({ action: 'absent', pointer: s.pointer, number: s.number, why: `partition ${s.number} should not exist and does not` });
    } else if (!exists && should) {
      const step: PartitionStep = { action: 'create', pointer: s.pointer, number: s.number, why: 'no partition with this number exists' };
      steps.push(step);
      creations.push({ spec: s, label, typeGuid, guid, start: s.start, size: s.size, step });
    } else if (exists && !should && !wipe(s)) {
      fail(s.pointer, `partition ${s.number} exists but is specified as nonexistent and wipePartitionEntry is false`);
    } else if (exists && !should) {
      deletions.push(s.number);
      steps.push({ action: 'delete', pointer: s.pointer, number: s.number, before: old, why: 'shouldExist is false and wipePartitionEntry allows deleting it' });
    } else if (!mismatch) {
      steps.push({ action: 'keep', pointer: s.pointer, number: s.number, partition: old, why: 'the existing partition matches' });
    } else if (!wipe(s)) {
      if (s.cfg.resize === true && matchErrorCommon(old!, s) === undefined) {
        deletions.push(s.number);
        const step: PartitionStep = { action: 'resize', pointer: s.pointer, number: s.number, before: old, why: `resize is true and only the size differs (${mismatch})` };
        steps.push(step);
        creations.push({ spec: s, label: old!.label, typeGuid: old!.typeGuid, guid: old!.guid, start: old!.start, size: s.size, step });
      } else {
        fail(s.pointer, `partition ${s.number} on ${disk.device} didn't match: ${mismatch}; set wipePartitionEntry to let it be recreated${s.cfg.resize ? '' : ' (or resize to change only its size)'}`);
      }
    } else {
      deletions.push(s.number);
      const step: PartitionStep = { action: 'recreate', pointer: s.pointer, number: s.number, before: old, why: `it did not match (${mismatch}) and wipePartitionEntry allows recreating it` };
      steps.push(step);
      creations.push({ spec: s, label, typeGuid, guid, start: s.start, size: s.size, step });
    }
  }

  // 5. commit
  const commit = mkModel();
  for (const n of deletions) commit.delete(n);
  const table = new Map<number, TablePartition>(existing.filter((p) => !deletions.includes(p.number)).map((p) => [p.number, p]));
  for (const c of creations) {
    let created: ModelPartition;
    try {
      created = commit.create(c.spec.number, c.start, c.size);
    } catch (e) {
      if (e instanceof SgdiskError) fail(c.spec.pointer, `partition ${c.spec.number || '(next free number)'} on ${disk.device} cannot be created: ${e.message}`);
      throw e;
    }
    const p: TablePartition = {
      number: created.number,
      start: created.start,
      size: created.end - created.start + 1,
      label: c.label ?? '',
      typeGuid: c.typeGuid ?? DEFAULT_TYPE_GUID,
      ...(c.guid ? { guid: c.guid } : {}),
    };
    c.step.number = created.number;
    c.step.partition = p;
    table.set(p.number, p);
  }
  const changes = wipeTable || deletions.length > 0 || creations.length > 0;
  return {
    device: disk.device,
    wipeTable,
    sectorSize: info.sectorSize,
    totalSectors: info.totalSectors,
    firstUsable,
    lastUsable,
    alignment: commit.alignment,
    steps,
    table: [...table.values()].sort((a, b) => a.number - b.number),
    changes,
  };
}

function matchErrorCommon(old: TablePartition, s: Spec): string | undefined {
  if (s.start !== undefined && s.start !== old.start) return `starting sector did not match (specified ${s.start}, got ${old.start})`;
  if (s.cfg.guid && !sameGuid(s.cfg.guid, old.guid ?? '')) return `GUID did not match (specified "${s.cfg.guid}", got "${old.guid}")`;
  if (s.cfg.typeGuid && !sameGuid(s.cfg.typeGuid, old.typeGuid)) return `type GUID did not match (specified "${s.cfg.typeGuid}", got "${old.typeGuid}")`;
  if (s.cfg.label !== undefined && s.cfg.label !== old.label) return `label did not match (specified "${s.cfg.label}", got "${old.label}")`;
  return undefined;
}

function matchError(old: TablePartition, s: Spec): string | undefined {
  const common = matchErrorCommon(old, s);
  if (common) return common;
  if (s.size !== undefined && s.size !== old.size) return `size did not match (specified ${s.size}, got ${old.size})`;
  return undefined;
}

/** Pointer of a disk entry. */
export function diskPointer(index: number): string {
  return toPointer(['storage', 'disks', index]);
}
