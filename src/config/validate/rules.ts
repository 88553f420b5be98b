// Ignition's value rules, one function per config type. Each checks only its own level (like the
// Validate methods of Ignition's types); ./walk.ts visits the tree and calls them. Messages are
// Ignition's own, so users and scripts see the same words from both.
import type {
  Clevis, ClevisCustom, Directory, Disk, Dropin, File, Filesystem, HttpHeader, Link, Luks, NodeUser,
  Partition, Proxy, Raid, Resource, Storage, Tang, Unit, Verification, Config,
} from '../types.js';
import type { Minor } from '../schema/spec.js';
import { Findings, type Path } from './report.js';
import { validateProxyUrl, validateUrl, validateUrlNilOk, ERR_INVALID_SCHEME, parseGoUrl } from './url.js';
import { hasInstallSection, validateDropinName, validateUnitContents, validateUnitName } from './unit-file.js';

export const MSG = {
  duplicate: 'duplicate entry defined',
  noPath: 'path not specified',
  pathRelative: 'path not absolute',
  dirtyPath: 'path is not fully simplified',
  sourceRequired: 'source is required',
  compressionInvalid: 'invalid compression method',
  verificationNilSource: 'source must be specified if verification is specified',
  overwriteNilSource: 'overwrite must be false if source is unspecified',
  hashMalformed: 'malformed hash specifier',
  hashWrongSize: 'incorrect size for hash sum',
  hashUnrecognized: 'unrecognized hash function',
  illegalMode: 'illegal file mode',
  modeSpecialBits: 'setuid/setgid/sticky bits are not supported in spec versions older than 3.4.0',
  bothIdAndName: 'cannot set both id and name',
  emptyHeaderName: "HTTP header name can't be empty",
  invalidHeader: 'unable to parse HTTP header',
  headersScheme: 'cannot use HTTP headers with this source scheme',
  linkTargetRequired: 'link target is required',
  hardLinkToDirectory: 'hard link target is a directory',
  hardLinkOwner: 'user/group ignored for hard link',
  fileUsedSymlink: 'file path includes link in config',
  directoryUsedSymlink: 'directory path includes link in config',
  linkUsedSymlink: 'link path includes link in config',
  partitionsOverwritten: 'filesystem overwrites partitioned device',
  filesystemImplicitWipe: 'device matches disk with wipeTable enabled; filesystem will be wiped',
  diskDeviceRequired: 'disk device is required',
  partitionNumbersCollide: 'partition numbers collide',
  partitionsOverlap: 'partitions overlap',
  zeroesWithShouldNotExist: 'shouldExist is false for a partition and other partition(s) has start or size 0',
  duplicateLabels: 'cannot use the same partition label twice',
  shouldNotExistWithOthers: 'shouldExist specified false with other options also specified',
  needLabelOrNumber: 'a partition number >= 1 or a label must be specified',
  labelTooLong: 'partition labels may not exceed 36 characters',
  labelContainsColon: 'partition label will be truncated to text before the colon',
  guidRegex: 'doesn\'t match the form "01234567-89AB-CDEF-EDCB-A98765432101"',
  filesystemInvalidFormat: 'invalid filesystem format',
  raidLevelRequired: 'raid level is required',
  sparesUnsupported: 'spares unsupported for linear and raid0 arrays',
  unrecognizedRaidLevel: 'unrecognized raid level',
  raidDevicesRequired: 'raid devices required',
  luksLabelTooLong: 'luks device labels cannot be longer than 47 characters',
  luksNameSlash: 'device names cannot contain slashes',
  invalidLuksKeyFile: 'invalid key-file source',
  clevisPinRequired: 'missing required custom clevis pin',
  clevisConfigRequired: 'missing required custom clevis config',
  clevisPinUnsupported: 'unsupported clevis pin',
  clevisCustomWithOthers: 'cannot use custom clevis config with tpm2, tang, or threshold',
  tangThumbprintRequired: 'thumbprint is required',
  tangAdvertisement: 'advertisement is not valid JSON',
  pathConflictsSystemd: 'path conflicts with systemd unit or dropin',
} as const;

