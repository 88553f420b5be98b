// Deterministic generator of spec 3.0–3.3 configs for the differential validation suite:
// `validConfig` builds a config meant to be valid that touches every config area the version has;
// `MUTATIONS` break (or sometimes only bend) one thing in it. Both tools judge every result; the
// generator never decides what is valid, it only makes the interesting cases frequent.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = { [k: string]: Json };

/** mulberry32: small, fast, good enough, and the same sequence on every machine. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(0, 15)];
    return s;
  }
}

export const VERSIONS = ['3.0.0', '3.1.0', '3.2.0', '3.3.0'] as const;
const minorOf = (v: string): number => Number(v.split('.')[1]);

const UNIT_TEXT = '[Unit]\nDescription=generated\n\n[Service]\nType=oneshot\nExecStart=/usr/bin/true\n\n[Install]\nWantedBy=multi-user.target\n';
const DROPIN_TEXT = '[Service]\nEnvironment=A=1\n';
const GUIDS = ['0FC63DAF-8483-4772-8E79-3D69D8477DE4', '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'];
const LABEL_MAX: Record<string, number> = { ext4: 16, xfs: 12, vfat: 11, swap: 15, btrfs: 256 };

function guid(r: Rng): string {
  return `${r.hex(8)}-${r.hex(4)}-${r.hex(4)}-${r.hex(4)}-${r.hex(12)}`.toUpperCase();
}

function dataUrl(r: Rng): string {
  return r.pick(['data:,hello%20world', 'data:,', 'data:text/plain;charset=utf-8,x%3Dy', 'data:;base64,aGVsbG8K', `data:,${r.hex(6)}`]);
}

function source(r: Rng, minor: number): string {
  const schemes = ['data', 'data', 'http', 'https', 'tftp', 's3', ...(minor >= 2 ? ['gs'] : [])];
  switch (r.pick(schemes)) {
    case 'data':
      return dataUrl(r);
    case 'http':
      return `http://192.0.2.${r.int(1, 254)}/files/${r.hex(4)}`;
    case 'https':
      return `https://example.com/${r.hex(6)}.bin`;
    case 'tftp':
      return `tftp://192.0.2.1/${r.hex(4)}`;
    case 's3':
      return `s3://bucket-${r.hex(3)}/key/${r.hex(4)}`;
    default:
      return `gs://bucket-${r.hex(3)}/obj`;
  }
}

function hash(r: Rng, minor: number): string {
  return minor >= 1 && r.bool(0.3) ? `sha256-${r.hex(64)}` : `sha512-${r.hex(128)}`;
}

function resource(r: Rng, minor: number, opts: { allowHeaders?: boolean } = {}): Obj {
  const src = source(r, minor);
  const res: Obj = { source: src };
  if (r.bool(0.3)) res.verification = { hash: hash(r, minor) };
  if (minor >= 1 && r.bool(0.15) && !src.startsWith('s3:')) res.compression = 'gzip';
  if (minor >= 1 && opts.allowHeaders !== false && /^https?:/.test(src) && r.bool(0.3)) {
    res.httpHeaders = [{ name: 'Authorization', value: `Bearer ${r.hex(8)}` }, { name: 'X-Node', value: 'n1' }];
  }
  return res;
}

function owner(r: Rng): Obj | undefined {
  if (r.bool(0.6)) return undefined;
  return r.bool() ? { id: r.int(0, 2000) } : { name: r.pick(['core', 'root', 'nobody']) };
}

/** A config meant to be valid for `version`; `size` scales the number of entries. */
export function validConfig(r: Rng, version: string, size = 3): Obj {
  const minor = minorOf(version);
  const cfg: Obj = { ignition: { version } };
  const ign = cfg.ignition as Obj;
  const n = (max: number): number => r.int(0, Math.max(0, Math.round(max * size / 3)));

  // ignition section
  if (r.bool(0.3)) {
    const config: Obj = {};
    // Merge entries are keyed by source: make the second one distinct.
    if (r.bool()) config.merge = Array.from({ length: r.int(1, 2) }, (_x, i) => ({ ...resource(r, minor), ...(i === 1 ? { source: `https://example.com/merge-${r.hex(6)}.ign` } : {}) }));
    else config.replace = resource(r, minor);
    ign.config = config;
  }
  if (r.bool(0.3)) ign.timeouts = { httpResponseHeaders: r.int(1, 60), httpTotal: r.int(0, 600) };
  if (r.bool(0.2)) ign.security = { tls: { certificateAuthorities: [{ source: 'data:,-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----' }] } };
  if (minor >= 1 && r.bool(0.2)) ign.proxy = { httpProxy: 'http://proxy.example:3128', httpsProxy: 'https://proxy.example:3129', noProxy: ['10.0.0.0/8', '.internal'] };

  // storage
  const storage: Obj = {};
  const disks: Json[] = [];
  for (let d = 0; d < n(2); d++) {
    const parts: Json[] = [];
    for (let p = 0; p < r.int(0, 3); p++) {
      const part: Obj = { number: p + 1, label: `gen-d${d}p${p}`, sizeMiB: r.int(1, 100), startMiB: 1 + p * 128 };
      if (r.bool(0.4)) part.typeGuid = r.pick(GUIDS);
      if (r.bool(0.2)) part.guid = guid(r);
      if (r.bool(0.2)) part.wipePartitionEntry = true;
      if (minor >= 2 && r.bool(0.1)) part.resize = true;
      parts.push(part);
    }
    const disk: Obj = { device: `/dev/vd${'bcdefgh'[d]}` };
    if (r.bool()) disk.wipeTable = r.bool();
    if (parts.length) disk.partitions = parts;
    disks.push(disk);
  }
  if (disks.length) storage.disks = disks;
  if (r.bool(0.2)) {
    const level = r.pick(['raid0', 'raid1', 'raid5', 'linear']);
    const raid: Obj = { name: `md${r.int(0, 9)}`, level, devices: ['/dev/disk/by-partlabel/r0', '/dev/disk/by-partlabel/r1', '/dev/disk/by-partlabel/r2'] };
    if (level === 'raid1' || level === 'raid5') raid.spares = r.int(0, 1);
    if (r.bool(0.3)) raid.options = ['--assume-clean'];
    storage.raid = [raid];
  }
  const filesystems: Json[] = [];
  for (let i = 0; i < n(2); i++) {
    const format = r.pick(['ext4', 'xfs', 'btrfs', 'vfat', 'swap']);
    const fs: Obj = { device: `/dev/disk/by-partlabel/gen-fs${i}`, format };
    if (format !== 'swap' && r.bool(0.7)) fs.path = `/var/mnt/fs${i}`;
    if (r.bool(0.5)) fs.wipeFilesystem = r.bool();
    if (r.bool(0.4)) fs.label = `L${i}${r.hex(Math.min(4, LABEL_MAX[format] - 3))}`;
    if (r.bool(0.2) && format !== 'vfat') fs.uuid = guid(r).toLowerCase();
    if (r.bool(0.2)) fs.options = ['-q'];
    if (minor >= 2 && r.bool(0.2) && fs.path !== undefined) fs.mountOptions = ['noatime'];
    filesystems.push(fs);
  }
  if (filesystems.length) storage.filesystems = filesystems;

  const files: Json[] = [];
  for (let i = 0; i < n(5); i++) {
    const file: Obj = { path: `/etc/gen/files/f${i}` };
    if (r.bool(0.7)) file.mode = r.pick([420, 384, 493, 256, 511]);
    const u = owner(r);
    if (u) file.user = u;
    const g = owner(r);
    if (g) file.group = g;
    if (r.bool(0.2)) {
      file.append = [resource(r, minor)];
    } else if (r.bool(0.85)) {
      file.contents = resource(r, minor);
      if (r.bool(0.4)) file.overwrite = r.bool();
    } else if (r.bool()) {
      file.overwrite = false;
    }
    files.push(file);
  }
  if (files.length) storage.files = files;
  const dirs: Json[] = [];
  for (let i = 0; i < n(3); i++) {
    const dir: Obj = { path: `/var/gen/dirs/d${i}` };
    if (r.bool(0.6)) dir.mode = r.pick([493, 448, 511]);
    if (r.bool(0.3)) dir.overwrite = r.bool();
    const u = owner(r);
    if (u) dir.user = u;
    dirs.push(dir);
  }
  if (dirs.length) storage.directories = dirs;
  const links: Json[] = [];
  for (let i = 0; i < n(3); i++) {
    const link: Obj = { path: `/etc/gen/links/l${i}`, target: r.pick(['/usr/share/zoneinfo/UTC', '/etc/gen/files/f0', '../relative/target']) };
    if (r.bool(0.2)) {
      link.hard = r.bool();
      if (link.hard) link.target = '/usr/share/zoneinfo/UTC';
    }
    if (r.bool(0.3)) link.overwrite = r.bool();
    links.push(link);
  }
  if (links.length) storage.links = links;
  if (minor >= 2 && r.bool(0.25)) {
    const luks: Obj = { name: `crypt${r.int(0, 9)}`, device: '/dev/disk/by-partlabel/gen-luks' };
    if (r.bool()) luks.keyFile = { source: 'data:,supersecret' };
    if (r.bool(0.3)) luks.label = 'LUKS';
    if (r.bool(0.3)) luks.wipeVolume = true;
    if (r.bool(0.3)) luks.options = ['--cipher', 'aes-xts-plain64'];
    if (r.bool(0.3)) {
      luks.clevis = r.pick<Obj>([
        { tpm2: true },
        { tang: [{ url: 'http://tang.example:7500', thumbprint: 'r4Kp8TbnwfIg1UPEKm1hRw0gG1U' }] },
        { tang: [{ url: 'https://tang1.example', thumbprint: 'aaa' }, { url: 'https://tang2.example', thumbprint: 'bbb' }], threshold: 2, tpm2: true },
      ]);
    }
    storage.luks = [luks];
  }
  if (Object.keys(storage).length) cfg.storage = storage;

  // systemd
  const units: Json[] = [];
  for (let i = 0; i < n(4); i++) {
    const unit: Obj = { name: `gen-${i}.${r.pick(['service', 'timer', 'socket', 'path', 'target', 'mount'])}` };
    if (r.bool(0.6)) unit.contents = UNIT_TEXT;
    if (r.bool(0.5)) unit.enabled = r.bool(0.8);
    if (r.bool(0.1)) unit.mask = true;
    if (r.bool(0.3)) unit.dropins = [{ name: '10-gen.conf', contents: DROPIN_TEXT }, ...(r.bool() ? [{ name: '20-empty.conf' }] : [])];
    units.push(unit);
  }
  if (units.length) cfg.systemd = { units };

  // passwd
  const users: Json[] = [];
  for (let i = 0; i < n(3); i++) {
    const user: Obj = { name: i === 0 && r.bool() ? 'core' : `user${i}` };
    if (r.bool(0.6)) user.sshAuthorizedKeys = [`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA${r.hex(16)} u${i}@gen`];
    if (r.bool(0.3)) user.passwordHash = '$6$rounds=4096$saltsalt$hash';
    if (r.bool(0.3)) user.uid = 1000 + i;
    if (r.bool(0.2)) user.groups = ['wheel', 'docker'];
    if (r.bool(0.2)) user.homeDir = `/home/user${i}`;
    if (r.bool(0.2)) user.shell = '/bin/bash';
    if (r.bool(0.1)) user.system = true;
    if (r.bool(0.1)) user.noCreateHome = true;
    if (r.bool(0.1)) user.gecos = 'Generated User';
    if (minor >= 2 && r.bool(0.05)) user.shouldExist = true;
    users.push(user);
  }
  const groups: Json[] = [];
  for (let i = 0; i < n(2); i++) {
    const group: Obj = { name: `grp${i}` };
    if (r.bool(0.5)) group.gid = 2000 + i;
    if (r.bool(0.2)) group.system = true;
    groups.push(group);
  }
  if (users.length || groups.length) cfg.passwd = { ...(users.length ? { users } : {}), ...(groups.length ? { groups } : {}) };

  if (minor >= 3 && r.bool(0.3)) cfg.kernelArguments = { shouldExist: ['quiet', 'console=ttyS0'], shouldNotExist: ['debug'] };
  return cfg;
}

