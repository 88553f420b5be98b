// The semantic rules Ignition 2.x (spec2x branch) checked on a decoded 2.x config, with its error
// sentences. Runs on the cleaned document of `checkShape`; records into a Report, never throws.
import { bool, int, list, obj, str, type Json, type JsonObject, type Path, type Report } from './check.js';

const UNIT_TYPES = ['service', 'socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer', 'snapshot', 'slice', 'scope'];
const NETWORKD_TYPES = ['link', 'netdev', 'network'];
const RAID_LEVELS = ['linear', 'raid0', '0', 'stripe', 'raid1', '1', 'mirror', 'raid4', '4', 'raid5', '5', 'raid6', '6', 'raid10', '10'];
const GUID = /^(|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const LABEL_LIMITS: Record<string, number> = { ext4: 16, btrfs: 256, xfs: 12, swap: 15, vfat: 11 };

function isAbsolute(p: string | undefined): boolean {
  return typeof p === 'string' && p.startsWith('/');
}

/** The scheme of a URL as Go's url.Parse sees it ("" when there is none). */
export function urlScheme(s: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(s);
  return m ? m[1].toLowerCase() : '';
}

/** Ignition 2.x validateURL: "" is an empty file; otherwise http(s), tftp, s3, oem or a valid data URL. */
export function urlError(s: string, minor: number): string | undefined {
  if (s === '') return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(s) || /%(?![0-9a-fA-F]{2})/.test(s)) return 'unable to parse url';
  const scheme = urlScheme(s);
  switch (scheme) {
    case 'http':
    case 'https':
    case 'tftp':
    case 'oem':
      return undefined;
    case 's3': {
      if (minor >= 4) {
        const q = s.indexOf('?');
        if (q !== -1) {
          const params = new URLSearchParams(s.slice(q + 1).split('#')[0]);
          if (params.has('versionId') && params.get('versionId') === '') return 'invalid S3 object VersionId';
        }
      }
      return undefined;
    }
    case 'data':
      return dataUrlError(s);
    default:
      return 'invalid url scheme';
  }
}

function dataUrlError(s: string): string | undefined {
  const comma = s.indexOf(',');
  if (comma === -1) return 'invalid data url: missing comma';
  const header = s.slice(5, comma);
  if (header.toLowerCase().endsWith(';base64')) {
    let body: string;
    try {
      body = decodeURIComponent(s.slice(comma + 1));
    } catch {
      return 'invalid data url: bad escape';
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 === 1) return 'invalid data url: bad base64 data';
  }
  return undefined;
}

/** "sha512-<128 hex digits>", the only function spec 2.x knows. */
export function hashError(h: string): string | undefined {
  const dash = h.indexOf('-');
  if (dash === -1) return 'malformed hash specifier';
  const fn = h.slice(0, dash);
  const sum = h.slice(dash + 1);
  if (fn !== 'sha512') return 'unrecognized hash function';
  if (!/^[0-9a-fA-F]*$/.test(sum)) return 'malformed hash specifier';
  if (sum.length !== 128) return 'incorrect size for hash sum';
  return undefined;
}

function checkReference(ref: JsonObject, path: Path, minor: number, r: Report): void {
  const source = str(ref.source) ?? '';
  const err = urlError(source, minor);
  if (err) r.error([...path, 'source'], err);
  const hash = str(obj(ref.verification).hash);
  if (hash !== undefined) {
    const herr = hashError(hash);
    if (herr) r.error([...path, 'verification', 'hash'], herr);
  }
  if (ref.compression !== undefined) {
    const c = str(ref.compression);
    if (c !== '' && c !== 'gzip') r.error([...path, 'compression'], 'invalid compression method');
  }
  checkHeaders(list(ref.httpHeaders), source, [...path, 'httpHeaders'], r);
}

function checkHeaders(headers: Json[], source: string, path: Path, r: Report): void {
  if (headers.length === 0) return;
  const scheme = urlScheme(source);
  if (scheme !== 'http' && scheme !== 'https') r.error(path, 'cannot use HTTP headers with this source scheme');
  const seen = new Set<string>();
  headers.forEach((h, i) => {
    const name = str(obj(h).name) ?? '';
    if (name === '') r.error([...path, i, 'name'], "HTTP header name can't be empty");
    else if (seen.has(name)) r.error([...path, i, 'name'], 'all header names in the list must be unique');
    seen.add(name);
  });
}