export interface Ctx {
  minor: Minor;
  /** Spec 3.0's config and CA references do not check "verification needs a source" (files do). */
  noVerificationSourceCheck?: boolean;
}

const has = (s: string | undefined): s is string => s !== undefined && s !== '';

// ---- paths -------------------------------------------------------------------------------

/** Go's path.Clean for absolute paths. */
export function cleanPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const rooted = p.startsWith('/');
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

export function validatePath(p: string): string | undefined {
  if (p === '') return MSG.noPath;
  if (!p.startsWith('/')) return MSG.pathRelative;
  if (cleanPath(p) !== p) return MSG.dirtyPath;
  return undefined;
}

// ---- resources ---------------------------------------------------------------------------

export function validateHash(hash: string, ctx: Ctx): string | undefined {
  const dash = hash.indexOf('-');
  if (dash < 0) return MSG.hashMalformed;
  const fn = hash.slice(0, dash);
  const sum = hash.slice(dash + 1);
  const sizes: Record<string, number> = ctx.minor === 0 ? { sha512: 64 } : { sha512: 64, sha256: 32 };
  if (!(fn in sizes)) return MSG.hashUnrecognized;
  if (sum.length !== sizes[fn] * 2) return MSG.hashWrongSize;
  return undefined;
}

export function validateVerification(v: Verification | undefined, at: Path, out: Findings, ctx: Ctx): void {
  if (v?.hash !== undefined) out.error([...at, 'hash'], validateHash(v.hash, ctx));
}

/** gs:// exists from spec 3.2 and arn: from 3.4; each frozen older spec still says "invalid url scheme". */
function schemeNotInSpec(source: string | undefined, ctx: Ctx): string | undefined {
  const scheme = source === undefined ? '' : (parseGoUrl(source)?.scheme ?? '');
  if ((scheme === 'gs' && ctx.minor < 2) || (scheme === 'arn' && ctx.minor < 4)) return ERR_INVALID_SCHEME;
  return undefined;
}

export function validateResource(r: Resource, at: Path, out: Findings, ctx: Ctx): void {
  if (r.compression !== undefined && r.compression !== '' && r.compression !== 'gzip') out.error([...at, 'compression'], MSG.compressionInvalid);
  if (r.verification?.hash !== undefined && r.source === undefined && !ctx.noVerificationSourceCheck) out.error([...at, 'verification', 'hash'], MSG.verificationNilSource);
  out.error([...at, 'source'], validateUrlNilOk(r.source) ?? schemeNotInSpec(r.source, ctx));
  if (r.httpHeaders && r.httpHeaders.length > 0) {
    let err: string | undefined;
    if (!has(r.source)) err = 'unable to parse url';
    else {
      const u = parseGoUrl(r.source);
      if (!u) err = 'unable to parse url';
      else if (u.scheme !== 'http' && u.scheme !== 'https') err = MSG.headersScheme;
    }
    out.error([...at, 'httpHeaders'], err);
  }
}

export function validateRequiredSource(r: Resource, at: Path, out: Findings): void {
  if (!has(r.source)) out.error(at, MSG.sourceRequired);
}

export function validateHeader(h: HttpHeader, at: Path, out: Findings): void {
  if (!has(h.name)) out.error([...at, 'name'], MSG.emptyHeaderName);
}

/** Turning headers into a request (not validation): a name and a value are both needed. */
export function parseHeaders(headers: HttpHeader[]): string | undefined {
  for (const h of headers) {
    if (!has(h.name)) return MSG.emptyHeaderName;
    if (!has(h.value)) return MSG.invalidHeader;
  }
  return undefined;
}

export function validateProxy(p: Proxy, at: Path, out: Findings): void {
  for (const [field, httpOk] of [['httpProxy', true], ['httpsProxy', false]] as const) {
    const res = validateProxyUrl(p[field], httpOk);
    out.error([...at, field], res.error);
    out.warn([...at, field], res.warning);
  }
}

// ---- files, directories, links -----------------------------------------------------------

export function validateMode(mode: number | undefined): string | undefined {
  if (mode === undefined) return undefined;
  return mode < 0 || mode > 0o7777 ? MSG.illegalMode : undefined;
}

