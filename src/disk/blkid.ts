// What filesystem (or RAID member, LUKS header, swap) a device holds, straight from the signatures
// (blkid -p: low-level probing, no cache). Ignition reads the same facts through libblkid and
// treats an "ambivalent" result (several signatures) as "no filesystem" — see filesystems.ts.
import { run } from '../system/exec.js';

export interface FsInfo {
  /** blkid TYPE ("ext4", "xfs", "vfat", "swap", "crypto_LUKS", "linux_raid_member", ...) or "" */
  type: string;
  label: string;
  uuid: string;
  /** More than one signature was found. */
  ambivalent: boolean;
}

export const NO_FS: FsInfo = { type: '', label: '', uuid: '', ambivalent: false };

function parseExport(out: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return kv;
}

/**
 * Probe a device, or a byte range of one (offset/size in bytes) — the latter lets plan() see what a
 * partition that does not exist yet will contain once created at that place.
 */
export async function probeFilesystem(device: string, range?: { offset: number; size: number }): Promise<FsInfo> {
  const args = ['-p', '-o', 'export', '--usages', 'filesystem,raid,crypto,other'];
  if (range) args.push('-O', String(range.offset), '-S', String(range.size));
  args.push(device);
  const r = await run('blkid', args, { allowFailure: true });
  if (r.exitCode === 2) return NO_FS; // nothing found
  if (r.exitCode === 8 || /ambivalent/i.test(r.stderr)) return range ? { ...NO_FS, ambivalent: true } : firstSignature(device);
  if (r.exitCode !== 0) throw new Error(`blkid ${device} exited ${r.exitCode}: ${r.stderr.trim()}`);
  const kv = parseExport(r.stdout);
  return { type: kv.TYPE ?? '', label: kv.LABEL ?? '', uuid: kv.UUID ?? '', ambivalent: false };
}

/**
 * Several signatures on one device (a live ext4 beside a stale zfs label, say). Ignition then probes
 * again allowing ambivalence and takes libblkid's first match; wipefs lists the signatures in that
 * same probe order, with their label and UUID. The result stays marked ambivalent.
 */
async function firstSignature(device: string): Promise<FsInfo> {
  const r = await run('wipefs', ['--no-act', '--json', device], { allowFailure: true });
  let first: { type?: string; label?: string; uuid?: string } | undefined;
  try {
    first = (JSON.parse(r.stdout) as { signatures?: Array<{ type?: string; label?: string; uuid?: string }> }).signatures?.[0];
  } catch {
    first = undefined;
  }
  return { type: first?.type ?? '', label: first?.label ?? '', uuid: first?.uuid ?? '', ambivalent: true };
}