function checkNode(node: JsonObject, path: Path, r: Report): void {
  if ((str(node.filesystem) ?? '') === '') r.error([...path, 'filesystem'], 'no filesystem specified');
  if (!isAbsolute(str(node.path))) r.error([...path, 'path'], 'path not absolute');
  for (const who of ['user', 'group'] as const) {
    const o = obj(node[who]);
    if (int(o.id) !== undefined && (str(o.name) ?? '') !== '') r.error([...path, who], 'cannot set both id and name');
  }
}

function checkMode(node: JsonObject, path: Path, r: Report): void {
  const mode = int(node.mode);
  if (mode !== undefined && (mode < 0 || mode > 0o7777)) r.error([...path, 'mode'], 'illegal file mode');
}

function suffix(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1);
}

/** Every rule of spec 2.x (minor version `minor`) on a shape-checked document. */
export function checkRules2(doc: JsonObject, minor: number, r: Report): void {
  const ign = obj(doc.ignition);
  const cfg = obj(ign.config);
  list(cfg.append).forEach((ref, i) => checkReference(obj(ref), ['ignition', 'config', 'append', i], minor, r));
  if (cfg.replace !== undefined) checkReference(obj(cfg.replace), ['ignition', 'config', 'replace'], minor, r);
  list(obj(obj(ign.security).tls).certificateAuthorities).forEach((ref, i) =>
    checkReference(obj(ref), ['ignition', 'security', 'tls', 'certificateAuthorities', i], minor, r),
  );

  const storage = obj(doc.storage);
  list(storage.disks).forEach((d, i) => checkDisk(obj(d), ['storage', 'disks', i], r));
  list(storage.raid).forEach((a, i) => checkRaid(obj(a), ['storage', 'raid', i], r));
  list(storage.filesystems).forEach((fs, i) => checkFilesystem(obj(fs), ['storage', 'filesystems', i], minor, r));
  list(storage.files).forEach((f, i) => {
    const file = obj(f);
    const path: Path = ['storage', 'files', i];
    checkNode(file, path, r);
    checkMode(file, path, r);
    if (bool(file.append) === true && bool(file.overwrite) === true) r.error([...path, 'append'], 'cannot set both append and overwrite to true');
    checkReference(obj(file.contents), [...path, 'contents'], minor, r);
  });
  list(storage.directories).forEach((d, i) => {
    checkNode(obj(d), ['storage', 'directories', i], r);
    checkMode(obj(d), ['storage', 'directories', i], r);
  });
  list(storage.links).forEach((l, i) => checkNode(obj(l), ['storage', 'links', i], r));

  list(obj(doc.systemd).units).forEach((u, i) => {
    const unit = obj(u);
    const name = str(unit.name) ?? '';
    if (!UNIT_TYPES.includes(suffix(name))) r.error(['systemd', 'units', i, 'name'], 'invalid systemd unit extension');
    list(unit.dropins).forEach((d, j) => {
      if (suffix(str(obj(d).name) ?? '') !== 'conf') r.error(['systemd', 'units', i, 'dropins', j, 'name'], 'invalid systemd drop-in extension');
    });
  });
  list(obj(doc.networkd).units).forEach((u, i) => {
    const unit = obj(u);
    if (!NETWORKD_TYPES.includes(suffix(str(unit.name) ?? ''))) r.error(['networkd', 'units', i, 'name'], 'invalid networkd unit extension');
    list(unit.dropins).forEach((d, j) => {
      if (suffix(str(obj(d).name) ?? '') !== 'conf') r.error(['networkd', 'units', i, 'dropins', j, 'name'], 'invalid networkd drop-in extension');
    });
  });

  list(obj(doc.passwd).users).forEach((u, i) => {
    const user = obj(u);
    if (user.create === undefined) return;
    const path: Path = ['passwd', 'users', i];
    r.warn([...path, 'create'], 'the create object has been deprecated in favor of user-level options');
    for (const key of ['uid', 'gecos', 'homeDir', 'noCreateHome', 'noLogInit', 'noUserGroup', 'primaryGroup', 'shell', 'system', 'groups']) {
      const v = user[key];
      const set = v !== undefined && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0);
      if (set) r.error([...path, key], `cannot use both the create object and the user-level ${key} field`);
    }
  });
}