function validateModeField(mode: number | undefined, at: Path, out: Findings, ctx: Ctx): void {
  out.error([...at, 'mode'], validateMode(mode));
  if (ctx.minor < 4 && mode !== undefined && (mode & 0o7000) !== 0) out.warn([...at, 'mode'], MSG.modeSpecialBits);
}

export function validateNodeUser(u: NodeUser | undefined, at: Path, out: Findings): void {
  if (u && u.id !== undefined && has(u.name)) out.error(at, MSG.bothIdAndName);
}

function validateNode(n: { path: string; user?: NodeUser; group?: NodeUser }, at: Path, out: Findings): void {
  out.error([...at, 'path'], validatePath(n.path ?? ''));
  validateNodeUser(n.user, [...at, 'user'], out);
  validateNodeUser(n.group, [...at, 'group'], out);
}

export function validateFileOverwrite(file: File, at: Path, out: Findings): void {
  if (file.overwrite === true && file.contents?.source === undefined) out.error([...at, 'overwrite'], MSG.overwriteNilSource);
}

export function validateFile(file: File, at: Path, out: Findings, ctx: Ctx): void {
  validateNode(file, at, out);
  validateModeField(file.mode, at, out, ctx);
  validateFileOverwrite(file, at, out);
}

export function validateDirectory(dir: Directory, at: Path, out: Findings, ctx: Ctx): void {
  validateNode(dir, at, out);
  validateModeField(dir.mode, at, out, ctx);
}

export function validateLink(link: Link, at: Path, out: Findings): void {
  validateNode(link, at, out);
}

// ---- storage-level rules -----------------------------------------------------------------

function parentsOf(p: string): string[] {
  const out: string[] = [];
  let cur = cleanPath(p);
  while (cur !== '/' && cur !== '.') {
    const i = cur.lastIndexOf('/');
    cur = i <= 0 ? '/' : cur.slice(0, i);
    out.push(cur);
  }
  return out;
}

/** Rules across the storage lists (Ignition's Storage.Validate; the entries are checked on their own elsewhere). */
export function validateStorage(s: Storage, at: Path, out: Findings): void {
  const links = new Set((s.links ?? []).map((l) => l.path));
  const dirs = new Set((s.directories ?? []).map((d) => d.path));
  const throughLink = (p: string) => parentsOf(p ?? '').some((parent) => links.has(parent));
  (s.files ?? []).forEach((file, i) => {
    if (throughLink(file.path)) out.error([...at, 'files', i], MSG.fileUsedSymlink);
  });
  (s.directories ?? []).forEach((dir, i) => {
    if (throughLink(dir.path)) out.error([...at, 'directories', i], MSG.directoryUsedSymlink);
  });
  (s.links ?? []).forEach((link, i) => {
    if (throughLink(link.path)) out.error([...at, 'links', i], MSG.linkUsedSymlink);
    if (!has(link.target)) out.error([...at, 'links', i, 'target'], MSG.linkTargetRequired);
    if (link.hard === true) {
      if (link.target !== undefined && dirs.has(link.target)) out.error([...at, 'links', i], MSG.hardLinkToDirectory);
      for (const owner of ['user', 'group'] as const) {
        if (link[owner]?.id !== undefined) out.warn([...at, 'links', i, owner, 'id'], MSG.hardLinkOwner);
        if (link[owner]?.name !== undefined) out.warn([...at, 'links', i, owner, 'name'], MSG.hardLinkOwner);
      }
    }
  });
  (s.filesystems ?? []).forEach((fs, i) => {
    for (const disk of s.disks ?? []) {
      if (disk.device !== fs.device) continue;
      if ((disk.partitions ?? []).length > 0) out.warn([...at, 'filesystems', i, 'device'], MSG.partitionsOverwritten);
      else if (disk.wipeTable === true) out.warn([...at, 'filesystems', i, 'device'], MSG.filesystemImplicitWipe);
    }
  });
}

// ---- disks and partitions ----------------------------------------------------------------

