// Builds a case's `in` disks on loop devices, as Ignition's blackbox harness does (see the corpus
// README, "The harness sets up each `in` disk like this"): a sparse image file, a loop device, a
// GPT written by sgdisk, filesystems made by the standard mkfs tools, then directories, files and
// links created through a mount. Everything it attaches or mounts is recorded in a Cleanup so that
// the runner can undo it even when a step fails.
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  constants as fsc,
  symlinkSync,
  writeSync,
  readFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { DiskSpec, FileSpec, DirSpec, LinkSpec, PartitionSpec } from './corpus.js';
import { must, run } from './exec.js';

/** Undo list: loop devices to detach and mount points to unmount, newest first. */
export class Cleanup {
  loops: string[] = [];
  mounts: string[] = [];
  errors: string[] = [];

  async unmountAll(): Promise<void> {
    for (const m of [...this.mounts].reverse()) await unmount(m).catch((e: Error) => this.errors.push(e.message));
    this.mounts = [];
  }

  async run(): Promise<void> {
    await this.unmountAll();
    for (const l of [...this.loops].reverse()) {
      // Mounts made by the engine under test (e.g. its own mount stage that it failed to undo)
      // would keep the loop device busy: unmount anything still mounted from this device.
      await unmountDeviceLeftovers(l);
      const r = await run('losetup', ['-d', l], { timeoutMs: 30_000 });
      if (r.code !== 0) this.errors.push(`losetup -d ${l}: ${r.output.trim()}`);
    }
    this.loops = [];
  }
}

/** Mounts still referring to DEV or its partitions (from /proc/self/mountinfo), deepest first. */
async function unmountDeviceLeftovers(dev: string): Promise<void> {
  const lines = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  const targets: string[] = [];
  for (const line of lines) {
    const [src, target] = line.split(' ');
    if (!src || !target) continue;
    if (src === dev || src.startsWith(dev + 'p')) targets.push(target.replace(/\\040/g, ' '));
  }
  for (const t of targets.reverse()) await run('umount', ['-l', t], { timeoutMs: 30_000 });
  // dm-crypt mappings made on top of our partitions (LUKS cases) also hold the device.
  const dm = await run('dmsetup', ['ls', '--target', 'crypt'], { timeoutMs: 10_000 });
  if (dm.code === 0 && !/No devices found/.test(dm.output)) {
    for (const line of dm.output.split('\n')) {
      const name = line.split(/\s+/)[0];
      if (!name) continue;
      const deps = await run('cryptsetup', ['status', name], { timeoutMs: 10_000 });
      const m = /device:\s+(\S+)/.exec(deps.output);
      if (m && (m[1] === dev || m[1].startsWith(dev + 'p'))) {
        const mp = readFileSync('/proc/self/mounts', 'utf8')
          .split('\n')
          .filter((l) => l.startsWith(`/dev/mapper/${name} `))
          .map((l) => l.split(' ')[1]);
        for (const t of mp) await run('umount', ['-l', t], { timeoutMs: 30_000 });
        await run('cryptsetup', ['close', name], { timeoutMs: 30_000 });
      }
    }
  }
}

export async function unmount(path: string): Promise<void> {
  // As upstream: retry a few times, a busy mount can clear up.
  let last = '';
  for (let i = 0; i < 3; i++) {
    const r = await run('umount', [path], { timeoutMs: 30_000 });
    if (r.code === 0) return;
    last = r.output.trim();
    const mp = await run('mountpoint', ['-q', path]);
    if (mp.code !== 0) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`umount ${path} failed: ${last}`);
}

export async function mountPartition(dev: string, fsType: string, path: string, cleanup: Cleanup): Promise<void> {
  await must('mount', ['-t', fsType, dev, path]);
  cleanup.mounts.push(path);
}

export async function unmountPartition(path: string, cleanup: Cleanup): Promise<void> {
  await unmount(path);
  cleanup.mounts = cleanup.mounts.filter((m) => m !== path);
}

export interface BuiltPartition {
  spec: PartitionSpec;
  device: string;
  mountPath?: string;
}

export interface BuiltDisk {
  index: number;
  image: string;
  device: string;
  partitions: BuiltPartition[];
}

/** The type GUID the harness writes: the mapped one for a typeCode, else the literal typeGuid. */
export function typeGuidOf(p: PartitionSpec): string {
  if (p.typeCode && p.typeCode !== 'blank') return p.effectiveTypeGuid;
  if (p.typeCode === 'blank') return '';
  return p.typeGuid;
}

export async function setupDisk(disk: DiskSpec, index: number, sizeBytes: number, tmp: string, cleanup: Cleanup): Promise<BuiltDisk> {
  const image = join(tmp, `hd${index}`);
  closeSync(openSync(image, 'w'));
  await must('truncate', ['-s', String(sizeBytes), image]);
  const device = (await must('losetup', ['-P', '-f', '--show', image])).trim();
  if (!/^\/dev\/loop\d+$/.test(device)) throw new Error(`losetup gave "${device}"`);
  cleanup.loops.push(device);

  const args = [device];
  const hybrids: number[] = [];
  for (const p of disk.partitions) {
    if (p.typeCode === 'blank' || p.lengthSectors === 0) continue;
    args.push(`--new=${p.number}:${p.startSector ?? 0}:+${p.lengthSectors}`);
    args.push(`--change-name=${p.number}:${p.label}`);
    const tg = typeGuidOf(p);
    if (tg) args.push(`--typecode=${p.number}:${tg}`);
    if (p.guid) args.push(`--partition-guid=${p.number}:${p.guid}`);
    if (p.hybridMbr) hybrids.push(p.number);
  }
  if (hybrids.length > 3) throw new Error("can't have more than three hybrid MBR partitions");
  if (hybrids.length) args.push(`--hybrid=${hybrids.join(':')}`);
  await must('sgdisk', args);
  await refreshPartitions(device);

  const partitions: BuiltPartition[] = disk.partitions.map((spec) => ({ spec, device: `${device}p${spec.number}` }));
  for (const bp of partitions) {
    const p = bp.spec;
    if (p.typeCode === 'blank' || p.filesystemType === '' || p.filesystemType === 'swap') continue;
    bp.mountPath = join(tmp, `hd${index}p${p.number}`);
    mkdirSync(bp.mountPath, { mode: 0o777 });
    await formatPartition(bp);
  }
  return { index, image, device, partitions };
}

