// Carry out a disks plan, op by op, exactly as planned. Every op re-checks the one fact it depends
// on (the table sgdisk wrote equals the planned table; a reused filesystem still matches) so a plan
// that went stale between plan() and apply() fails instead of guessing.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Filesystem, Luks } from '../../src/config/types.js';
import { KindlingError } from '../../src/errors.js';
import { run } from '../../src/system/exec.js';
import { probeDisk } from '../../src/disk/probe.js';
import { probeFilesystem } from '../../src/disk/blkid.js';
import { syncKernelPartitions, waitForDevice } from '../../src/disk/kernel.js';
import type { PlannedOp, StageContext } from '../types.js';
import type { DisksPlan } from './plan.js';
import type { TablePartition } from './plan-partitions.js';
import { decideFilesystem, mkfsCommand } from './filesystems.js';
import { journalBegin, journalEnd } from './journal.js';
import { luksFormatArgs, luksOpenArgs, clevisConfig } from './luks.js';
import { mdadmCreateArgs } from './raid.js';
import { disksOptions, type DisksOptions } from './options.js';
import { sameGuid } from '../../src/disk/guid.js';
import { writePlannedTable } from './write-table.js';
import { describeUsage, diskUsage, inUse } from '../../src/disk/inuse.js';
import { fetchResource } from '../../src/resources/index.js';
import { platformFetchOptions } from '../../src/acquire/fetcher.js';

function fail(o: PlannedOp, message: string, cause?: unknown): never {
  throw new KindlingError('disk', message, { location: { pointer: o.pointer }, cause });
}