export function validateDisk(d: Disk, at: Path, out: Findings): void {
  if (!has(d.device)) {
    out.error([...at, 'device'], MSG.diskDeviceRequired);
    return;
  }
  out.error([...at, 'device'], validatePath(d.device));
  const parts = d.partitions ?? [];
  const numbers = new Set<number>();
  for (let i = 0; i < parts.length; i++) {
    const n = parts[i].number ?? 0;
    if (n === 0) continue;
    if (numbers.has(n)) {
      out.error([...at, 'partitions', i], MSG.partitionNumbersCollide);
      break;
    }
    numbers.add(n);
  }
  const overlap = findOverlap(parts);
  if (overlap !== undefined) out.error([...at, 'partitions', overlap], MSG.partitionsOverlap);
  // Ignition's blackbox case partitions.complex (accepted by Ignition 2.26 at every version) mixes
  // labelled number-0 partitions with shouldExist:false, so only unlabelled number-0 ones count.
  const hasZero = parts.some((p) => (p.number ?? 0) === 0 && p.label === undefined);
  const hasShouldNotExist = parts.some((p) => p.shouldExist === false);
  if (hasZero && hasShouldNotExist) out.error([...at, 'partitions'], MSG.zeroesWithShouldNotExist);
  const labels = new Set<string>();
  for (let i = 0; i < parts.length; i++) {
    const l = parts[i].label;
    if (l === undefined) continue;
    if (labels.has(l)) {
      out.error([...at, 'partitions', i], MSG.duplicateLabels);
      break;
    }
    labels.add(l);
  }
}

/**
 * Index of a partition that another explicitly placed partition runs into. Partitions starting
 * at 0 are placed by sgdisk in the largest free block, so they cannot be checked; a size of 0
 * means "fill", so such a partition is treated as its start sector only.
 */
function findOverlap(parts: Partition[]): number | undefined {
  const placed = (p: Partition) => p.startMiB !== undefined && p.sizeMiB !== undefined && p.startMiB !== 0;
  const end = (p: Partition) => (p.sizeMiB === 0 ? p.startMiB! : p.startMiB! + p.sizeMiB! - 1);
  for (const p of parts) {
    if (!placed(p)) continue;
    for (let i = 0; i < parts.length; i++) {
      const o = parts[i];
      if (o === p || !placed(o)) continue;
      const ps = p.startMiB!;
      const os = o.startMiB!;
      if ((ps >= os && ps <= end(o)) || (end(p) >= os && end(p) <= end(o)) || (ps < os && end(p) > end(o))) return i;
    }
  }
  return undefined;
}

export function validatePartitionLabel(label: string | undefined): string | undefined {
  if (label === undefined) return undefined;
  if (label.length > 36) return MSG.labelTooLong;
  if (label.includes(':')) return MSG.labelContainsColon;
  return undefined;
}

const GUID = /^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})?$/;

export function validateGuid(guid: string | undefined): string | undefined {
  return guid === undefined || GUID.test(guid) ? undefined : MSG.guidRegex;
}

export function validatePartition(p: Partition, at: Path, out: Findings): void {
  if (p.shouldExist === false && (p.label !== undefined || has(p.typeGuid) || has(p.guid) || p.startMiB !== undefined || p.sizeMiB !== undefined)) {
    out.error(at, MSG.shouldNotExistWithOthers);
  }
  if ((p.number ?? 0) === 0 && p.label === undefined) out.error(at, MSG.needLabelOrNumber);
  out.error([...at, 'label'], validatePartitionLabel(p.label));
  out.error([...at, 'guid'], validateGuid(p.guid));
  out.error([...at, 'typeGuid'], validateGuid(p.typeGuid));
}

// ---- filesystems, raid, luks -------------------------------------------------------------

const FORMATS_BASE = ['ext4', 'btrfs', 'xfs', 'vfat', 'swap'];

function formatNilMessage(ctx: Ctx): string {
  return ctx.minor === 0
    ? 'format cannot be empty when path, label, uuid, or options are specified'
    : 'format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified';
}