// ---------------------------------------------------------------- mutations

/** A mutation returns the mutated config (or raw text), or undefined when it does not apply. */
export type Mutation = (r: Rng, cfg: Obj, version: string) => Obj | string | undefined;

function arr(cfg: Obj, ...path: string[]): Obj[] {
  let cur: Json | undefined = cfg;
  for (const p of path) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return [];
    cur = (cur as Obj)[p];
  }
  return Array.isArray(cur) ? (cur as Obj[]) : [];
}

function ensure(cfg: Obj, ...path: string[]): Obj {
  let cur = cfg;
  for (const p of path) {
    if (!cur[p] || typeof cur[p] !== 'object' || Array.isArray(cur[p])) cur[p] = {};
    cur = cur[p] as Obj;
  }
  return cur;
}

function pushTo(cfg: Obj, section: string, key: string, item: Obj): void {
  const s = ensure(cfg, section);
  s[key] = [...arr(s, key), item];
}

/** Every leaf (path, value) of a JSON value, for the type mutations. */
function leaves(v: Json, path: Array<string | number> = []): Array<Array<string | number>> {
  if (v !== null && typeof v === 'object') {
    const out: Array<Array<string | number>> = [];
    const entries: Array<[string | number, Json]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries) out.push(...leaves(x, [...path, k]));
    return out;
  }
  return [path];
}

