// RAID arrays through mdadm, the way Ignition creates them (internal/exec/stages/disks/raid.go):
// `mdadm --create /dev/md/NAME --force --run --homehost any --level L --raid-devices N-spares
//  [--spare-devices S] OPTIONS... DEVICES...`.
// Kindling adds one safety rule: an array whose members already carry this array's metadata is
// assembled (or left running), not recreated — a rerun after an interrupted boot keeps its data.
import type { Raid } from '../../src/config/types.js';

export function raidDevicePath(name: string): string {
  return `/dev/md/${name}`;
}

export function mdadmCreateArgs(md: Raid, devices: string[]): string[] {
  const spares = md.spares ?? 0;
  const args = ['--create', raidDevicePath(md.name), '--force', '--run', '--homehost', 'any', '--level', md.level ?? '', '--raid-devices', String(devices.length - spares)];
  if (spares > 0) args.push('--spare-devices', String(spares));
  args.push(...(md.options ?? []));
  args.push(...devices);
  return args;
}

/** blkid labels md members "HOMEHOST:NAME"; Ignition creates them with homehost "any". */
export function memberBelongsTo(label: string, name: string): boolean {
  const i = label.lastIndexOf(':');
  return (i >= 0 ? label.slice(i + 1) : label) === name;
}