export function validateFilesystemFormat(fs: Filesystem, ctx: Ctx): string | undefined {
  if (!has(fs.format)) {
    // "" counts as unset here (ignition-validate accepts {"device": "/dev/x", "path": ""}).
    const others = has(fs.path) || has(fs.label) || has(fs.uuid) || fs.wipeFilesystem === true ||
      (fs.options ?? []).length > 0 || (fs.mountOptions ?? []).length > 0;
    return others ? formatNilMessage(ctx) : undefined;
  }
  const allowed = [...FORMATS_BASE, ...(ctx.minor >= 3 ? ['none'] : []), ...(ctx.minor >= 7 ? ['virtiofs'] : [])];
  return allowed.includes(fs.format) ? undefined : MSG.filesystemInvalidFormat;
}

const LABEL_LIMITS: Record<string, number> = { ext4: 16, btrfs: 256, xfs: 12, swap: 15, vfat: 11 };

export function validateFilesystemLabel(fs: Filesystem): string | undefined {
  if (fs.label === undefined || fs.format === undefined) return undefined;
  const limit = LABEL_LIMITS[fs.format];
  if (limit !== undefined && fs.label.length > limit) return `filesystem labels cannot be longer than ${limit} characters when using ${fs.format}`;
  return undefined;
}

export function validateFilesystemPath(fs: Filesystem): string | undefined {
  if (!has(fs.path)) return undefined;
  return validatePath(fs.path);
}

export function validateFilesystem(fs: Filesystem, at: Path, out: Findings, ctx: Ctx): void {
  out.error([...at, 'device'], validatePath(fs.device ?? ''));
  out.error([...at, 'format'], validateFilesystemFormat(fs, ctx));
  out.error([...at, 'label'], validateFilesystemLabel(fs));
  out.error([...at, 'path'], validateFilesystemPath(fs));
}

const RAID_NO_SPARES = ['linear', 'raid0', '0', 'stripe'];
const RAID_LEVELS = [...RAID_NO_SPARES, 'raid1', '1', 'mirror', 'raid4', '4', 'raid5', '5', 'raid6', '6', 'raid10', '10'];

export function validateRaid(r: Raid, at: Path, out: Findings): void {
  if (r.level === undefined) out.error([...at, 'level'], MSG.raidLevelRequired);
  else if (!RAID_LEVELS.includes(r.level)) out.error([...at, 'level'], MSG.unrecognizedRaidLevel);
  else if (RAID_NO_SPARES.includes(r.level) && (r.spares ?? 0) !== 0) out.error([...at, 'level'], MSG.sparesUnsupported);
  if ((r.devices ?? []).length === 0) out.error([...at, 'devices'], MSG.raidDevicesRequired);
  (r.devices ?? []).forEach((d, i) => out.error([...at, 'devices', i], validatePath(d)));
}

function customSet(c: ClevisCustom | undefined): boolean {
  return c !== undefined && (c.pin !== undefined || c.config !== undefined || c.needsNetwork !== undefined);
}

export function validateLuks(l: Luks, at: Path, out: Findings): void {
  if ((l.name ?? '').includes('/')) out.error([...at, 'name'], MSG.luksNameSlash);
  if (has(l.label) && l.label.length > 47) out.error([...at, 'label'], MSG.luksLabelTooLong);
  if (!has(l.device)) out.error([...at, 'device'], MSG.diskDeviceRequired);
  else out.error([...at, 'device'], validatePath(l.device));
  const c: Clevis | undefined = l.clevis;
  if (c && customSet(c.custom) && ((c.tang ?? []).length > 0 || c.tpm2 === true || (c.threshold ?? 0) !== 0)) {
    out.error([...at, 'clevis'], MSG.clevisCustomWithOthers);
  }
  // Ignition reports this one at ".keys", a path that is not in the config; kept for identical output.
  if (validateUrlNilOk(l.keyFile?.source) !== undefined) out.error([...at, 'keys'], MSG.invalidLuksKeyFile);
}

/**
 * A custom clevis object with a pin or config needs both. Within a config (`inConfig`), the pin must
 * also be tpm2, tang or sss ("unsupported clevis pin"; Ignition checks that outside ClevisCustom's
 * own Validate). Spec 3.2 ignores needsNetwork alone and calls an empty pin "unsupported"; errors
 * come pin first, as ignition-validate 2.14 prints them.
 */
