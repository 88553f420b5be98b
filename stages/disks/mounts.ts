// What the mount and umount stages share: which config filesystems get mounted, where, in which
// order (Ignition: by path depth, shallow first; unmounted in reverse), and how a config device name
// becomes the device node to mount.
import { existsSync, lstatSync, readFileSync, realpathSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Config } from '../../src/config/types.js';
import { toPointer } from '../../src/errors.js';
import { partitionDevicePath } from '../../src/disk/probe.js';

export interface MountEntry {
  pointer: string;
  device: string;
  /** Absolute inside the root, e.g. "/var/lib/data". */
  path: string;
  /** Where it is mounted on this machine: root + path. */
  target: string;
  format: string;
  options: string[];
}

export function depth(p: string): number {
  return posix.normalize(p).split('/').filter(Boolean).length;
}

export function mountEntries(config: Config, root: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const [i, fs] of (config.storage?.filesystems ?? []).entries()) {
    if (!fs.path || !fs.format || fs.format === 'swap' || fs.format === 'none') continue;
    const path = posix.normalize(fs.path);
    out.push({ pointer: toPointer(['storage', 'filesystems', i]), device: fs.device, path, target: join(root, path), format: fs.format, options: fs.mountOptions ?? [] });
  }
  // Stable sort: Ignition mounts shallow paths first so deeper ones land inside them.
  return out.map((e, i) => ({ e, i })).sort((a, b) => depth(a.e.path) - depth(b.e.path) || a.i - b.i).map((x) => x.e);
}

/** The device node for a config name, honouring a device map (/dev/vda → /dev/loop3, so /dev/vda9 → /dev/loop3p9). */
export function mappedDevice(path: string, deviceMap: Record<string, string>): string {
  if (deviceMap[path]) return deviceMap[path]!;
  for (const [from, to] of Object.entries(deviceMap)) {
    if (!path.startsWith(from)) continue;
    const m = /^p?(\d+)$/.exec(path.slice(from.length));
    if (m) return partitionDevicePath(to, Number(m[1]));
  }
  return path;
}

/** The first component of `path` under `root` that is a symlink, if any (Ignition refuses to mount through one). */
export function symlinkOnPath(root: string, path: string): string | undefined {
  let cur = root;
  for (const seg of path.split('/').filter(Boolean)) {
    cur = join(cur, seg);
    try {
      if (lstatSync(cur).isSymbolicLink()) return cur;
    } catch {
      return undefined; // does not exist yet: created as a directory
    }
  }
  return undefined;
}

/** Mount points currently mounted (decoded from /proc/self/mountinfo). */
export function mountedTargets(): Set<string> {
  const set = new Set<string>();
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return set;
  }
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[4]) set.add(f[4].replace(/\\(\d{3})/g, (_s, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return set;
}

export function canonicalTarget(target: string): string {
  return existsSync(target) ? realpathSync(target) : target;
}
