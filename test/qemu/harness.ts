// Drives the qemu/ scripts from tests and benches: build once, boot with a hard time limit,
// inspect the disk afterwards. Everything runs asynchronously so that a test can serve HTTP to
// the guest from this same process while QEMU runs.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const QEMU = join(REPO, 'qemu');
// One directory per test run: several people share this tree and may run the suite at once.
// Consoles stay there for reading after a failure; images go (see cleanWork).
export const WORK = join(REPO, '.cache', 'qemu-test', `run-${process.pid}`);
export const FIXTURES = join(REPO, 'test', 'qemu', 'fixtures');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command; kills it (by its PID, and its process group) when timeoutMs passes. */
export function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      // The scripts trap their own cleanup (QEMU, loop devices) on TERM.
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

async function must(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stderr.slice(-4000)}`);
  return r;
}

/** Why the QEMU tests can't run here, or undefined when they can. */
export function missingPrerequisite(): string | undefined {
  if (process.env.KINDLING_SKIP_QEMU === '1') return 'KINDLING_SKIP_QEMU=1';
  if (process.getuid?.() !== 0) return 'needs root (loop devices to inspect the disk)';
  for (const tool of ['/usr/bin/qemu-system-x86_64', '/usr/bin/dracut', '/usr/bin/mdir', '/usr/sbin/sgdisk']) {
    if (!existsSync(tool)) return `${tool} is missing (scripts/setup.sh --test)`;
  }
  return undefined;
}

export type Flavour = 'kindling' | 'ignition' | 'base';

/** Builds the initramfs of one flavour into WORK (once per call; tests call it once per run). */
export async function buildInitramfs(flavour: Flavour, zstdLevel = 3): Promise<{ path: string; bytes: number; ms: number }> {
  mkdirSync(WORK, { recursive: true });
  const path = join(WORK, `${flavour}.initramfs.img`);
  // Fast compression: level 3 costs 1 s on node where dracut's default (15) costs ~50 s.
  const args = [flavour, path, '--zstd-level', String(zstdLevel)];
  if (flavour === 'kindling' && process.env.KINDLING_BIN) args.push('--kindling-bin', process.env.KINDLING_BIN);
  const r = await must(join(QEMU, 'initramfs.sh'), args, 600_000);
  return { path, bytes: statSync(path).size, ms: r.ms };
}

export interface ImageOptions {
  firstBoot?: boolean;
  /** A directory whose contents fill the OEM partition (config.ign, base/base.ign, grub.cfg). */
  oemDir?: string;
  /** A script the test root runs before powering off (make-image.sh --init-hook). */
  initHook?: string;
}

export async function makeImage(name: string, opts: ImageOptions = {}): Promise<string> {
  mkdirSync(WORK, { recursive: true });
  const path = join(WORK, name);
  const args = [path];
  if (opts.firstBoot === false) args.push('--no-first-boot');
  if (opts.oemDir) args.push('--oem-dir', opts.oemDir);
  if (opts.initHook) args.push('--init-hook', opts.initHook);
  await must(join(QEMU, 'make-image.sh'), args, 120_000);
  return path;
}

/** A file on the image's OEM partition (btrfs, loop-mounted read-only), or undefined. Root only. */
export async function readOemFile(disk: string, file: string): Promise<string | undefined> {
  const script = `set -euo pipefail
img=$1 file=$2
start=$(sgdisk -i 6 "$img" | sed -n 's/^First sector: \\([0-9]*\\).*/\\1/p')
end=$(sgdisk -i 6 "$img" | sed -n 's/^Last sector: \\([0-9]*\\).*/\\1/p')
mnt=$(mktemp -d /tmp/kindling-oem-read.XXXXXX)
loop=
trap 'mountpoint -q "$mnt" && umount "$mnt"; [[ -z $loop ]] || losetup -d "$loop"; rmdir "$mnt"' EXIT
loop=$(losetup --find --show --read-only --offset $((start * 512)) --sizelimit $(((end - start + 1) * 512)) "$img")
mount -t btrfs -o ro,rescue=nologreplay "$loop" "$mnt"
if [[ -f $mnt/$file ]]; then cat "$mnt/$file"; else echo "no $file" >&2; exit 3; fi`;
  const r = await run('bash', ['-c', script, 'oem-read', disk, file], 60_000);
  if (r.code === 3) return undefined;
  if (r.code !== 0) throw new Error(`reading ${file} on the OEM partition of ${disk} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export interface BootOptions {
  initrd: string;
  disk: string;
  config?: string;
  append?: string;
  until?: string;
  metadataPort?: number;
  /** boot.sh --lan-port: QEMU's default user network, 10.0.2.100:PORT reaching 127.0.0.1:PORT. */
  lanPort?: number;
  timeoutSec?: number;
  serial: string;
}