export function validateClevisCustom(c: ClevisCustom, at: Path, out: Findings, minor?: Minor, inConfig = false): void {
  const spec32 = minor === 2;
  if (!has(c.pin) && !has(c.config) && (spec32 || c.needsNetwork !== true)) return;
  if (!has(c.pin)) out.error([...at, 'pin'], spec32 ? MSG.clevisPinUnsupported : MSG.clevisPinRequired);
  else if (inConfig && !['tpm2', 'tang', 'sss'].includes(c.pin)) out.error([...at, 'pin'], MSG.clevisPinUnsupported);
  if (!has(c.config)) out.error([...at, 'config'], MSG.clevisConfigRequired);
}

export function validateTang(t: Tang, at: Path, out: Findings): void {
  const u = parseGoUrl(t.url ?? '');
  if (!u) out.error([...at, 'url'], 'unable to parse url');
  else if (u.scheme !== 'http' && u.scheme !== 'https') out.error([...at, 'url'], ERR_INVALID_SCHEME);
  if (!has(t.thumbprint)) out.error([...at, 'thumbprint'], MSG.tangThumbprintRequired);
  if (has(t.advertisement)) {
    try {
      JSON.parse(t.advertisement);
    } catch {
      out.error([...at, 'advertisement'], MSG.tangAdvertisement);
    }
  }
}

// ---- systemd -----------------------------------------------------------------------------

export function validateUnit(u: Unit, at: Path, out: Findings): void {
  out.error([...at, 'name'], validateUnitName(u.name ?? ''));
  out.error([...at, 'contents'], validateUnitContents(u.contents));
}

export function validateDropin(d: Dropin, at: Path, out: Findings): void {
  out.error([...at, 'name'], validateDropinName(d.name ?? ''));
  out.error([...at, 'contents'], validateUnitContents(d.contents));
}

/** Warnings across units: enabled units (or instances of templates) whose contents lack [Install]. */
export function validateSystemd(units: Unit[], at: Path, out: Findings): void {
  const byName = new Map(units.map((u) => [u.name, u]));
  units.forEach((u, i) => {
    if (u.enabled !== true) return;
    // An enabled unit whose contents have no option in [Install] (Ignition's ValidateInstallSection).
    if (has(u.contents) && validateUnitContents(u.contents) === undefined && !hasInstallSection(u.contents)) {
      out.warn([...at, 'units', i, 'contents'], `unit ${JSON.stringify(u.name)} is enabled, but has no install section so enable does nothing`);
    }
    // An enabled instance "x@y.service" of a template "x@.service" in the config whose contents
    // have no [Install] option (Ignition's Systemd.Validate, .service only).
    const m = /^(.+?)@(.+?)\.service$/.exec(u.name ?? '');
    if (!m) return;
    const templateName = `${m[1]}@.service`;
    const template = byName.get(templateName);
    if (template && has(template.contents) && validateUnitContents(template.contents) === undefined && !hasInstallSection(template.contents)) {
      out.warn([...at, 'units', i, 'contents'], `template unit ${JSON.stringify(templateName)} for ${JSON.stringify(u.name)} doesn't have Install section`);
    }
  });
}

/** Files, directories and links must not be where a unit or drop-in with contents is written. */
export function validateSystemdConflicts(cfg: Config, out: Findings): void {
  const unitPaths = new Set<string>();
  for (const u of cfg.systemd?.units ?? []) {
    if (has(u.contents)) unitPaths.add('/etc/systemd/system/' + u.name);
    for (const d of u.dropins ?? []) if (has(d.contents)) unitPaths.add(`/etc/systemd/system/${u.name}.d/${d.name}`);
  }
  for (const list of ['files', 'directories', 'links'] as const) {
    (cfg.storage?.[list] ?? []).forEach((n, i) => {
      if (unitPaths.has(n.path)) out.error(['storage', list, i, 'path'], MSG.pathConflictsSystemd);
    });
  }
}

export { validateUrl, validateUrlNilOk };
