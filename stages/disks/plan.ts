// The disks stage's plan: probe every disk and device the config names (read-only), decide every
// operation, and refuse — before anything is written — whatever Ignition would refuse or whatever
// would destroy data the config did not clearly give up. The result is plain data; apply.ts
// executes it and nothing else.
import { existsSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import type { Config, Filesystem, Luks, Raid } from '../../src/config/types.js';
import { KindlingError, toPointer } from '../../src/errors.js';
import type { PlannedOp, Plan, StageContext } from '../types.js';
import { probeDisk, partitionDevicePath, isPartitionName, parentDiskName, partitionNumberOf, type DiskInfo } from '../../src/disk/probe.js';
import { probeFilesystem, NO_FS, type FsInfo } from '../../src/disk/blkid.js';
import { parseByPath, resolveExisting, udevSettle } from '../../src/disk/resolve.js';
import { sameGuid, FLATCAR_RESIZE_TYPE } from '../../src/disk/guid.js';
import { gptGeometry } from '../../src/disk/gpt.js';
import { imaginedFlatcarDisk, FLATCAR_IMAGE_BYTES } from '../../src/disk/flatcar-layout.js';
import { planDiskTable, type DiskTablePlan, type PartitionStep, type TablePartition } from './plan-partitions.js';
import { decideFilesystem, mkfsCommand, SUPPORTED_FORMATS, filesystemBytes, GROWABLE_FORMATS } from './filesystems.js';
import { raidDevicePath, memberBelongsTo } from './raid.js';
import { luksDevicePath, clevisConfig } from './luks.js';
import { readJournal, type Journal } from './journal.js';
import { disksOptions, type DisksOptions } from './options.js';
import { diskUsage, deviceUsage, inUse, describeUsage, type DiskUsage, type Usage } from '../../src/disk/inuse.js';

export interface DisksPlan extends Plan {
  stage: 'disks';
}

/** A disk the plan knows: named by the config (or the root disk), probed or imagined. */
interface KnownDisk {
  /** As the config (or option) names it. */
  name: string;
  /** The block device (or image file) apply works on; for imagined disks, the name. */
  actual: string;
  /** What to read for probing (device or image); undefined for imagined disks. */
  readPath?: string;
  imagined: boolean;
  info: DiskInfo;
  fsHints?: Map<number, FsInfo>;
  table?: DiskTablePlan;
  /** Partitions as they will be after this stage (table.table, or the probed one). */
  final: TablePartition[];
  pointer: string;
}

type Target =
  | { kind: 'partition'; disk: KnownDisk; number: number; device: string }
  | { kind: 'device'; device: string }
  /** A dry-run without disks names a device we must not open: assumed empty. */
  | { kind: 'imagined'; device: string }
  | { kind: 'raid'; name: string; device: string }
  | { kind: 'luks'; name: string; device: string };

const BOOT_DISK_NAMES = ['/dev/vda', '/dev/sda', '/dev/xvda', '/dev/nvme0n1', '/dev/disk/by-id/coreos-boot-disk'];

function refuse(pointer: string, message: string): never {
  throw new KindlingError('disk', message, { location: { pointer } });
}

// Operations that only confirm the disk is already as the config asks: `kindling plan` shows them
// as unchanged, so a provisioned disk plans as "nothing to do".
const NOOP_KINDS = new Set(['partition.keep', 'partition.absent', 'filesystem.reuse']);

function op(kind: string, pointer: string, summary: string, details: Record<string, unknown>): PlannedOp {
  const noop = NOOP_KINDS.has(kind) || (kind === 'partition.commit' && details.write === false && !details.relocate);
  return noop ? { kind, pointer, summary, details, noop } : { kind, pointer, summary, details };
}

export async function planDisks(ctx: StageContext): Promise<DisksPlan> {
  const o = disksOptions(ctx);
  const config: Config = ctx.config;
  const storage = config.storage ?? {};
  const ops: PlannedOp[] = [];
  const warnings: string[] = [];
  const journal = readJournal(o.stateDir);

  // ---- disks: probe ----------------------------------------------------------------------------
  const known: KnownDisk[] = [];
  const findKnown = (name: string): KnownDisk | undefined => known.find((k) => k.name === name || k.actual === name);
  const addDisk = async (name: string, pointer: string): Promise<KnownDisk> => {
    const have = findKnown(name);
    if (have) return have;
    const k = await probeKnownDisk(name, pointer, o, warnings);
    known.push(k);
    return k;
  };
  for (const [i, d] of (storage.disks ?? []).entries()) {
    const pointer = toPointer(['storage', 'disks', i]);
    if (known.some((k) => k.name === d.device)) refuse(pointer, `disk ${d.device} is listed twice`);
    await addDisk(d.device, pointer);
  }
  for (const a of o.diskArgs) await addDisk(a.device, '');
  const rootDisk = await findRootDisk(o, known, addDisk);

  // In use (mounted, active swap, held by device-mapper/md): Ignition refuses to operate on a
  // directly active disk, to wipe a disk with an active partition and to modify an active
  // partition; Kindling refuses the same here, in planning, and also refuses to wipe a filesystem,
  // format LUKS or build RAID over an active device.
  const usage = new Map<KnownDisk, DiskUsage | undefined>();
  const usageOfDisk = (k: KnownDisk): DiskUsage | undefined => {
    if (k.imagined || !k.info.isBlockDevice) return undefined;
    if (!usage.has(k)) usage.set(k, diskUsage(k.actual));
    return usage.get(k);
  };
  const activePartition = (k: KnownDisk, n: number): Usage | undefined => {
    const u = usageOfDisk(k)?.partitions.get(n);
    return inUse(u) ? u : undefined;
  };
  const refuseIfActive = (t: Target, pointer: string, what: string): void => {
    const u = t.kind === 'partition' ? activePartition(t.disk, t.number) : t.kind === 'device' ? deviceUsage(t.device) : undefined;
    if (u && inUse(u)) refuse(pointer, `refusing to ${what} on active device ${t.device}: ${describeUsage(u)}`);
  };

  // ---- partitions ------------------------------------------------------------------------------
  for (const [i, d] of (storage.disks ?? []).entries()) {
    const k = findKnown(d.device)!;
    const pointer = toPointer(['storage', 'disks', i]);
    if (k.info.gpt?.backupMisplaced && d.wipeTable !== true) {
      ops.push(op('disk.relocate-backup-gpt', pointer, `move the backup GPT of ${d.device} to the end of the disk (${k.info.totalSectors} sectors)`, { device: k.actual }));
    }
    const use = usageOfDisk(k);
    if (use) {
      if (inUse(use.disk)) refuse(pointer, `refusing to operate on directly active disk ${d.device}: ${describeUsage(use.disk)}`);
      const active = [...use.partitions.values()].filter(inUse);
      if (d.wipeTable === true && active.length) refuse(toPointer(['storage', 'disks', i, 'wipeTable']), `refusing to wipe active disk ${d.device}: ${active.map(describeUsage).join('; ')}`);
    }
    if (d.wipeTable === true) ops.push(op('disk.wipe-table', toPointer(['storage', 'disks', i, 'wipeTable']), `wipe the partition table of ${d.device}`, { device: k.actual }));
    k.table = planDiskTable(d, pointer, k.info);
    k.final = k.table.table;
  }
  // Flatcar's first boot: ROOT grows into the free space after it, unless the config speaks about it.
  let growRootStep = rootDisk && o.growRoot ? planGrowRoot(rootDisk, config) : undefined;
  // ROOT in use (mounted on a running system): not grown, and not refused either (the config did not ask).
  const rootNumber = rootDisk?.final.find(isFlatcarRoot)?.number;
  const rootActive = rootDisk && rootNumber !== undefined ? activePartition(rootDisk, rootNumber) : undefined;
  if (rootActive) {
    if (growRootStep) warnings.push(`Flatcar's ROOT is not grown: ${describeUsage(rootActive)}`);
    growRootStep = undefined;
  }
  if (rootDisk && growRootStep && !rootDisk.table) {
    if (rootDisk.info.gpt?.backupMisplaced) ops.push(op('disk.relocate-backup-gpt', '', `move the backup GPT of ${rootDisk.name} to the end of the disk (${rootDisk.info.totalSectors} sectors)`, { device: rootDisk.actual }));
  }
  for (const k of known) {
    if (!k.table && k !== rootDisk) continue;
    const steps: PartitionStep[] = [...(k.table?.steps ?? [])];
    if (k === rootDisk && growRootStep) steps.push(growRootStep);
    for (const s of steps) {
      if (!['create', 'delete', 'resize', 'recreate'].includes(s.action)) continue;
      const u = activePartition(k, s.number);
      if (u) refuse(s.pointer, `refusing to modify active partition ${s.number} on ${k.name}: ${describeUsage(u)}`);
    }
    // Data safety beyond Ignition: a resize that shrinks a partition holding a filesystem is refused.
    for (const s of steps) {
      if (s.action !== 'resize' || !s.before || !s.partition || s.partition.size >= s.before.size) continue;
      const fs = await probeRange(k, s.before);
      if (fs.type) refuse(s.pointer, `partition ${s.number} on ${k.name} holds a ${fs.type} filesystem and would shrink from ${s.before.size} to ${s.partition.size} sectors; Kindling refuses to cut a filesystem short: set wipePartitionEntry to give its data up`);
    }
    for (const s of steps) ops.push(partitionOp(k, s));
    const relocate = !!k.info.gpt?.backupMisplaced && !k.table?.wipeTable && (!!k.table || !!growRootStep);
    const write = (k.table?.changes ?? false) || !!(k === rootDisk && growRootStep) || relocate;
    const final = k === rootDisk && growRootStep ? applyStep(k.final, growRootStep) : k.final;
    k.final = final;
    const deletes = steps.filter((s) => ['delete', 'resize', 'recreate'].includes(s.action)).map((s) => s.number);
    const creates = steps.filter((s) => ['create', 'resize', 'recreate'].includes(s.action)).map((s) => s.partition!);
    ops.push(
      op('partition.commit', k.pointer, write ? `write the new partition table of ${k.name} (${deletes.length} removed, ${creates.length} created) and tell the kernel` : `partition table of ${k.name} unchanged; make sure the kernel knows it`, {
        device: k.actual,
        write,
        wipe: k.table?.wipeTable ?? false,
        relocate,
        sgdiskArgs: write ? sgdiskArgs(deletes, creates) : [],
        expect: final.map((p) => ({ ...p })),
      }),
    );
  }

  // ---- RAID, LUKS, filesystems: resolve devices against the planned tables ---------------------
  const raids = new Map<string, Raid>((storage.raid ?? []).map((r) => [r.name, r]));
  const lukses = new Map<string, Luks>((storage.luks ?? []).map((l) => [l.name, l]));
  const resolve = async (path: string, pointer: string): Promise<Target> => {
    const t = await resolveTarget(path, known, raids, lukses, o);
    if (!t) refuse(pointer, `device ${path} does not exist and no partition, RAID array or LUKS volume in the config creates it`);
    return t;
  };

  for (const [i, md] of (storage.raid ?? []).entries()) {
    const pointer = toPointer(['storage', 'raid', i]);
    const devices: string[] = [];
    const targets: Target[] = [];
    const members: FsInfo[] = [];
    for (const [j, dev] of (md.devices ?? []).entries()) {
      const t = await resolve(dev, `${pointer}/devices/${j}`);
      targets.push(t);
      devices.push(t.device);
      members.push(await probeTarget(t, known));
    }
    const device = raidDevicePath(md.name);
    const ours = members.length > 0 && members.every((m) => m.type === 'linux_raid_member' && memberBelongsTo(m.label, md.name) && m.uuid === members[0]!.uuid);
    if (ours) {
      ops.push(op('raid.assemble', pointer, `assemble (or keep running) RAID ${md.name} from ${devices.join(', ')}: its members already carry its metadata`, { name: md.name, device, devices }));
    } else {
      for (const [j, t] of targets.entries()) refuseIfActive(t, `${pointer}/devices/${j}`, `build RAID ${md.name}`);
      for (const [j, m] of members.entries()) {
        if (m.type && m.type !== 'linux_raid_member') warnings.push(`${md.devices![j]} holds ${m.type}; creating RAID ${md.name} overwrites it`);
      }
      ops.push(op('raid.create', pointer, `create RAID ${md.level} ${md.name} from ${devices.join(', ')}${md.spares ? ` (${md.spares} spare)` : ''}`, { name: md.name, device, level: md.level, devices, spares: md.spares ?? 0, options: md.options ?? [] }));
    }
  }

  for (const [i, l] of (storage.luks ?? []).entries()) {
    const pointer = toPointer(['storage', 'luks', i]);
    if (!l.device) refuse(pointer, `LUKS volume ${l.name} has no device`);
    const t = await resolve(l.device, `${pointer}/device`);
    const found = await probeTarget(t, known);
    const clevis = clevisConfig(l);
    if (clevis && !o.dryRun && !toolExists('clevis')) refuse(`${pointer}/clevis`, `LUKS volume ${l.name} asks for clevis (${clevis.pin}) but the clevis tool is not installed in this initrd`);
    const jr = journal[t.device];
    let action: 'format' | 'reuse';
    let why: string;
    if (jr?.op === 'luks.format') {
      action = 'format';
      why = 'an earlier run was interrupted while formatting it';
    } else if (l.wipeVolume === true) {
      action = 'format';
      why = 'wipeVolume is true';
    } else if (found.type === 'crypto_LUKS' && (!l.uuid || found.uuid.toLowerCase() === l.uuid.toLowerCase()) && (!l.label || found.label === l.label)) {
      action = 'reuse';
      why = 'an existing LUKS volume matches; wipeVolume is false';
    } else if (found.type !== '' || found.ambivalent) {
      refuse(`${pointer}/wipeVolume`, `LUKS volume ${l.name}: ${l.device} holds ${found.type || 'several signatures'}${found.label ? ` labelled "${found.label}"` : ''} and wipeVolume is false; Kindling does not format over it`);
    } else {
      action = 'format';
      why = 'no signature found';
    }
    if (action === 'format') refuseIfActive(t, `${pointer}/device`, `format LUKS volume ${l.name}`);
    ops.push(
      op(action === 'format' ? 'luks.format' : 'luks.open', pointer, action === 'format' ? `format ${l.device} as LUKS2 ${l.name} and open it as ${luksDevicePath(l.name)} (${why})` : `open the existing LUKS volume on ${l.device} as ${luksDevicePath(l.name)} (${why})`, {
        name: l.name,
        device: t.device,
        mapper: luksDevicePath(l.name),
        label: l.label,
        uuid: l.uuid,
        options: l.options ?? [],
        openOptions: l.openOptions ?? [],
        discard: l.discard === true,
        keyFileSource: l.keyFile?.source ? 'config' : 'generated',
        clevis: clevis ? clevis.pin : undefined,
      }),
    );
  }

  for (const [i, fs] of (storage.filesystems ?? []).entries()) {
    const pointer = toPointer(['storage', 'filesystems', i]);
    if (!fs.format) continue; // Ignition: no format, nothing for the disks stage
    if (!(SUPPORTED_FORMATS as readonly string[]).includes(fs.format)) refuse(`${pointer}/format`, `unsupported filesystem format "${fs.format}"`);
    const t = await resolve(fs.device, `${pointer}/device`);
    const fop = await planFilesystem(fs, pointer, t, known, journal);
    if (fop.kind === 'filesystem.create') refuseIfActive(t, `${pointer}/device`, `create a ${fs.format} filesystem (wiping what is there)`);
    ops.push(fop);
  }

  // ---- grow ROOT's filesystem -----------------------------------------------------------------
  if (rootDisk && o.growRoot && !rootActive) {
    // Grown by Flatcar's rule, or by the config (resize: true) — either way its filesystem follows.
    const rootNow = rootDisk.final.find(isFlatcarRoot);
    const grew = growRootStep ?? rootDisk.table?.steps.find((st) => st.action === 'resize' && st.number === rootNow?.number && st.before && st.partition && st.partition.size > st.before.size);
    const g = await planGrowFilesystem(rootDisk, grew, config);
    if (g) ops.push(g);
  }

  return { stage: 'disks', ops, warnings };
}

/**
 * Devices may still be appearing (the initrd starts before every disk is probed): like Ignition,
 * wait for a device the config names — up to options.deviceTimeoutMs — before calling it missing.
 */
async function waitAndResolve(path: string, o: DisksOptions): Promise<string | undefined> {
  const deadline = Date.now() + o.deviceTimeoutMs;
  let settled = false;
  for (;;) {
    const real = await resolveExisting(path, o.candidateDisks);
    if (real || Date.now() >= deadline) return real;
    if (!settled) {
      settled = true;
      await udevSettle();
      continue;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function toolExists(tool: string): boolean {
  const path = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  return path.split(':').some((d) => d && existsSync(`${d}/${tool}`));
}

async function probeKnownDisk(name: string, pointer: string, o: DisksOptions, warnings: string[]): Promise<KnownDisk> {
  const arg = o.diskArgs.find((a) => a.device === name);
  const mapped = o.deviceMap[name];
  if (arg?.image && !mapped) {
    const info = probeDisk(arg.image);
    return { name, actual: arg.image, readPath: arg.image, imagined: false, info, final: tableOf(info), pointer };
  }
  if ((arg?.sizeBytes !== undefined || o.assumeFlatcarLayout) && !mapped) {
    const size = arg?.sizeBytes ?? FLATCAR_IMAGE_BYTES;
    if (arg?.sizeBytes === undefined && !BOOT_DISK_NAMES.includes(name)) {
      warnings.push(`${name}: no --disk given; assuming an empty ${size / 1024 ** 3} GiB disk`);
      const info: DiskInfo = { device: name, realPath: name, isBlockDevice: true, sectorSize: 512, totalSectors: size / 512, hasMbr: false };
      return { name, actual: name, imagined: true, info, final: [], pointer };
    }
    warnings.push(`${name}: assuming Flatcar's stock disk layout on a ${(size / 1024 ** 3).toFixed(1)} GiB disk`);
    const { info, fs } = imaginedFlatcarDisk(name, size);
    return { name, actual: name, imagined: true, info, fsHints: fs, final: tableOf(info), pointer };
  }
  const real = await waitAndResolve(mapped ?? name, o);
  if (!real) refuse(pointer, `disk ${name} does not exist`);
  const info = probeDisk(real);
  if (info.isBlockDevice && isPartitionName(basename(real))) refuse(pointer, `${name} is a partition (${real}), not a whole disk`);
  return { name, actual: real, readPath: real, imagined: false, info, final: tableOf(info), pointer };
}

function tableOf(info: DiskInfo): TablePartition[] {
  return (info.gpt?.partitions ?? []).map((p) => ({ number: p.number, start: p.startLba, size: p.sizeSectors, label: p.label, typeGuid: p.typeGuid, guid: p.guid }));
}

async function findRootDisk(o: DisksOptions, known: KnownDisk[], addDisk: (n: string, p: string) => Promise<KnownDisk>): Promise<KnownDisk | undefined> {
  if (!o.growRoot) return undefined;
  if (o.rootDisk) return addDisk(o.rootDisk, '');
  // Among the disks already known (config, --disk), the one holding Flatcar's ROOT.
  const withRoot = known.find((k) => k.final.some(isFlatcarRoot));
  if (withRoot) return withRoot;
  // In the initrd: the disk behind by-partlabel/ROOT.
  if (o.inInitrd && !o.dryRun) {
    const dev = await resolveExisting('/dev/disk/by-partlabel/ROOT', o.candidateDisks);
    if (dev && isPartitionName(basename(dev))) return addDisk(`/dev/${parentDiskName(basename(dev))}`, '');
  }
  return undefined;
}

function isFlatcarRoot(p: TablePartition): boolean {
  return p.label === 'ROOT' && sameGuid(p.typeGuid, FLATCAR_RESIZE_TYPE);
}

/** The config speaks about this partition (by number, or by label with number 0). */
function configMentions(config: Config, disk: KnownDisk, p: TablePartition): boolean {
  for (const d of config.storage?.disks ?? []) {
    if (d.device !== disk.name && d.device !== disk.actual) continue;
    if (d.wipeTable) return true;
    if ((d.partitions ?? []).some((c) => c.number === p.number || (c.label !== undefined && c.label === p.label))) return true;
  }
  return false;
}

function planGrowRoot(disk: KnownDisk, config: Config): PartitionStep | undefined {
  const root = disk.final.find(isFlatcarRoot);
  if (!root || configMentions(config, disk, root)) return undefined;
  const end = root.start + root.size;
  const lastUsable = disk.table?.lastUsable ?? (disk.info.gpt?.backupMisplaced ? gptGeometry(disk.info.sectorSize, disk.info.totalSectors).lastUsable : (disk.info.gpt?.header.lastUsableLba ?? 0));
  const next = Math.min(lastUsable + 1, ...disk.final.filter((p) => p.start >= end).map((p) => p.start));
  // Less than 1 MiB free: nothing worth growing (and a rerun after growing finds nothing to do).
  if (next - end < (1024 * 1024) / disk.info.sectorSize) return undefined;
  return {
    action: 'resize',
    pointer: '',
    number: root.number,
    before: root,
    partition: { ...root, size: next - root.start },
    why: `Flatcar's ROOT (type flatcar-resize) grows into the ${((next - end) * disk.info.sectorSize / 1024 ** 2).toFixed(0)} MiB free after it at first boot; the config does not mention it`,
  };
}

function applyStep(table: TablePartition[], s: PartitionStep): TablePartition[] {
  return table.map((p) => (p.number === s.number ? s.partition! : p));
}

function partitionOp(k: KnownDisk, s: PartitionStep): PlannedOp {
  const p = s.partition ?? s.before;
  const where = p ? ` (start ${p.start}, ${p.size} sectors${p.label ? `, "${p.label}"` : ''})` : '';
  const verbs: Record<string, string> = { keep: 'keep', create: 'create', delete: 'delete', resize: 'resize', recreate: 'recreate', absent: 'nothing to do for' };
  return op(`partition.${s.action}`, s.pointer, `${verbs[s.action]} partition ${s.number} on ${k.name}${where}: ${s.why}`, {
    device: k.actual,
    number: s.number,
    ...(s.partition ? { partition: s.partition } : {}),
    ...(s.before ? { before: s.before } : {}),
  });
}

/** sgdisk arguments (without the device): deletions, then creations with exact sectors. */
export function sgdiskArgs(deletes: number[], creates: TablePartition[]): string[] {
  // -a 1: the plan already aligned every start; sgdisk must not move one.
  const args = ['--set-alignment=1'];
  for (const n of deletes) args.push(`--delete=${n}`);
  for (const p of creates) {
    args.push(`--new=${p.number}:${p.start}:+${p.size}`, `--change-name=${p.number}:${p.label}`, `--typecode=${p.number}:${p.typeGuid}`);
    if (p.guid) args.push(`--partition-guid=${p.number}:${p.guid}`);
  }
  return args;
}

async function probeRange(k: KnownDisk, p: TablePartition): Promise<FsInfo> {
  if (k.imagined || !k.readPath) {
    const orig = k.info.gpt?.partitions.find((x) => x.number === p.number && x.startLba === p.start);
    return (orig && k.fsHints?.get(p.number)) ?? NO_FS;
  }
  const ss = k.info.sectorSize;
  return probeFilesystem(k.readPath, { offset: p.start * ss, size: p.size * ss });
}

async function probeTarget(t: Target, known: KnownDisk[]): Promise<FsInfo> {
  if (t.kind === 'partition') {
    const p = t.disk.final.find((x) => x.number === t.number)!;
    return probeRange(t.disk, p);
  }
  if (t.kind === 'device') return existsSync(t.device) ? probeFilesystem(t.device) : NO_FS;
  if (t.kind === 'imagined') return NO_FS;
  void known;
  return NO_FS;
}

async function resolveTarget(path: string, known: KnownDisk[], raids: Map<string, Raid>, lukses: Map<string, Luks>, o: DisksOptions): Promise<Target | undefined> {
  const partTarget = (k: KnownDisk, number: number): Target => ({
    kind: 'partition',
    disk: k,
    number,
    device: k.imagined || (k.readPath && !k.info.isBlockDevice) ? `${k.name}${/\d$/.test(k.name) ? 'p' : ''}${number}` : partitionDevicePath(k.actual, number),
  });
  const by = parseByPath(path);
  if (by && (by.kind === 'partlabel' || by.kind === 'partuuid')) {
    for (const k of known) {
      const hit = k.final.find((p) => (by.kind === 'partlabel' ? p.label === by.value : !!p.guid && sameGuid(p.guid, by.value)));
      if (hit) return partTarget(k, hit.number);
    }
  }
  // A partition of a known disk named by the disk's path plus a number (/dev/vda9, /dev/loop3p9).
  for (const k of known) {
    for (const base of new Set([k.name, k.actual])) {
      if (!path.startsWith(base)) continue;
      const m = /^p?(\d+)$/.exec(path.slice(base.length));
      if (m && k.final.some((p) => p.number === Number(m[1]))) return partTarget(k, Number(m[1]));
    }
  }
  const md = /^\/dev\/md\/(.+)$/.exec(path);
  if (md && raids.has(md[1]!)) return { kind: 'raid', name: md[1]!, device: path };
  const mapper = /^\/dev\/mapper\/(.+)$/.exec(path);
  if (mapper && lukses.has(mapper[1]!)) return { kind: 'luks', name: mapper[1]!, device: path };
  if (o.assumeFlatcarLayout && !o.deviceMap[path]) {
    // dry-run without disks: name-only resolution; unknown devices are taken as they are named.
    if (by?.kind === 'label') {
      for (const k of known) for (const [n, f] of k.fsHints ?? []) if (f.label === by.value) return partTarget(k, n);
    }
    return { kind: 'imagined', device: path };
  }
  const real = await waitAndResolve(o.deviceMap[path] ?? path, o);
  if (!real) return undefined;
  // A partition of a known disk reached through a link: treat it as that partition.
  const name = basename(real);
  if (isPartitionName(name)) {
    const parent = `/dev/${parentDiskName(name)}`;
    const k = known.find((x) => x.actual === parent || (existsSync(x.actual) && realpathSync(x.actual) === parent));
    const n = partitionNumberOf(name);
    if (k && n !== undefined && k.final.some((p) => p.number === n)) return partTarget(k, n);
  }
  return { kind: 'device', device: real };
}

async function planFilesystem(fs: Filesystem, pointer: string, t: Target, known: KnownDisk[], journal: Journal): Promise<PlannedOp> {
  const mk = mkfsCommand(fs);
  const details = { device: t.device, format: fs.format, label: fs.label, uuid: fs.uuid, options: fs.options ?? [], wipeFilesystem: fs.wipeFilesystem === true, mkfs: mk ? [mk.tool, ...mk.args] : [] };
  if (t.kind === 'raid' || t.kind === 'luks') {
    // Created or opened by this very stage: what it holds is known only then. Ignition's rule is
    // applied at that moment (a fresh LUKS volume or array holds nothing).
    return op('filesystem.decide', pointer, `${fs.format} on ${t.device}: decided after ${t.kind === 'raid' ? 'the array is assembled' : 'the volume is opened'} (${fs.wipeFilesystem ? 'wipeFilesystem: create' : 'reuse if it matches, create if empty'})`, details);
  }
  // With wipeFilesystem the answer is "create" whatever is there: no probe needed.
  const found = fs.wipeFilesystem === true ? NO_FS : await probeTarget(t, known);
  const jr = journal[t.device];
  if (jr?.op === 'filesystem.create' && jr.format === fs.format) {
    return op('filesystem.create', pointer, `create ${fs.format}${fs.label ? ` "${fs.label}"` : ''} on ${t.device}: an earlier run was interrupted while creating it`, { ...details, found });
  }
  const d = decideFilesystem(fs, found);
  if (d.action === 'error') refuse(`${pointer}/wipeFilesystem`, `filesystem on ${fs.device}: ${d.why}`);
  if (d.action === 'reuse') return op('filesystem.reuse', pointer, `reuse the ${fs.format} filesystem on ${t.device}: ${d.why}`, { ...details, found });
  return op('filesystem.create', pointer, `create ${fs.format}${fs.label ? ` "${fs.label}"` : ''} on ${t.device}${found.type ? ` (replacing ${found.type})` : ''}: ${d.why}`, { ...details, found });
}

async function planGrowFilesystem(disk: KnownDisk, step: PartitionStep | undefined, config: Config): Promise<PlannedOp | undefined> {
  const root = disk.final.find(isFlatcarRoot);
  if (!root) return undefined;
  const target = disk.imagined || (disk.readPath && !disk.info.isBlockDevice) ? `${disk.name}${/\d$/.test(disk.name) ? 'p' : ''}${root.number}` : partitionDevicePath(disk.actual, root.number);
  // A config that recreates ROOT with a new filesystem leaves nothing to grow.
  if ((config.storage?.filesystems ?? []).some((f) => f.wipeFilesystem && (f.device === target || f.device === '/dev/disk/by-partlabel/ROOT'))) return undefined;
  const before = step?.before ?? root;
  const fs = await probeRange(disk, before);
  if (!GROWABLE_FORMATS.includes(fs.type)) return undefined;
  let grow = !!step;
  if (!grow && disk.readPath && !disk.imagined) {
    // A rerun after an interrupted boot: the partition grew, the filesystem did not.
    const bytes = filesystemBytes(disk.readPath, root.start * disk.info.sectorSize);
    grow = bytes !== undefined && root.size * disk.info.sectorSize - bytes > 16 * 1024 * 1024;
  }
  if (!grow) return undefined;
  return op('filesystem.grow', '', `grow the ${fs.type} filesystem on ${target} (ROOT) to fill its partition`, { device: target, format: fs.type, disk: disk.actual, number: root.number });
}