/** The config entry an op's pointer names (/storage/luks/0 → config.storage.luks[0]). */
function entryAt<T>(ctx: StageContext, pointer: string): T {
  let cur: unknown = ctx.config;
  for (const seg of pointer.split('/').slice(1)) cur = (cur as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  return cur as T;
}

export async function applyDisks(ctx: StageContext, plan: DisksPlan): Promise<void> {
  const o = disksOptions(ctx);
  if (o.dryRun) throw new KindlingError('usage', 'a dry-run plan cannot be applied');
  const ops = plan.ops;
  for (let i = 0; i < ops.length; ) {
    // Filesystem creation runs in parallel, as Ignition's does (one per CPU).
    if (ops[i]!.kind.startsWith('filesystem.') && ops[i]!.kind !== 'filesystem.grow') {
      const batch: PlannedOp[] = [];
      while (i < ops.length && ops[i]!.kind.startsWith('filesystem.') && ops[i]!.kind !== 'filesystem.grow') batch.push(ops[i++]!);
      await inParallel(batch, Math.max(1, cpus().length), (x) => applyOp(ctx, o, x));
      continue;
    }
    await applyOp(ctx, o, ops[i++]!);
  }
}

async function inParallel<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const x = items[next++]!;
      try {
        await fn(x);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
}

async function applyOp(ctx: StageContext, o: DisksOptions, x: PlannedOp): Promise<void> {
  const d = x.details;
  const log = ctx.log;
  log.info({ op: x.kind, pointer: x.pointer }, `disks: [started] ${x.summary}`);
  switch (x.kind) {
    case 'disk.relocate-backup-gpt':
    case 'disk.wipe-table':
    case 'partition.keep':
    case 'partition.create':
    case 'partition.delete':
    case 'partition.resize':
    case 'partition.recreate':
    case 'partition.absent':
      break; // carried out together by the disk's partition.commit op that follows them
    case 'partition.commit':
      await commitTable(x, o, d.device as string, d.write as boolean, d.wipe === true, d.sgdiskArgs as string[], d.expect as TablePartition[]);
      break;
    case 'raid.create': {
      const md = entryAt<{ name: string; level?: string; spares?: number; options?: string[] }>(ctx, x.pointer);
      const devices = d.devices as string[];
      for (const dev of devices) await waitForDevice(dev);
      journalBegin(o.stateDir, d.device as string, { op: 'raid.create', pointer: x.pointer });
      await run('mdadm', mdadmCreateArgs({ name: md.name, level: md.level, spares: md.spares, options: md.options }, devices));
      journalEnd(o.stateDir, d.device as string);
      await waitForDevice(d.device as string);
      break;
    }
    case 'raid.assemble':
      if (!existsSync(d.device as string)) await run('mdadm', ['--assemble', d.device as string, ...(d.devices as string[])]);
      await waitForDevice(d.device as string);
      break;
    case 'luks.format':
    case 'luks.open':
      await applyLuks(ctx, o, x);
      break;
    case 'filesystem.create':
    case 'filesystem.reuse':
    case 'filesystem.decide':
      await applyFilesystem(ctx, o, x);
      break;
    case 'filesystem.grow':
      await growFilesystem(o, x);
      break;
    default:
      fail(x, `unknown disks operation ${x.kind}`);
  }
  log.info({ op: x.kind, pointer: x.pointer }, `disks: [finished] ${x.summary}`);
}

async function commitTable(x: PlannedOp, o: DisksOptions, device: string, write: boolean, wipe: boolean, args: string[], expect: TablePartition[]): Promise<void> {
  if (write) {
    // The plan refused active partitions; one mounted (or swapped on) since then is refused here,
    // before the table is written.
    const use = diskUsage(device);
    const changed = args.map((a) => /^--delete=(\d+)$/.exec(a)).filter((m) => m).map((m) => Number(m![1]));
    for (const [n, u] of use?.partitions ?? []) {
      if ((wipe || changed.includes(n)) && inUse(u)) fail(x, `refusing to modify active partition ${n} on ${device}: ${describeUsage(u)} (it became active after the plan was made)`);
    }
    await writePlannedTable(device, expect, { wipe, writer: o.gptWriter, sgdiskArgs: args });
  }
  const got = probeDisk(device);
  const table = got.gpt?.partitions ?? [];
  const problems: string[] = [];
  if (table.length !== expect.length) problems.push(`${table.length} partitions instead of ${expect.length}`);
  for (const e of expect) {
    const p = table.find((t) => t.number === e.number);
    if (!p) problems.push(`partition ${e.number} missing`);
    else if (p.startLba !== e.start || p.sizeSectors !== e.size || p.label !== e.label || !sameGuid(p.typeGuid, e.typeGuid) || (e.guid && !sameGuid(p.guid, e.guid))) {
      problems.push(`partition ${e.number} is ${p.startLba}+${p.sizeSectors} "${p.label}" ${p.typeGuid}, planned ${e.start}+${e.size} "${e.label}" ${e.typeGuid}`);
    }
  }
  if (problems.length) fail(x, `the partition table of ${device} differs from the plan: ${problems.join('; ')}`);
  if (got.isBlockDevice) {
    try {
      await syncKernelPartitions(device);
    } catch (e) {
      fail(x, `the kernel did not take the new partitions of ${device}: ${(e as Error).message}`, e);
    }
  }
}

async function applyFilesystem(ctx: StageContext, o: DisksOptions, x: PlannedOp): Promise<void> {
  const d = x.details;
  const device = d.device as string;
  const fs = entryAt<Filesystem>(ctx, x.pointer);
  try {
    await waitForDevice(device);
  } catch (e) {
    fail(x, (e as Error).message, e);
  }
  let create = x.kind === 'filesystem.create';
  if (x.kind !== 'filesystem.create') {
    const found = await probeFilesystem(device);
    const decision = decideFilesystem(fs, found);
    if (decision.action === 'error') fail(x, `filesystem on ${fs.device}: ${decision.why}`);
    if (x.kind === 'filesystem.reuse' && decision.action !== 'reuse') fail(x, `filesystem on ${device} changed since it was planned (${decision.why}); plan again`);
    create = decision.action === 'create';
  }
  if (!create) return;
  const mk = mkfsCommand(fs);
  journalBegin(o.stateDir, device, { op: 'filesystem.create', format: fs.format, pointer: x.pointer });
  await run('wipefs', ['-a', device]);
  if (mk) await run(mk.tool, [...mk.args, device]);
  journalEnd(o.stateDir, device);
}

async function luksKeyFile(ctx: StageContext, o: DisksOptions, l: Luks, x: PlannedOp): Promise<{ path: string; generated: boolean }> {
  const dir = join(o.stateDir, 'luks-keyfiles');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, l.name);
  if (l.keyFile?.source) {
    let key: Buffer;
    try {
      key = await fetchResource(l.keyFile, { ...platformFetchOptions(ctx.platform), httpResponseHeaders: ctx.config.ignition.timeouts?.httpResponseHeaders, httpTotal: ctx.config.ignition.timeouts?.httpTotal, proxy: ctx.config.ignition.proxy });
    } catch (e) {
      fail(x, `LUKS ${l.name}: the key file could not be fetched: ${(e as Error).message}`, e);
    }
    rmSync(path, { force: true });
    writeFileSync(path, key, { mode: 0o400 });
    return { path, generated: false };
  }
  if (!existsSync(path)) {
    // Ignition's generated key: 4096 random bytes as hex (8192 characters). Kept across an
    // interrupted run: a volume formatted with it must stay openable.
    writeFileSync(path, randomBytes(4096).toString('hex'), { mode: 0o400 });
  }
  return { path, generated: true };
}

type StateKeys = { luksPersistKeyFiles?: Record<string, string> | null } | undefined;