function checkDisk(disk: JsonObject, path: Path, r: Report): void {
  const device = str(disk.device) ?? '';
  if (device === '') r.error([...path, 'device'], 'disk device is required');
  else if (!isAbsolute(device)) r.error([...path, 'device'], 'path not absolute');
  const numbers = new Set<number>();
  list(disk.partitions).forEach((p, i) => {
    const part = obj(p);
    const pp: Path = [...path, 'partitions', i];
    const label = str(part.label);
    if (label !== undefined) {
      // GPT names are 36 UTF-16 code units; Ignition counted bytes.
      if (Buffer.byteLength(label) > 36) r.error([...pp, 'label'], 'partition labels may not exceed 36 characters');
      if (label.includes(':')) r.error([...pp, 'label'], 'partition label will be truncated to text before the colon');
    }
    for (const key of ['typeGuid', 'guid']) {
      const g = str(part[key]);
      if (g !== undefined && !GUID.test(g)) r.error([...pp, key], `doesn't match the form "01234567-89AB-CDEF-EDCB-A98765432101"`);
    }
    const sectors = part.size !== undefined || part.start !== undefined;
    if (sectors && (part.sizeMiB !== undefined || part.startMiB !== undefined)) r.error(pp, 'cannot mix MBs and sectors within a disk');
    if (bool(part.shouldExist) === false) {
      if (label !== undefined || (str(part.typeGuid) ?? '') !== '' || (str(part.guid) ?? '') !== '' || sectors) {
        r.error([...pp, 'shouldExist'], 'shouldExist specified false with other options also specified');
      }
    }
    const n = int(part.number) ?? 0;
    if (n !== 0) {
      if (numbers.has(n)) r.error([...pp, 'number'], 'partition numbers collide');
      numbers.add(n);
    }
  });
}

function checkRaid(raid: JsonObject, path: Path, r: Report): void {
  const level = str(raid.level) ?? '';
  if (!RAID_LEVELS.includes(level)) r.error([...path, 'level'], 'unrecognized raid level');
  else if ((int(raid.spares) ?? 0) > 0 && ['linear', 'raid0', '0', 'stripe'].includes(level)) {
    r.error([...path, 'spares'], 'spares unsupported for arrays with a level greater than 0');
  }
  list(raid.devices).forEach((d, i) => {
    if (!isAbsolute(str(d))) r.error([...path, 'devices', i], 'path not absolute');
  });
}

function checkFilesystem(fs: JsonObject, path: Path, minor: number, r: Report): void {
  const mount = fs.mount === undefined ? undefined : obj(fs.mount);
  if (mount === undefined && fs.path === undefined) r.error(path, 'filesystem is missing mount or path');
  if (fs.path !== undefined && !isAbsolute(str(fs.path))) r.error([...path, 'path'], `filesystem "${str(fs.name) ?? ''}": path not absolute`);
  if (mount === undefined) return;
  const mp: Path = [...path, 'mount'];
  if (fs.path !== undefined) r.error(path, 'filesystem has both mount and path defined');
  const format = str(mount.format) ?? '';
  const formats = minor >= 1 ? ['ext4', 'btrfs', 'xfs', 'swap', 'vfat'] : ['ext4', 'btrfs', 'xfs'];
  if (!formats.includes(format)) r.error([...mp, 'format'], 'invalid filesystem format');
  if (!isAbsolute(str(mount.device))) r.error([...mp, 'device'], 'path not absolute');
  const label = str(mount.label);
  if (label !== undefined && LABEL_LIMITS[format] !== undefined && label.length > LABEL_LIMITS[format]) {
    r.error([...mp, 'label'], `filesystem labels cannot be longer than ${LABEL_LIMITS[format]} characters when using ${format}`);
  }
  if (mount.create !== undefined) {
    if (bool(mount.wipeFilesystem) === true) r.error([...mp, 'create'], 'cannot use both create object and wipeFilesystem field');
    if (list(mount.options).length > 0) r.error([...mp, 'create'], 'cannot use both create object and mount-level options field');
    r.warn([...mp, 'create'], 'the create object has been deprecated in favor of mount-level options');
  }
}
