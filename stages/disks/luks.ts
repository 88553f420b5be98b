// LUKS2 volumes through cryptsetup, after Ignition's luks.go: the key comes from keyFile (fetched)
// or is generated (4096 random bytes as hex, 8192 characters, as Ignition) and kept under the state directory so that later
// stages (files: /etc/luks/NAME, crypttab) can persist it; the volume is opened as
// /dev/mapper/NAME for the filesystems and the mount stage. Clevis (tang, tpm2) is bound only when
// the clevis tool exists; otherwise the plan fails with a clear error rather than leaving a volume
// that cannot be unlocked at the next boot.
import type { Luks } from '../../src/config/types.js';

export function luksDevicePath(name: string): string {
  return `/dev/mapper/${name}`;
}

export function luksFormatArgs(l: Luks, device: string, keyFile: string): string[] {
  const args = ['luksFormat', '--batch-mode', '--type', 'luks2', '--key-file', keyFile];
  if (l.label) args.push('--label', l.label);
  if (l.uuid) args.push('--uuid', l.uuid);
  args.push(...(l.options ?? []));
  args.push(device);
  return args;
}

export function luksOpenArgs(l: Luks, device: string, keyFile: string): string[] {
  // --persistent (Ignition ≥ 2.15): discard and the open options are stored in the LUKS2 header,
  // so every later unlock (systemd-cryptsetup, clevis) applies them; crypttab leaves them out.
  const args = ['luksOpen', '--batch-mode', device, l.name, '--key-file', keyFile, '--persistent'];
  if (l.discard) args.push('--allow-discards');
  args.push(...(l.openOptions ?? []));
  return args;
}

/** The sss pin config clevis binds with, from the config's clevis section. */
export function clevisConfig(l: Luks): { pin: string; config: string } | undefined {
  const c = l.clevis;
  if (!c) return undefined;
  if (c.custom?.pin) return { pin: c.custom.pin, config: c.custom.config ?? '{}' };
  const pins: Record<string, unknown> = {};
  if (c.tang?.length) pins.tang = c.tang.map((t) => ({ url: t.url, ...(t.thumbprint ? { thp: t.thumbprint } : {}), ...(t.advertisement ? { adv: JSON.parse(t.advertisement) } : {}) }));
  if (c.tpm2) pins.tpm2 = {};
  if (Object.keys(pins).length === 0) return undefined;
  return { pin: 'sss', config: JSON.stringify({ t: c.threshold ?? 1, pins }) };
}