/** Without udev, the kernel's partition nodes appear only when asked (NOTES.md: partx). */
export async function refreshPartitions(device: string): Promise<void> {
  const r = await run('partx', ['-a', device], { timeoutMs: 30_000 });
  if (r.code !== 0) {
    // Some already existed (losetup -P scanned them): update instead.
    await run('partx', ['-u', device], { timeoutMs: 30_000 });
  }
}

async function formatPartition(bp: BuiltPartition): Promise<void> {
  const p = bp.spec;
  let mkfs: string;
  let opts: string[] = [];
  let label: string[];
  let uuid: string[];
  switch (p.filesystemType) {
    case 'vfat':
      mkfs = 'mkfs.vfat';
      label = ['-n', p.filesystemLabel];
      uuid = ['-i', p.filesystemUuid];
      break;
    case 'ext2':
    case 'ext4':
      mkfs = 'mke2fs';
      opts = ['-t', p.filesystemType, '-b', '4096', '-i', '4096', '-I', '128', '-e', 'remount-ro'];
      label = ['-L', p.filesystemLabel];
      uuid = ['-U', p.filesystemUuid];
      break;
    case 'btrfs':
      mkfs = 'mkfs.btrfs';
      label = ['--label', p.filesystemLabel];
      uuid = ['--uuid', p.filesystemUuid];
      break;
    case 'xfs':
      mkfs = 'mkfs.xfs';
      label = ['-L', p.filesystemLabel];
      uuid = ['-m', 'uuid=' + p.filesystemUuid];
      break;
    case 'swap':
      mkfs = 'mkswap';
      label = ['-L', p.filesystemLabel];
      uuid = ['-U', p.filesystemUuid];
      break;
    case 'image':
      return writeImage(bp.device, p.filesystemImageBzip2Base64 ?? '');
    case 'blank':
    case 'none':
    case '':
      return;
    default:
      throw new Error(`unknown filesystem type ${p.filesystemType}`);
  }
  if (p.filesystemLabel) opts.push(...label);
  if (p.filesystemUuid) opts.push(...uuid);
  opts.push(bp.device);
  await must(mkfs, opts);
}

function writeImage(device: string, b64: string): void {
  const r = spawnSync('bzip2', ['-dc'], { input: Buffer.from(b64, 'base64'), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`bzip2 -dc failed: ${r.stderr?.toString()}`);
  const fd = openSync(device, fsc.O_WRONLY);
  try {
    let off = 0;
    while (off < r.stdout.length) off += writeSync(fd, r.stdout, off, r.stdout.length - off, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates the partition's directories, files and links (mounting it only if there are any). */
export async function populate(bp: BuiltPartition, cleanup: Cleanup): Promise<void> {
  const p = bp.spec;
  if (p.filesystemType === 'swap' || p.filesystemType === '' || p.filesystemType === 'blank') return;
  if (!p.directories.length && !p.files.length && !p.links.length) return;
  if (!bp.mountPath) throw new Error(`partition ${p.number} has nodes but no filesystem to mount`);
  await mountPartition(bp.device, p.filesystemType, bp.mountPath, cleanup);
  try {
    createDirectories(bp.mountPath, p.directories);
    createFiles(bp.mountPath, p.files);
    createLinks(bp.mountPath, p.links);
  } finally {
    await unmountPartition(bp.mountPath, cleanup);
  }
}

export function createFiles(base: string, files: FileSpec[]): void {
  for (const f of files) {
    const dir = join(base, f.directory);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const path = join(dir, f.name);
    // O_CREAT without O_TRUNC, mode subject to the umask, as Go's os.OpenFile does.
    const fd = openSync(path, fsc.O_CREAT | fsc.O_WRONLY, f.mode);
    try {
      if (f.contents !== '') writeSync(fd, f.contents);
    } finally {
      closeSync(fd);
    }
    chownSync(path, f.user, f.group);
  }
}

export function createDirectories(base: string, dirs: DirSpec[]): void {
  for (const d of dirs) {
    const parent = join(base, d.directory);
    mkdirSync(parent, { recursive: true, mode: 0o755 });
    mkdirSync(join(parent, d.name), { mode: d.mode });
  }
}

export function createLinks(base: string, links: LinkSpec[]): void {
  for (const l of links) {
    const parent = join(base, l.directory);
    mkdirSync(parent, { recursive: true, mode: 0o755 });
    const path = join(parent, l.name);
    if (l.hard) linkSync(join(base, l.target), path);
    else symlinkSync(l.target, path);
  }
}

/** corruptTable: the first 1536 bytes of the disk become random bytes. */
export function corruptTable(device: string): void {
  const fd = openSync(device, fsc.O_WRONLY);
  try {
    writeSync(fd, randomBytes(1536), 0, 1536, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