/**
 * Hand the key to the files stage as Ignition does: the state file's luksPersistKeyFiles (a data:
 * URL), beside the copy in STATE/luks-keyfiles. The files stage copies it to /etc/luks/NAME and
 * then forgets both (stages/files/crypttab.ts).
 */
function persistKey(ctx: StageContext, name: string, keyPath: string): void {
  const state = (ctx.options ?? {}).state as StateKeys;
  if (!state || typeof state !== 'object') return;
  (state.luksPersistKeyFiles ??= {})[name] = `data:application/octet-stream;base64,${readFileSync(keyPath).toString('base64')}`;
}

function forgetKey(ctx: StageContext, name: string, keyPath: string): void {
  const state = (ctx.options ?? {}).state as StateKeys;
  if (state?.luksPersistKeyFiles) delete state.luksPersistKeyFiles[name];
  rmSync(keyPath, { force: true });
}

async function applyLuks(ctx: StageContext, o: DisksOptions, x: PlannedOp): Promise<void> {
  const d = x.details;
  const l = entryAt<Luks>(ctx, x.pointer);
  const device = d.device as string;
  await waitForDevice(device);
  const { path: key, generated } = await luksKeyFile(ctx, o, l, x);
  // Recorded before anything can fail, as Ignition does ("so device reuse works correctly").
  persistKey(ctx, l.name, key);
  const mapper = d.mapper as string;
  if (x.kind === 'luks.format') {
    if (existsSync(mapper)) await run('cryptsetup', ['close', l.name]);
    journalBegin(o.stateDir, device, { op: 'luks.format', pointer: x.pointer });
    await run('wipefs', ['-a', device]);
    await run('cryptsetup', luksFormatArgs(l, device, key));
    journalEnd(o.stateDir, device);
  }
  if (!existsSync(mapper)) await run('cryptsetup', luksOpenArgs(l, device, key));
  const clevis = clevisConfig(l);
  if (clevis && x.kind === 'luks.format') {
    await run('clevis', ['luks', 'bind', '-f', '-k', key, '-d', device, clevis.pin, clevis.config]);
    if (generated) {
      // Ignition: a generated key only bootstraps clevis; it is removed from the volume and never
      // persisted (crypttab then names no key file).
      await run('cryptsetup', ['luksRemoveKey', device, key]);
      forgetKey(ctx, l.name, key);
    }
  }
  await waitForDevice(mapper);
}

async function growFilesystem(o: DisksOptions, x: PlannedOp): Promise<void> {
  const d = x.details;
  const device = d.device as string;
  await waitForDevice(device);
  const format = d.format as string;
  // Grown while mounted: the kernel does it transactionally, so a crash cannot leave it half done
  // (an offline resize2fs could), and xfs and btrfs only grow mounted anyway.
  // Online ext4 growth needs CAP_SYS_RESOURCE; known up front, so without it go offline directly.
  let offline = format.startsWith('ext') && !hasCapability(24);
  if (offline) {
    await growExtOffline(x, device);
    return;
  }
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  const mnt = mkdtempSync(join(o.stateDir, 'grow-'));
  await run('mount', ['-t', format, device, mnt]);
  try {
    if (format.startsWith('ext')) {
      const r = await run('resize2fs', [device], { allowFailure: true });
      // Online growth needs CAP_SYS_RESOURCE; without it (containers) grow it unmounted instead.
      if (r.exitCode !== 0) {
        if (!/Permission denied|Operation not permitted/.test(r.stderr)) fail(x, `resize2fs ${device} failed: ${r.stderr.trim()}`);
        offline = true;
      }
    } else if (format === 'xfs') await run('xfs_growfs', [mnt]);
    else if (format === 'btrfs') await run('btrfs', ['filesystem', 'resize', 'max', mnt]);
  } finally {
    await run('umount', [mnt]);
    rmdirSync(mnt);
  }
  if (offline) await growExtOffline(x, device);
}

async function growExtOffline(x: PlannedOp, device: string): Promise<void> {
  // e2fsck exits 1 when it fixed something; resize2fs insists on a fresh check first.
  const f = await run('e2fsck', ['-f', '-p', device], { allowFailure: true });
  if (f.exitCode > 1) fail(x, `e2fsck ${device} found problems it could not fix: ${f.stdout.trim()} ${f.stderr.trim()}`);
  await run('resize2fs', [device]);
}

/** Whether this process holds a capability (CapEff in /proc/self/status; 24 = CAP_SYS_RESOURCE). */
function hasCapability(bit: number): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return !!m && ((BigInt('0x' + m[1]) >> BigInt(bit)) & 1n) === 1n;
  } catch {
    return true;
  }
}
