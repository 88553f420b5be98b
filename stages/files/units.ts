// systemd.units, after all storage entries (Ignition's createUnits, internal/exec/stages/files/
// units.go and util/unit.go). Per unit, in config order: its drop-ins that have contents (an empty
// string counts: an empty drop-in is written), then the unit file when its contents are non-empty,
// then mask (a link to /dev/null, replacing whatever is there) or, for mask: false, removing such a
// link if there is one. enabled true/false becomes a line of
// /etc/systemd/system-preset/20-ignition.preset, written after all units: one line per unit, template
// instances collapsed into "enable name@.service inst1 inst2", lines sorted; a disabled unit first
// loses its enablement symlinks ("systemctl --root ROOT disable UNIT"). Files are 0644 root:root.
import { mkdir, open, readlink, rm, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Dropin, Unit } from '../../src/config/types.js';
import { KindlingError } from '../../src/errors.js';
import { resolveInRoot } from '../../src/root/resolve.js';
import { run } from '../../src/system/exec.js';
import type { StageContextConfig } from './context.js';
import type { FilesOp } from './types.js';
import { entryAt, errno } from './util.js';
import { writeRootOwnedFile } from './atomic.js';

export const UNITS_DIR = '/etc/systemd/system';
export const PRESET_PATH = '/etc/systemd/system-preset/20-ignition.preset';

interface Preset {
  unit: string;
  enabled: boolean;
  instances: string[];
  template: boolean;
  pointer: string;
}

/** "echo@bar.service" -> ["echo@.service", "bar"] (Ignition's parseInstanceUnit). */
export function parseInstance(name: string): [string, string] {
  const at = name.indexOf('@');
  const dot = name.lastIndexOf('.');
  if (at === -1 || dot === -1 || dot < at) throw new KindlingError('files', `invalid instantiated unit name "${name}"`);
  return [name.slice(0, at + 1) + name.slice(dot), name.slice(at + 1, dot)];
}

export function planUnits(cfg: StageContextConfig): FilesOp[] {
  const ops: FilesOp[] = [];
  const presets = new Map<string, Preset>();
  for (const [i, u] of (cfg.config.systemd?.units ?? []).entries()) {
    const pointer = `/systemd/units/${i}`;
    for (const [j, d] of (u.dropins ?? []).entries()) {
      if (d.contents === undefined) continue;
      const p = path.posix.join(UNITS_DIR, `${u.name}.d`, d.name);
      ops.push({ kind: 'unit.dropin', pointer: `${pointer}/dropins/${j}`, summary: `drop-in ${p} (0644, ${Buffer.byteLength(d.contents)} bytes)`, details: { unit: u.name, name: d.name, path: p } });
    }
    if (u.contents) {
      const p = path.posix.join(UNITS_DIR, u.name);
      ops.push({ kind: 'unit.write', pointer, summary: `unit ${p} (0644, ${Buffer.byteLength(u.contents)} bytes)`, details: { unit: u.name, path: p } });
    }
    if (u.enabled !== undefined) {
      const id = u.enabled ? 'enabled' : 'disabled';
      // As Ignition: any name with "@" is treated as an instance ("a@.service" gives instance "").
      if (u.name.includes('@')) {
        const [template, instance] = parseInstance(u.name);
        const key = `${template}-${id}`;
        const cur = presets.get(key);
        if (cur) cur.instances.push(instance);
        else presets.set(key, { unit: template, enabled: u.enabled, instances: [instance], template: true, pointer });
      } else {
        presets.set(`${u.name}-${id}`, { unit: u.name, enabled: u.enabled, instances: [], template: false, pointer });
      }
    }
    if (u.mask === true) {
      const p = path.posix.join(UNITS_DIR, u.name);
      ops.push({ kind: 'unit.mask', pointer, summary: `mask ${u.name}: ${p} -> /dev/null`, details: { unit: u.name, path: p } });
    } else if (u.mask === false) {
      const p = path.posix.join(UNITS_DIR, u.name);
      ops.push({ kind: 'unit.unmask', pointer, summary: `unmask ${u.name} (remove ${p} if it links to /dev/null)`, details: { unit: u.name, path: p } });
    }
  }
  const keys = [...presets.keys()].sort();
  for (const key of keys) {
    const p = presets.get(key)!;
    const unitString = p.template ? `${p.unit} ${p.instances.join(' ')}` : p.unit;
    const line = `${p.enabled ? 'enable' : 'disable'} ${unitString}`;
    ops.push({
      kind: 'unit.preset',
      pointer: p.pointer,
      summary: `preset "${line}" in ${PRESET_PATH}${p.enabled ? '' : ' (after removing its enablement symlinks)'}`,
      details: { line, unit: unitString, disable: !p.enabled, path: PRESET_PATH },
    });
  }
  return ops;
}

/** Ignition's PerformFetch for a unit: temp file beside it, 0644 root:root, renamed over. */
async function writeUnitFile(cfg: StageContextConfig, inRoot: string, contents: string): Promise<void> {
  const p = await resolveInRoot(cfg.root, inRoot);
  await writeRootOwnedFile(cfg, p, contents, 0o644, cfg.fsync);
}

export async function applyUnitOp(cfg: StageContextConfig, op: FilesOp): Promise<void> {
  const d = op.details as { unit: string; path: string; line?: string; disable?: boolean };
  try {
    switch (op.kind) {
      case 'unit.dropin':
        return await writeUnitFile(cfg, d.path, entryAt<Dropin>(cfg.config, op.pointer).contents ?? '');
      case 'unit.write':
        return await writeUnitFile(cfg, d.path, entryAt<Unit>(cfg.config, op.pointer).contents ?? '');
      case 'unit.mask': {
        const p = await resolveInRoot(cfg.root, d.path);
        await mkdir(path.dirname(p), { recursive: true, mode: 0o755 });
        await rm(p, { recursive: true, force: true });
        await symlink('/dev/null', p);
        return;
      }
      case 'unit.unmask': {
        const p = await resolveInRoot(cfg.root, d.path);
        let target: string | undefined;
        try {
          target = await readlink(p);
        } catch (err) {
          // Missing, or not a symlink (EINVAL): not masked.
          if (errno(err) === 'ENOENT' || errno(err) === 'EINVAL') return;
          throw err;
        }
        if (target === '/dev/null') await unlink(p);
        return;
      }
      case 'unit.preset': {
        if (d.disable) {
          try {
            await run(cfg.systemctl, ['--root', cfg.root, 'disable', d.unit]);
          } catch (err) {
            throw new KindlingError('files', `cannot remove the enablement symlink(s) of ${d.unit}: ${(err as Error).message}`, { cause: err });
          }
        }
        const p = await resolveInRoot(cfg.root, PRESET_PATH);
        await mkdir(path.dirname(p), { recursive: true, mode: 0o755 });
        const fh = await open(p, 'a', 0o644);
        try {
          await fh.write(`${d.line}\n`);
          if (cfg.fsync) await fh.sync();
        } finally {
          await fh.close();
        }
        return;
      }
      default:
        throw new KindlingError('files', `internal error: ${op.kind} is not a unit operation`);
    }
  } catch (err) {
    if (err instanceof KindlingError && err.location) throw err;
    const msg = err instanceof KindlingError ? err.message : (err as Error).message;
    throw new KindlingError('files', `failed to ${op.kind.slice(5)} unit ${d.unit}: ${msg}`, { location: { pointer: op.pointer }, cause: err });
  }
}
