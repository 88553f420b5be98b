// Device paths of a config (/dev/disk/by-partlabel/ROOT, /dev/loop3p9, /dev/sda) → kernel device
// nodes. With udev the /dev/disk/by-* links exist and are followed; without it (this build machine,
// minimal initrds) the same names are found by reading the GPTs (partlabel, partuuid) or probing
// filesystems (label, uuid) of the candidate disks ourselves.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { probeDisk, partitionDevicePath } from './probe.js';
import { probeFilesystem } from './blkid.js';
import { sameGuid } from './guid.js';
import { run } from '../system/exec.js';

export type ByKind = 'partlabel' | 'partuuid' | 'label' | 'uuid';

export function parseByPath(path: string): { kind: ByKind; value: string } | undefined {
  const m = /^\/dev\/disk\/by-(partlabel|partuuid|label|uuid)\/(.+)$/.exec(path);
  if (!m) return undefined;
  // udev escapes unusual characters as \xHH in link names.
  const value = m[2]!.replace(/\\x([0-9a-fA-F]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16)));
  return { kind: m[1] as ByKind, value };
}

const DISK_NAME = /^(loop\d+|sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+|nvme\d+n\d+|mmcblk\d+)$/;

/** Whole disks the kernel knows (non-empty), e.g. ["/dev/loop3", "/dev/vda"]. */
export function listDisks(): string[] {
  let names: string[] = [];
  try {
    names = readdirSync('/sys/class/block');
  } catch {
    return [];
  }
  return names
    .filter((n) => DISK_NAME.test(n) && !existsSync(`/sys/class/block/${n}/partition`))
    .filter((n) => {
      try {
        return Number(readFileSync(`/sys/class/block/${n}/size`, 'utf8')) > 0;
      } catch {
        return false;
      }
    })
    .map((n) => `/dev/${n}`);
}

/** True when a udev daemon is running (its control socket exists). */
export function udevRunning(): boolean {
  return existsSync('/run/udev/control');
}

export async function udevSettle(): Promise<void> {
  if (udevRunning()) await run('udevadm', ['settle', '--timeout=30'], { allowFailure: true });
}

/**
 * Resolve a by-* name by looking at the candidate disks; undefined when nothing matches.
 * `candidates` defaults to every disk the kernel lists.
 */
export async function findByName(kind: ByKind, value: string, candidates: string[] = listDisks()): Promise<string | undefined> {
  for (const disk of candidates) {
    let info;
    try {
      info = probeDisk(disk);
    } catch {
      continue;
    }
    const parts = info.gpt?.partitions ?? [];
    if (kind === 'partlabel' || kind === 'partuuid') {
      const hit = parts.find((p) => (kind === 'partlabel' ? p.label === value : sameGuid(p.guid, value)));
      if (hit) return partitionDevicePath(info.realPath, hit.number);
      continue;
    }
    const devices = [info.realPath, ...parts.map((p) => partitionDevicePath(info.realPath, p.number))];
    for (const dev of devices) {
      if (!existsSync(dev)) continue;
      const fs = await probeFilesystem(dev).catch(() => undefined);
      if (!fs) continue;
      if (kind === 'label' ? fs.label === value : fs.uuid.toLowerCase() === value.toLowerCase()) return dev;
    }
  }
  return undefined;
}

/** An existing path, symlinks followed; else a by-* name found on the candidates; else undefined. */
export async function resolveExisting(path: string, candidates?: string[]): Promise<string | undefined> {
  if (existsSync(path)) return realpathSync(path);
  const by = parseByPath(path);
  if (!by) return undefined;
  return findByName(by.kind, by.value, candidates);
}
