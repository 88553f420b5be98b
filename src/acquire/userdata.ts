// What a provider's bytes are. Ignition parses them as a config; an empty body is ErrEmpty ("no
// config provided": the boot continues with an empty config). Flatcar also lets the same user-data
// field carry a coreos-cloudinit cloud-config or a script, which coreos-cloudinit runs later in the
// real root: those are recognised by their first line and skipped here, with a message, rather than
// failing the boot on "not valid JSON". (Ignition's own IsCloudConfig/IsShellScript helpers test
// "#cloud-config\n" and "#!/bin/"; any "#!" interpreter line is treated as a script.)
export type UserDataKind = 'empty' | 'cloud-config' | 'script' | 'config';

export function classifyUserData(data: Buffer | null | undefined): UserDataKind {
  if (!data || data.length === 0) return 'empty';
  // A BOM or leading blank lines do not change what the file is.
  let text = data.subarray(0, 64).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '' && data.toString('utf8').trim() === '') return 'empty';
  if (/^#cloud-config\s*(\r?\n|$)/.test(text)) return 'cloud-config';
  if (text.startsWith('#!')) return 'script';
  return 'config';
}

export function describeSkipped(kind: UserDataKind, source: string): string {
  switch (kind) {
    case 'cloud-config':
      return `the user data from ${source} is a cloud-config (#cloud-config), not an Ignition config: ignoring it here (coreos-cloudinit handles it after boot)`;
    case 'script':
      return `the user data from ${source} is a script (#!), not an Ignition config: ignoring it here (coreos-cloudinit handles it after boot)`;
    case 'empty':
      return `no config provided by ${source}: continuing with an empty config`;
    default:
      return '';
  }
}
