// GUIDs as GPT stores them (mixed endian: the first three fields little-endian) and as people write
// them. Partition type aliases are the names Flatcar's disk_layout.json and Ignition's test suite use.
import { randomBytes } from 'node:crypto';

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const TYPE_GUIDS = {
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  data: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  efi: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  bios: '21686148-6449-6E6F-744E-656564454649',
  'flatcar-rootfs': '5DFBF5F4-2848-4BAC-AA5E-0D9A20B745A6',
  'coreos-rootfs': '5DFBF5F4-2848-4BAC-AA5E-0D9A20B745A6',
  'flatcar-resize': '3884DD41-8582-4404-B9A8-E9B84F2DF50E',
  'coreos-resize': '3884DD41-8582-4404-B9A8-E9B84F2DF50E',
  'flatcar-reserved': 'C95DC21A-DF0E-4340-8D7B-26CBFA9A03E0',
  'coreos-reserved': 'C95DC21A-DF0E-4340-8D7B-26CBFA9A03E0',
  raid: 'A19D880F-05FC-4D3B-A006-743F0F84911E',
  swap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  luks: 'CA7D7CCB-63ED-4C53-861C-1742536059CC',
} as const;

/** sgdisk's default type for a partition created without --typecode (8300, Linux filesystem). */
export const DEFAULT_TYPE_GUID = TYPE_GUIDS.linux;
export const FLATCAR_RESIZE_TYPE = TYPE_GUIDS['flatcar-resize'];

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

/** Upper-case canonical form; accepts the aliases above (case-insensitive). */
export function canonicalGuid(s: string): string {
  const alias = (TYPE_GUIDS as Record<string, string>)[s.toLowerCase()];
  return (alias ?? s).toUpperCase();
}

export function sameGuid(a: string, b: string): boolean {
  return canonicalGuid(a).replace(/-/g, '') === canonicalGuid(b).replace(/-/g, '');
}

export function guidFromBytes(b: Uint8Array): string {
  const h = (i: number, n: number, le: boolean): string => {
    const bytes = Array.from(b.subarray(i, i + n));
    if (le) bytes.reverse();
    return bytes.map((x) => x.toString(16).padStart(2, '0')).join('');
  };
  return `${h(0, 4, true)}-${h(4, 2, true)}-${h(6, 2, true)}-${h(8, 2, false)}-${h(10, 6, false)}`.toUpperCase();
}

export function guidToBytes(guid: string): Buffer {
  if (!isGuid(guid)) throw new Error(`not a GUID: ${guid}`);
  const hex = guid.replace(/-/g, '');
  const raw = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out.set(Buffer.from(raw.subarray(0, 4)).reverse(), 0);
  out.set(Buffer.from(raw.subarray(4, 6)).reverse(), 4);
  out.set(Buffer.from(raw.subarray(6, 8)).reverse(), 6);
  out.set(raw.subarray(8, 16), 8);
  return out;
}

export function isZeroGuid(g: string): boolean {
  return /^[0-]+$/.test(g);
}

/** A random version-4 GUID, upper case. */
export function randomGuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`.toUpperCase();
}
