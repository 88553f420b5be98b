// Test helpers: sparse image files on loop devices WE attach, and a cleanup that detaches exactly
// those (and unmounts / closes what was stacked on them), even after a failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs a command without blocking this process; resolves with its exit code and its combined
 * output, killing it after timeoutMs. Async on purpose for Ignition runs: the systemd shim that
 * answers Ignition lives in the test process, so a blocking spawnSync would deadlock it.
 */
export function spawnAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

export function sh(cmd: string, args: string[], input?: Buffer | string): string {
  return execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

export class LoopLab {
  readonly dir: string;
  private loops: string[] = [];
  private mounts: string[] = [];
  private mappers: string[] = [];
  private arrays: string[] = [];

  constructor(prefix = 'kindling-disks-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  image(name: string, sizeBytes: number): string {
    const p = join(this.dir, name);
    const fd = openSync(p, 'w');
    ftruncateSync(fd, sizeBytes);
    closeSync(fd);
    return p;
  }

  /** sectorSize 4096: a 4Kn disk (losetup --sector-size). */
  attach(file: string, sectorSize?: number): string {
    // losetup --find can race with a concurrent attach (EBUSY): retry a few times.
    let dev = '';
    for (let i = 0; ; i++) {
      const r = spawnSync('losetup', [...(sectorSize ? ['--sector-size', String(sectorSize)] : []), '--find', '--show', file]);
      if (r.status === 0) {
        dev = r.stdout.toString().trim();
        break;
      }
      if (i >= 5) throw new Error(`losetup failed: ${r.stderr}`);
      spawnSync('sleep', ['0.2']);
    }
    this.loops.push(dev);
    // Partitions added with partx outlive a detach: drop what a previous user of this loop device
    // left, then add this table's (`partx -u` stops at the second gap in the numbering).
    spawnSync('partx', ['-d', dev]);
    spawnSync('partx', ['-a', dev]);
    return dev;
  }

  /** Re-attach bookkeeping for a device attached by code under test. */
  trackMount(target: string): void {
    this.mounts.push(target);
  }
  trackMapper(name: string): void {
    this.mappers.push(name);
  }
  trackArray(dev: string): void {
    this.arrays.push(dev);
  }

  mount(dev: string, target: string, type?: string): void {
    sh('mkdir', ['-p', target]);
    sh('mount', [...(type ? ['-t', type] : []), dev, target]);
    this.mounts.push(target);
  }

  cleanup(): void {
    // Anything mounted below our directory, deepest first.
    const mi = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((t): t is string => !!t && (t.startsWith(this.dir) || this.mounts.includes(t)));
    for (const t of [...new Set([...mi, ...this.mounts])].sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', t]);
    for (const m of this.mappers) if (existsSync(`/dev/mapper/${m}`)) spawnSync('cryptsetup', ['close', m]);
    for (const a of this.arrays) if (existsSync(a)) spawnSync('mdadm', ['--stop', a]);
    for (const l of this.loops.reverse()) {
      spawnSync('partx', ['-d', l]);
      spawnSync('losetup', ['-d', l]);
    }
    this.loops = [];
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface SfdiskPart {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid: string;
  name?: string;
}

export function sfdiskJson(dev: string): { partitions: SfdiskPart[]; lastlba: number; firstlba: number; label?: string } {
  const r = spawnSync('sfdisk', ['--json', dev]);
  // No partition table at all: sfdisk fails; an empty GPT has no "partitions" key.
  if (r.status !== 0) return { partitions: [], lastlba: 0, firstlba: 0 };
  const t = JSON.parse(r.stdout.toString()).partitiontable;
  return { ...t, partitions: t.partitions ?? [] };
}

export function sgdiskVerify(dev: string): string {
  const r = spawnSync('sgdisk', ['-v', dev]);
  return r.stdout.toString();
}

/**
 * blkid -p of a device. With several signatures (ambivalent) and an expected type, the expected
 * type is probed alone for its label and UUID, as upstream's harness tolerates ambivalence.
 */
export function blkid(dev: string, expectType?: string): Record<string, string> {
  const probe = (extra: string[]) => {
    const r = spawnSync('blkid', ['-p', '-o', 'export', ...extra, dev]);
    const kv: Record<string, string> = {};
    for (const line of r.stdout.toString().split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
    }
    return { kv, ambivalent: r.status === 8 || /ambivalent/.test(r.stderr.toString()) };
  };
  const first = probe([]);
  if (!first.ambivalent) return first.kv;
  const only = expectType ? probe(['-n', expectType]).kv : {};
  return { ...only, AMBIVALENT: '1' };
}

export function writeFile(p: string, data: string | Buffer): void {
  writeFileSync(p, data);
}

export function partNode(disk: string, n: number): string {
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}