export interface BootResult extends RunResult {
  console: string;
  /** Kernel uptime when the test root's init started, i.e. right after switch-root. */
  switchRootSec?: number;
  /** "kindling: stage X ok in N ms" lines. */
  stageMs: Record<string, number>;
}

export async function boot(o: BootOptions): Promise<BootResult> {
  const timeoutSec = o.timeoutSec ?? 240;
  const args = ['--initrd', o.initrd, '--disk', o.disk, '--serial', o.serial, '--timeout', String(timeoutSec)];
  if (o.config) args.push('--config', o.config);
  if (o.append) args.push('--append', o.append);
  if (o.until) args.push('--until', o.until);
  if (o.metadataPort) args.push('--metadata-port', String(o.metadataPort));
  if (o.lanPort) args.push('--lan-port', String(o.lanPort));
  // boot.sh enforces the limit itself; this outer one only catches a hung script.
  const r = await run(join(QEMU, 'boot.sh'), args, (timeoutSec + 60) * 1000);
  const text = existsSync(o.serial) ? readFileSync(o.serial, 'utf8') : '';
  return { ...r, console: text, ...parseConsole(text) };
}

export function parseConsole(text: string): { switchRootSec?: number; stageMs: Record<string, number> } {
  const m = /KINDLING-TEST-ROOT: switched root at uptime=([\d.]+)s/.exec(text);
  const stageMs: Record<string, number> = {};
  for (const s of text.matchAll(/kindling: stage (\S+) ok in (\d+) ms/g)) stageMs[s[1]!] = Number(s[2]);
  return { switchRootSec: m ? Number(m[1]) : undefined, stageMs };
}

export interface FileFact {
  type: 'file' | 'dir' | 'link' | 'missing' | 'other';
  mode?: string;
  uid?: number;
  gid?: number;
  size?: number;
  content?: string;
  target?: string;
}

export interface Snapshot {
  diskSectors: number;
  lastUsable: number;
  partitions: { number: number; start: number; end: number; label: string; typeGuid: string; guid: string }[];
  root: { start: number; end: number; fsBytes: number; partBytes: number } | null;
  firstBootStamp: boolean | null;
  files: Record<string, FileFact>;
}

export async function inspect(disk: string, extra: string[] = []): Promise<Snapshot> {
  const r = await must(join(QEMU, 'inspect.sh'), [disk, ...extra], 120_000);
  return JSON.parse(r.stdout) as Snapshot;
}

/** The file facts two provisioned roots must share, minus what legitimately differs per run. */
export function compareRoots(a: Snapshot, b: Snapshot, ignore: RegExp[]): string[] {
  const diffs: string[] = [];
  const paths = new Set([...Object.keys(a.files), ...Object.keys(b.files)]);
  for (const p of [...paths].sort()) {
    if (ignore.some((re) => re.test(p))) continue;
    const x = a.files[p] ?? { type: 'missing' };
    const y = b.files[p] ?? { type: 'missing' };
    const norm = (f: FileFact) => {
      let content = f.content;
      // Last password change is the day of the boot.
      if (p === '/etc/shadow' && content) content = content.replace(/^([^:]*:[^:]*:)\d+/gm, '$1DAY');
      return JSON.stringify({ type: f.type, mode: f.mode, uid: f.uid, gid: f.gid, content, target: f.target });
    };
    if (norm(x) !== norm(y)) diffs.push(`${p}: ${norm(x)} != ${norm(y)}`);
  }
  const ea = a.root?.end;
  const eb = b.root?.end;
  if (ea !== eb) diffs.push(`ROOT partition end: ${ea} != ${eb}`);
  return diffs;
}

/** Removes this run's disk and initramfs images (10 GiB sparse each, ~55 MB); keeps the consoles. */
export function cleanWork(): void {
  if (!existsSync(WORK)) return;
  for (const f of readdirSync(WORK)) if (f.endsWith('.img')) rmSync(join(WORK, f), { force: true });
}

/** A file server on the host's loopback for a guest behind restricted user networking. */
export interface GuestServer {
  port: number;
  /** "METHOD URL" of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves `body` at `path` (404 elsewhere) on 127.0.0.1, for boot.sh --metadata-port/--lan-port. */
export async function serveToGuest(path: string, contentType: string, body: string | Buffer): Promise<GuestServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url === path) {
      res.writeHead(200, { 'content-type': contentType });
      res.end(body);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  // QEMU's guestfwd opens its one connection to this server when QEMU starts, long before the
  // guest sends a request on it: Node's default 60 s header timeout would answer 408 to that idle
  // connection, and the guest would read the 408 as the reply (seen here).
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