function setAt(root: Obj, path: Array<string | number>, value: Json | undefined): void {
  let cur: Json = root;
  for (const p of path.slice(0, -1)) cur = (cur as Record<string | number, Json>)[p as never];
  const last = path[path.length - 1];
  if (value === undefined) {
    if (Array.isArray(cur)) cur.splice(last as number, 1);
    else delete (cur as Obj)[last as string];
  } else (cur as Record<string | number, Json>)[last as never] = value;
}

const pickFile = (r: Rng, cfg: Obj): Obj | undefined => {
  const files = arr(cfg, 'storage', 'files');
  return files.length ? r.pick(files) : undefined;
};

export const MUTATIONS: Record<string, Mutation> = {
  wrongType: (r, cfg) => {
    const ls = leaves(cfg).filter((p) => p.join('/') !== 'ignition/version');
    if (!ls.length) return undefined;
    const p = r.pick(ls);
    setAt(cfg, p, r.pick<Json>(['x', 7, true, [], {}, 1.5]));
    return cfg;
  },
  nullLeaf: (r, cfg) => {
    const ls = leaves(cfg).filter((p) => p.join('/') !== 'ignition/version');
    if (!ls.length) return undefined;
    setAt(cfg, r.pick(ls), null);
    return cfg;
  },
  dropLeaf: (r, cfg) => {
    const ls = leaves(cfg).filter((p) => p.join('/') !== 'ignition/version');
    if (!ls.length) return undefined;
    setAt(cfg, r.pick(ls), undefined);
    return cfg;
  },
  unknownKey: (r, cfg) => {
    const targets: Obj[] = [cfg, ...arr(cfg, 'storage', 'files'), ...arr(cfg, 'systemd', 'units')];
    r.pick(targets)[r.pick(['fileMode', 'enable', 'extra', 'Path'])] = 1;
    return cfg;
  },
  badMode: (r, cfg) => {
    pushTo(cfg, 'storage', 'files', { path: '/etc/gen/mode', mode: r.pick([-1, 4096, 8192, 0o7777, 0o4755, 0o1777, 99999]) });
    return cfg;
  },
  badDirMode: (r, cfg) => {
    pushTo(cfg, 'storage', 'directories', { path: '/var/gen/mode', mode: r.pick([-5, 0o10000, 0o2775]) });
    return cfg;
  },
  duplicatePath: (r, cfg) => {
    const nodes = [...arr(cfg, 'storage', 'files'), ...arr(cfg, 'storage', 'directories'), ...arr(cfg, 'storage', 'links')];
    if (!nodes.length) return undefined;
    const p = r.pick(nodes).path as string;
    const variant = r.pick([p, p + '/', p.replace('/gen/', '/gen/./'), p.replace('/gen/', '//gen/')]);
    const kind = r.pick(['files', 'directories', 'links']);
    pushTo(cfg, 'storage', kind, kind === 'links' ? { path: variant, target: '/x' } : { path: variant });
    return cfg;
  },
  relativePath: (r, cfg) => {
    const kind = r.pick(['files', 'directories', 'links']);
    pushTo(cfg, 'storage', kind, kind === 'links' ? { path: 'etc/rel', target: '/x' } : { path: r.pick(['etc/rel', '', './x']) });
    return cfg;
  },
  pathThroughLink: (r, cfg) => {
    pushTo(cfg, 'storage', 'links', { path: '/etc/gen/ln', target: '/var/real' });
    pushTo(cfg, 'storage', r.pick(['files', 'directories']), { path: r.pick(['/etc/gen/ln/inside', '/etc/gen/ln/a/b']) });
    return cfg;
  },
  linkNoTarget: (r, cfg) => {
    pushTo(cfg, 'storage', 'links', r.pick<Obj>([{ path: '/etc/gen/lt' }, { path: '/etc/gen/lt', target: '' }, { path: '/etc/gen/lt', target: 'rel', hard: true }]));
    return cfg;
  },
  badUrl: (r, cfg, v) => {
    const bad = r.pick(['ftp://x/y', 'foo', 'data:;base64,!!!', 'http://[::1', 'data:,%zz', 'gs://bucket/obj', 's3://bucket/key?versionId=', 'oem:///x', 'HTTP://EXAMPLE.com/x', 'file:///etc/passwd', 'arn:aws:s3:::bucket/key']);
    const f = pickFile(r, cfg);
    if (f && r.bool()) f.contents = { source: bad };
    else ensure(cfg, 'ignition', 'config').merge = [{ source: bad }];
    void v;
    return cfg;
  },
  badHash: (r, cfg) => {
    const bad = r.pick([`sha512-${'a'.repeat(127)}`, 'md5-d41d8cd98f00b204e9800998ecf8427e', 'sha512', `sha256-${'b'.repeat(63)}`, `sha256-${'c'.repeat(64)}`, `sha512-${'Z'.repeat(128)}`, `SHA512-${'a'.repeat(128)}`]);
    pushTo(cfg, 'storage', 'files', { path: '/etc/gen/hash', contents: { source: 'data:,x', verification: { hash: bad } } });
    return cfg;
  },
  verificationNoSource: (_r, cfg) => {
    pushTo(cfg, 'storage', 'files', { path: '/etc/gen/vns', contents: { verification: { hash: `sha512-${'a'.repeat(128)}` } } });
    return cfg;
  },
  overwriteNoSource: (_r, cfg) => {
    pushTo(cfg, 'storage', 'files', { path: '/etc/gen/ons', overwrite: true });
    return cfg;
  },
  appendWithOverwrite: (r, cfg) => {
    pushTo(cfg, 'storage', 'files', { path: '/etc/gen/aow', overwrite: r.bool(), append: [{ source: 'data:,x' }] });
    return cfg;
  },
  badCompression: (r, cfg) => {
    pushTo(cfg, 'storage', 'files', { path: '/etc/gen/comp', contents: { source: r.pick(['data:,x', 's3://b/k']), compression: r.pick(['xz', 'gzip', 'GZIP', '']) } });
    return cfg;
  },
  headersMisuse: (r, cfg) => {
    const headers = r.pick<Json>([[{ name: 'A', value: '1' }, { name: 'A', value: '2' }], [{ name: '', value: 'x' }], [{ name: 'A' }], [{ name: 'A', value: '1' }]]);
    pushTo(cfg, 'storage', 'files', { path: '/etc/gen/hdr', contents: { source: r.pick(['http://h/x', 'data:,x', 'tftp://h/x']), httpHeaders: headers } });
    return cfg;
  },
  badUserGroup: (r, cfg) => {
    pushTo(cfg, 'storage', 'files', { path: '/etc/gen/own', user: r.pick<Json>([{ id: 1, name: 'core' }, { id: -1 }, { name: '' }]) });
    return cfg;
  },
  unitName: (r, cfg) => {
    pushTo(cfg, 'systemd', 'units', { name: r.pick(['gen', 'gen.txt', '.service', 'gen.service.d', 'a/b.service', 'gen@.service', 'gen@x.service', '']) });
    return cfg;
  },
  dropinName: (r, cfg) => {
    pushTo(cfg, 'systemd', 'units', { name: 'gen-drop.service', dropins: [{ name: r.pick(['x', 'x.txt', '.conf', '', 'a/b.conf']) }] });
    return cfg;
  },
  duplicateUnit: (r, cfg) => {
    const units = arr(cfg, 'systemd', 'units');
    const name = units.length ? (r.pick(units).name as string) : 'dup.service';
    pushTo(cfg, 'systemd', 'units', { name, mask: true });
    if (!units.length) pushTo(cfg, 'systemd', 'units', { name });
    return cfg;
  },
  duplicateDropin: (_r, cfg) => {
    pushTo(cfg, 'systemd', 'units', { name: 'gen-dd.service', dropins: [{ name: 'a.conf' }, { name: 'a.conf', contents: DROPIN_TEXT }] });
    return cfg;
  },
  badUnitContents: (r, cfg) => {
    pushTo(cfg, 'systemd', 'units', { name: 'gen-bad.service', contents: r.pick(['not a unit', '[Unit\nA=b', 'Key=value\n[Service]\n', '[Service]\nExecStart=/bin/true \\', '[Service]\n=x\n', '[]\n']) });
    return cfg;
  },
  enabledNoInstall: (_r, cfg) => {
    pushTo(cfg, 'systemd', 'units', { name: 'gen-noinst.service', enabled: true, contents: '[Service]\nExecStart=/bin/true\n' });
    return cfg;
  },
  unitFileConflict: (r, cfg) => {
    pushTo(cfg, 'systemd', 'units', { name: 'gen-conflict.service', contents: UNIT_TEXT, dropins: [{ name: 'c.conf', contents: DROPIN_TEXT }] });
    pushTo(cfg, 'storage', r.pick(['files', 'directories', 'links']), {
      path: r.pick(['/etc/systemd/system/gen-conflict.service', '/etc/systemd/system/gen-conflict.service.d/c.conf']),
      ...(r.bool() ? {} : { target: '/dev/null' }),
    });
    return cfg;
  },
  partitionConflict: (r, cfg) => {
    const parts: Json[] = r.pick<Json[]>([
      [{ number: 1, label: 'a' }, { number: 1, label: 'b' }],
      [{ number: 1, label: 'x' }, { number: 2, label: 'x' }],
      [{ number: 1, startMiB: 1, sizeMiB: 100 }, { number: 2, startMiB: 50, sizeMiB: 100 }],
      [{ number: 1, shouldExist: false, label: 'gone' }],
      [{ label: 'a'.repeat(37) }],
      [{ label: 'a:b', number: 3 }],
      [{ number: 1, typeGuid: 'not-a-guid' }],
      [{ number: 1, guid: '0FC63DAF-8483-4772-8E79-3D69D8477DE' }],
      [{ number: 0 }],
      [{ number: -1, label: 'neg' }],
      [{ number: 1, sizeMiB: -5 }],
    ]);
    pushTo(cfg, 'storage', 'disks', { device: '/dev/vdz', partitions: parts });
    return cfg;
  },
  duplicateDisk: (_r, cfg) => {
    pushTo(cfg, 'storage', 'disks', { device: '/dev/vdy' });
    pushTo(cfg, 'storage', 'disks', { device: '/dev/vdy', wipeTable: true });
    return cfg;
  },
  badDisk: (r, cfg) => {
    pushTo(cfg, 'storage', 'disks', { device: r.pick(['', 'vdb', 'dev/vdb']) });
    return cfg;
  },
  badFilesystem: (r, cfg) => {
    const fs = r.pick<Obj>([
      { device: '/dev/sdq', format: 'ntfs' },
      { device: 'sdq', format: 'ext4' },
      { device: '/dev/sdq', format: 'ext4', path: 'relative' },
      { device: '/dev/sdq', format: 'ext4', label: 'x'.repeat(17) },
      { device: '/dev/sdq', format: 'vfat', label: 'x'.repeat(12) },
      { device: '/dev/sdq', format: 'xfs', label: 'x'.repeat(13) },
      { device: '/dev/sdq', label: 'nofmt' },
      { device: '/dev/sdq', path: '/var/nofmt' },
      { device: '/dev/sdq', format: 'swap', path: '/swap' },
      { format: 'ext4' },
      { device: '/dev/sdq', format: 'none' },
      { device: '/dev/sdq', format: 'ext4', mountOptions: ['ro'] },
    ]);
    pushTo(cfg, 'storage', 'filesystems', fs);
    return cfg;
  },
  duplicateFilesystem: (_r, cfg) => {
    pushTo(cfg, 'storage', 'filesystems', { device: '/dev/sdr', format: 'ext4', path: '/a' });
    pushTo(cfg, 'storage', 'filesystems', { device: '/dev/sdr', format: 'xfs', path: '/b' });
    return cfg;
  },
  badRaid: (r, cfg) => {
    pushTo(cfg, 'storage', 'raid', r.pick<Obj>([
      { name: 'md9', level: 'raid7', devices: ['/dev/a', '/dev/b'] },
      { name: 'md9', level: 'raid0', devices: ['/dev/a', '/dev/b'], spares: 1 },
      { name: 'md9', level: 'raid1', devices: ['a', 'b'] },
      { name: '', level: 'raid1', devices: ['/dev/a'] },
      { name: 'md9', level: 'raid1' },
    ]));
    return cfg;
  },
  badLuks: (r, cfg) => {
    pushTo(cfg, 'storage', 'luks', r.pick<Obj>([{ name: 'c' }, { name: '', device: '/dev/x' }, { name: 'c', device: 'x' }, { name: 'c/d', device: '/dev/x' }, { name: 'c', device: '/dev/x', keyFile: { source: 'ftp://x' } }]));
    return cfg;
  },
  badClevis: (r, cfg) => {
    pushTo(cfg, 'storage', 'luks', {
      name: 'cl',
      device: '/dev/disk/by-partlabel/cl',
      clevis: r.pick<Obj>([
        { custom: { pin: 'tpm2', config: '{}' }, tpm2: true },
        { custom: { pin: 'sss' } },
        { custom: { pin: 'nope', config: '{}' } },
        { tang: [{ url: 'ftp://tang' }] },
        { tang: [{}] },
        { tang: [{ url: 'http://t1' }, { url: 'http://t1' }] },
        { threshold: -1, tpm2: true },
      ]),
    });
    return cfg;
  },
  badUser: (r, cfg) => {
    pushTo(cfg, 'passwd', 'users', r.pick<Obj>([{ name: '' }, { sshAuthorizedKeys: ['x'] }, { name: 'dupe' }, { name: 'u', uid: -1 }]));
    if (r.bool(0.3)) pushTo(cfg, 'passwd', 'users', { name: 'dupe' });
    return cfg;
  },
  duplicateGroup: (_r, cfg) => {
    pushTo(cfg, 'passwd', 'groups', { name: 'g' });
    pushTo(cfg, 'passwd', 'groups', { name: 'g', gid: 3 });
    return cfg;
  },
  badProxy: (r, cfg) => {
    ensure(cfg, 'ignition').proxy = r.pick<Obj>([{ httpProxy: 'ftp://p' }, { httpsProxy: 'p:3128' }, { httpProxy: 'http://p:3128' }, { noProxy: [''] }]);
    return cfg;
  },
  badTimeouts: (r, cfg) => {
    ensure(cfg, 'ignition').timeouts = r.pick<Obj>([{ httpTotal: -1 }, { httpResponseHeaders: -3 }, { httpTotal: 2.5 }]);
    return cfg;
  },
  kernelArgs: (r, cfg) => {
    cfg.kernelArguments = r.pick<Obj>([{ shouldExist: ['a'], shouldNotExist: ['a'] }, { shouldExist: ['a', 'a'] }, { shouldExist: [''] }]);
    return cfg;
  },
  version: (r, cfg) => {
    (cfg.ignition as Obj).version = r.pick(['3.0', '3.0.0-experimental', '3.3.1', '4.0.0', '', 'v3.1.0', '3.1.0 ', '2.3.0', '3.4.0-experimental']);
    return cfg;
  },
  noVersion: (_r, cfg) => {
    delete (cfg.ignition as Obj).version;
    return cfg;
  },
  truncate: (r, cfg) => {
    const text = JSON.stringify(cfg);
    return text.slice(0, r.int(0, text.length - 1));
  },
  syntax: (r, cfg) => {
    const text = JSON.stringify(cfg, null, 1);
    return r.pick([text + ',', text.replace(':', '::'), text.replace('{', '{,'), '\ufeff' + text, text + '\n\n', ' ' + text, text + '{}', text.replace(/"ignition"/, "'ignition'")]);
  },
  duplicateKey: (_r, cfg) => {
    const text = JSON.stringify(cfg);
    return text.replace('{"ignition":', '{"storage":{"files":[{"path":"rel"}]},"ignition":');
  },
};

export const MUTATION_NAMES = Object.keys(MUTATIONS);

export interface Case {
  id: string;
  version: string;
  mutation: string;
  text: string;
}

/** The whole corpus: for each version `perVersion` valid configs, each followed by `mutants` mutations. */
export function corpus(seed: number, perVersion: number, mutants: number): Case[] {
  const r = new Rng(seed);
  const cases: Case[] = [];
  for (const version of VERSIONS) {
    for (let i = 0; i < perVersion; i++) {
      const base = validConfig(r, version, r.pick([1, 3, 3, 6]));
      cases.push({ id: `${version}/${i}/valid`, version, mutation: 'none', text: JSON.stringify(base) });
      for (let m = 0; m < mutants; m++) {
        const name = r.pick(MUTATION_NAMES);
        const out = MUTATIONS[name](r, structuredClone(base), version);
        if (out === undefined) continue;
        cases.push({ id: `${version}/${i}/${m}-${name}`, version, mutation: name, text: typeof out === 'string' ? out : JSON.stringify(out) });
      }
    }
  }
  return cases;
}
