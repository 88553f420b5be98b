// Is a block device in use? After Ignition's blockDevInUse (internal/exec/stages/disks/
// partitions.go in newer Ignition; 2.14 has no such check): a device is in use when it is mounted or has holders
// (/sys/class/block/X/holders: device-mapper, md, ...); a disk is "directly" in use when the disk
// itself is, and its partitions are checked one by one. Kindling also counts active swap
// (/proc/swaps), which Ignition ignores ("Note: This ignores swap and LVM usage"): writing over a
// swap area the kernel pages to corrupts memory.
//
// Mounts are matched by device number (mountinfo's major:minor) and, because btrfs reports an
// anonymous device number there, also by the mount source resolved to its kernel name.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename } from 'node:path';

export interface Usage {
  /** Kernel name, e.g. "loop3p2". */
  name: string;
  mountpoints: string[];
  swap: boolean;
  holders: string[];
}

export function inUse(u: Usage | undefined): boolean {
  return !!u && (u.mountpoints.length > 0 || u.swap || u.holders.length > 0);
}

export function describeUsage(u: Usage): string {
  const why: string[] = [];
  if (u.mountpoints.length) why.push(`mounted at ${u.mountpoints.join(', ')}`);
  if (u.swap) why.push('active swap');
  if (u.holders.length) why.push(`held by ${u.holders.join(', ')}`);
  return `/dev/${u.name} is ${why.join(' and ')}`;
}

function readSys(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Unescape the octal escapes of /proc/self/mountinfo and /proc/swaps (\040 for a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function kernelNameOf(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  try {
    const real = realpathSync(path);
    return statSync(real).isBlockDevice() ? basename(real) : undefined;
  } catch {
    return undefined;
  }
}

interface Snapshot {
  mounts: Array<{ dev: string; source?: string; target: string }>;
  swaps: string[];
}

function snapshot(): Snapshot {
  const mounts: Snapshot['mounts'] = [];
  for (const line of (readSys('/proc/self/mountinfo') ?? '').split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-');
    mounts.push({ dev: f[2]!, target: unescape(f[4]!), source: sep > 0 ? unescape(f[sep + 2] ?? '') : undefined });
  }
  const swaps: string[] = [];
  for (const line of (readSys('/proc/swaps') ?? '').split('\n').slice(1)) {
    const path = line.split(/\s+/)[0];
    if (path) swaps.push(unescape(path));
  }
  return { mounts, swaps };
}

function usageOf(name: string, snap: Snapshot, sourceNames: Map<string, string | undefined>): Usage {
  const dev = readSys(`/sys/class/block/${name}/dev`);
  const resolve = (p: string): string | undefined => {
    if (!sourceNames.has(p)) sourceNames.set(p, kernelNameOf(p));
    return sourceNames.get(p);
  };
  const mountpoints = snap.mounts.filter((m) => (dev !== undefined && m.dev === dev) || (m.source !== undefined && resolve(m.source) === name)).map((m) => m.target);
  const swap = snap.swaps.some((p) => resolve(p) === name);
  let holders: string[] = [];
  try {
    holders = readdirSync(`/sys/class/block/${name}/holders`);
  } catch {
    /* no holders directory: nothing stacked */
  }
  return { name, mountpoints: [...new Set(mountpoints)], swap, holders };
}

export interface DiskUsage {
  disk: Usage;
  /** Partitions the kernel knows on this disk, by number. */
  partitions: Map<number, Usage>;
}

/** Usage of a whole disk (a /dev path) and of each partition the kernel has for it. */
export function diskUsage(device: string): DiskUsage | undefined {
  const name = kernelNameOf(device);
  if (!name || !existsSync(`/sys/class/block/${name}`)) return undefined;
  const snap = snapshot();
  const names = new Map<string, string | undefined>();
  const partitions = new Map<number, Usage>();
  for (const entry of readdirSync(`/sys/class/block/${name}`)) {
    if (!entry.startsWith(name)) continue;
    const n = readSys(`/sys/class/block/${name}/${entry}/partition`);
    if (n !== undefined) partitions.set(Number(n), usageOf(entry, snap, names));
  }
  return { disk: usageOf(name, snap, names), partitions };
}

/** Usage of any block device (partition, md array, LUKS mapping...), undefined when it is not one. */
export function deviceUsage(device: string): Usage | undefined {
  const name = kernelNameOf(device);
  if (!name || !existsSync(`/sys/class/block/${name}`)) return undefined;
  return usageOf(name, snapshot(), new Map());
}
