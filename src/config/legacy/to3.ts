// Spec 2.x → spec 3.1.0, following Flatcar's Ignition (its copy of ign-converter's v24tov31):
//  - filesystems lose their names; files, directories and links on filesystem F get the path
//    join(mountpoint(F), path). "root" is "/", "oem" is "/usr/share/oem", any other named
//    filesystem is mounted at "/tmp/<name>-ign<N>" (N counts the filesystems needing a mountpoint,
//    from 1, in config order); the filesystem "root" itself is dropped (it is implied in spec 3);
//  - `mount.create` must have force: true and becomes wipeFilesystem: true plus its options;
//    "oem" not wiped is formatted "btrfs";
//  - files default to overwrite: true; `append: true` becomes an `append` list with overwrite
//    false;
//  - networkd units and drop-ins become files /etc/systemd/network/NAME and NAME.d/DROPIN, mode
//    0644, overwrite true, contents as `data:,` + url.PathEscape(text);
//  - systemd `enable` (deprecated) and `enabled` merge into `enabled`; users' `create` object
//    replaces the user-level fields;
//  - config.append → config.merge; empty strings and false booleans are omitted (Go's omitempty
//    through StrP/BoolP), so the 3.x defaults apply.
// What spec 3 cannot express is reported as an error at the 2.x location (Flatcar rejects it too,
// usually with a less precise message).
import { goPathEscape } from './escape.js';
import { bool, int, list, obj, str, type Json, type JsonObject, type Path, type Report } from './check.js';
import { urlScheme } from './rules.js';

export const TARGET_VERSION = '3.1.0';

/** Sets `key` only when the value is meaningful, like Flatcar's StrP/BoolP/IntP helpers. */
function put(out: JsonObject, key: string, v: Json | undefined, omitZero = true): void {
  if (v === undefined) return;
  if (omitZero && (v === '' || v === false || v === 0)) return;
  if (Array.isArray(v) && v.length === 0) return;
  out[key] = v;
}

function nonEmpty(o: JsonObject): JsonObject | undefined {
  return Object.keys(o).length ? o : undefined;
}

function joinPath(base: string, p: string): string {
  const parts: string[] = [];
  for (const seg of `${base}/${p}`.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

function headers(v: Json | undefined): Json[] | undefined {
  const hs = list(v).map((h) => {
    const o = obj(h);
    const out: JsonObject = { name: str(o.name) ?? '' };
    put(out, 'value', str(o.value));
    return out;
  });
  return hs.length ? hs : undefined;
}

function resource(ref: JsonObject): JsonObject {
  const out: JsonObject = { source: str(ref.source) ?? '' };
  put(out, 'httpHeaders', headers(ref.httpHeaders));
  const hash = str(obj(ref.verification).hash);
  if (hash !== undefined) out.verification = { hash };
  return out;
}

/** Spec 3 dropped the oem:// scheme; a 2.x config using it cannot be translated. */
function checkScheme(ref: JsonObject, path: Path, r: Report): void {
  if (urlScheme(str(ref.source) ?? '') === 'oem') {
    r.error([...path, 'source'], 'the oem:// URL scheme does not exist in spec 3; this config cannot be translated (use a data: URL or http(s))');
  }
}

export function translate2to3(doc: JsonObject, r: Report): JsonObject {
  const out: JsonObject = {};
  const ignition: JsonObject = { version: TARGET_VERSION };
  out.ignition = ignition;

  // --- ignition section
  const ign = obj(doc.ignition);
  const cfg = obj(ign.config);
  const config: JsonObject = {};
  if (cfg.replace !== undefined) {
    checkScheme(obj(cfg.replace), ['ignition', 'config', 'replace'], r);
    config.replace = resource(obj(cfg.replace));
  }
  const merge = list(cfg.append).map((ref, i) => {
    checkScheme(obj(ref), ['ignition', 'config', 'append', i], r);
    return resource(obj(ref));
  });
  put(config, 'merge', merge);
  put(ignition, 'config', nonEmpty(config));
  const cas = list(obj(obj(ign.security).tls).certificateAuthorities).map((ref, i) => {
    checkScheme(obj(ref), ['ignition', 'security', 'tls', 'certificateAuthorities', i], r);
    return resource(obj(ref));
  });
  if (cas.length) ignition.security = { tls: { certificateAuthorities: cas } };
  const timeouts: JsonObject = {};
  const t = obj(ign.timeouts);
  put(timeouts, 'httpResponseHeaders', int(t.httpResponseHeaders), false);
  put(timeouts, 'httpTotal', int(t.httpTotal), false);
  put(ignition, 'timeouts', nonEmpty(timeouts));
  const proxy: JsonObject = {};
  const p = obj(ign.proxy);
  put(proxy, 'httpProxy', str(p.httpProxy));
  put(proxy, 'httpsProxy', str(p.httpsProxy));
  put(proxy, 'noProxy', list(p.noProxy));
  put(ignition, 'proxy', nonEmpty(proxy));

  // --- storage
  const storage2 = obj(doc.storage);
  const mountpoints = assignMountpoints(storage2, r);
  const storage: JsonObject = {};
  put(storage, 'disks', translateDisks(list(storage2.disks), r));
  put(storage, 'raid', list(storage2.raid).map((a) => translateRaid(obj(a))));
  put(storage, 'filesystems', translateFilesystems(list(storage2.filesystems), mountpoints, r));
  checkNodes(storage2, mountpoints, r);
  const files = list(storage2.files).map((f, i) => translateFile(obj(f), ['storage', 'files', i], mountpoints, r));
  files.push(...translateNetworkd(list(obj(doc.networkd).units)));
  put(storage, 'files', files);
  put(
    storage,
    'directories',
    list(storage2.directories).map((d) => {
      const dir = obj(d);
      const o = translateNode(dir, mountpoints);
      put(o, 'mode', int(dir.mode), false);
      return o;
    }),
  );
  put(
    storage,
    'links',
    list(storage2.links).map((l) => {
      const link = obj(l);
      const o = translateNode(link, mountpoints);
      put(o, 'hard', bool(link.hard));
      o.target = str(link.target) ?? '';
      return o;
    }),
  );
  put(out, 'storage', nonEmpty(storage));

  // --- systemd and passwd
  const units = translateUnits(list(obj(doc.systemd).units), r);
  if (units.length) out.systemd = { units };
  const passwd: JsonObject = {};
  put(passwd, 'users', list(obj(doc.passwd).users).map((u) => translateUser(obj(u))));
  put(
    passwd,
    'groups',
    list(obj(doc.passwd).groups).map((g) => {
      const group = obj(g);
      const o: JsonObject = { name: str(group.name) ?? '' };
      put(o, 'gid', int(group.gid), false);
      put(o, 'passwordHash', str(group.passwordHash));
      put(o, 'system', bool(group.system));
      return o;
    }),
  );
  put(out, 'passwd', nonEmpty(passwd));
  return out;
}

/** Filesystem name → mountpoint, as Flatcar's FSGeneration fills its map. */
function assignMountpoints(storage: JsonObject, r: Report): Map<string, string> {
  const map = new Map<string, string>([['root', '/']]);
  let generatedName = 0;
  let counter = 0;
  list(storage.filesystems).forEach((f, i) => {
    const fs = obj(f);
    let name = str(fs.name) ?? '';
    if (name === '') name = `ignition${++generatedName}`;
    if (!map.has(name)) {
      counter++;
      map.set(name, name === 'oem' ? '/usr/share/oem' : `/tmp/${name}-ign${counter}`);
    }
    const mount = fs.mount === undefined ? undefined : obj(fs.mount);
    if (mount?.create !== undefined && bool(obj(mount.create).force) !== true) {
      r.error(['storage', 'filesystems', i, 'mount', 'create'], 'a filesystem with a "create" object must set "force": true to be translated to spec 3 (it becomes wipeFilesystem: true)');
    }
    if (mount === undefined && fs.path !== undefined && str(fs.name) !== 'root') {
      r.error(['storage', 'filesystems', i, 'path'], `filesystem "${str(fs.name) ?? ''}" is only a path (an already-mounted filesystem); spec 3 can express that only for "root"`);
    }
  });
  return map;
}

function translateDisks(disks: Json[], r: Report): Json[] {
  return disks.map((d, i) => {
    const disk = obj(d);
    const o: JsonObject = { device: str(disk.device) ?? '' };
    put(o, 'wipeTable', bool(disk.wipeTable));
    put(
      o,
      'partitions',
      list(disk.partitions).map((p, j) => {
        const part = obj(p);
        for (const key of ['size', 'start'] as const) {
          // Sizes in sectors have no spec 3 equivalent (Flatcar rejects them as deprecated).
          // Zero means "default" and translates losslessly to an absent sizeMiB/startMiB.
          if ((int(part[key]) ?? 0) !== 0) {
            r.error(['storage', 'disks', i, 'partitions', j, key], `"${key}" in sectors cannot be translated to spec 3; use "${key}MiB" (spec 2.3+)`);
          }
        }
        const q: JsonObject = {};
        put(q, 'label', str(part.label), false);
        put(q, 'number', int(part.number));
        put(q, 'sizeMiB', int(part.sizeMiB), false);
        put(q, 'startMiB', int(part.startMiB), false);
        put(q, 'typeGuid', str(part.typeGuid));
        put(q, 'guid', str(part.guid));
        put(q, 'wipePartitionEntry', bool(part.wipePartitionEntry));
        put(q, 'shouldExist', bool(part.shouldExist), false);
        return q;
      }),
    );
    return o;
  });
}

function translateRaid(raid: JsonObject): JsonObject {
  const o: JsonObject = { name: str(raid.name) ?? '', level: str(raid.level) ?? '', devices: list(raid.devices) };
  put(o, 'spares', int(raid.spares));
  put(o, 'options', list(raid.options));
  return o;
}

function translateFilesystems(fss: Json[], mountpoints: Map<string, string>, _r: Report): Json[] {
  const out: Json[] = [];
  for (const f of fss) {
    const fs = obj(f);
    const name = str(fs.name) ?? '';
    if (name === 'root') continue; // implied in spec 3
    const mount = obj(fs.mount);
    let wipe = bool(mount.wipeFilesystem) === true;
    const options = [...list(mount.options)];
    if (mount.create !== undefined) {
      const create = obj(mount.create);
      wipe = bool(create.force) === true;
      options.push(...list(create.options));
    }
    let format = str(mount.format) ?? '';
    if (name === 'oem' && !wipe) format = 'btrfs';
    const o: JsonObject = { device: str(mount.device) ?? '' };
    put(o, 'format', format);
    put(o, 'wipeFilesystem', wipe);
    put(o, 'label', str(mount.label), false);
    put(o, 'uuid', str(mount.uuid), false);
    put(o, 'options', options);
    // An unnamed filesystem gets a generated name Flatcar never looks up again: no path.
    put(o, 'path', name === '' ? undefined : mountpoints.get(name));
    out.push(o);
  }
  return out;
}

function translateNode(node: JsonObject, mountpoints: Map<string, string>): JsonObject {
  const base = mountpoints.get(str(node.filesystem) ?? '') ?? '/';
  const o: JsonObject = { path: joinPath(base, str(node.path) ?? '') };
  for (const who of ['user', 'group'] as const) {
    const w = obj(node[who]);
    const x: JsonObject = {};
    put(x, 'id', int(w.id), false);
    put(x, 'name', str(w.name));
    put(o, who, nonEmpty(x));
  }
  put(o, 'overwrite', bool(node.overwrite), false);
  return o;
}

/**
 * Flatcar's checks before translating: every node on a known filesystem, no two nodes on one
 * path, no node below a link the config itself creates, no duplicate unit or drop-in names.
 */
function checkNodes(storage: JsonObject, mountpoints: Map<string, string>, r: Report): void {
  const links = list(storage.links).map((l) => joinPath(mountpoints.get(str(obj(l).filesystem) ?? '') ?? '/', str(obj(l).path) ?? ''));
  const seen = new Map<string, string>();
  for (const kind of ['files', 'directories', 'links'] as const) {
    list(storage[kind]).forEach((n, i) => {
      const node = obj(n);
      const fsName = str(node.filesystem) ?? '';
      if (fsName !== '' && !mountpoints.has(fsName)) {
        r.error(['storage', kind, i, 'filesystem'], `filesystem "${fsName}" is not defined in storage.filesystems`);
        return;
      }
      const p = joinPath(mountpoints.get(fsName) ?? '/', str(node.path) ?? '');
      const here = `/storage/${kind}/${i}`;
      const prev = seen.get(p);
      if (prev !== undefined) r.error(['storage', kind, i, 'path'], `path ${p} is already used by ${prev}; spec 3 needs every file, directory and link on its own path`);
      else seen.set(p, here);
      const via = links.find((l) => p !== l && p.startsWith(l.endsWith('/') ? l : l + '/'));
      if (via !== undefined) r.error(['storage', kind, i, 'path'], `path ${p} goes through the link ${via} defined in the same config, which spec 3 does not allow`);
    });
  }
}

function translateFile(file: JsonObject, path: Path, mountpoints: Map<string, string>, r: Report): JsonObject {
  const append = bool(file.append) === true;
  const node = { ...file, overwrite: append ? false : bool(file.overwrite) ?? true };
  const o = translateNode(node, mountpoints);
  put(o, 'mode', int(file.mode), false);
  const contents = obj(file.contents);
  checkScheme(contents, [...path, 'contents'], r);
  const res: JsonObject = {};
  put(res, 'compression', str(contents.compression));
  Object.assign(res, resource(contents));
  if (append) o.append = [res];
  else o.contents = res;
  return o;
}

function translateNetworkd(units: Json[]): JsonObject[] {
  const files: JsonObject[] = [];
  for (const u of units) {
    const unit = obj(u);
    const name = str(unit.name) ?? '';
    const contents = str(unit.contents) ?? '';
    if (contents !== '') {
      files.push({ path: joinPath('/etc/systemd/network', name), overwrite: true, contents: { source: 'data:,' + goPathEscape(contents) }, mode: 0o644 });
    }
    for (const d of list(unit.dropins)) {
      const dropin = obj(d);
      files.push({
        path: joinPath(`/etc/systemd/network/${name}.d`, str(dropin.name) ?? ''),
        overwrite: true,
        contents: { source: 'data:,' + goPathEscape(str(dropin.contents) ?? '') },
        mode: 0o644,
      });
    }
  }
  return files;
}

function translateUnits(units: Json[], r: Report): Json[] {
  const names = new Set<string>();
  return units.map((u, i) => {
    const unit = obj(u);
    const name = str(unit.name) ?? '';
    if (names.has(name)) r.error(['systemd', 'units', i, 'name'], `unit "${name}" is listed twice; spec 3 needs unique unit names`);
    names.add(name);
    const o: JsonObject = { name };
    // `enabled` wins over the deprecated `enable`, as in Flatcar.
    const enabled = bool(unit.enabled);
    if (enabled === true || bool(unit.enable) === true) o.enabled = true;
    if (enabled === false) o.enabled = false;
    put(o, 'mask', bool(unit.mask));
    put(o, 'contents', str(unit.contents));
    const dropinNames = new Set<string>();
    put(
      o,
      'dropins',
      list(unit.dropins).map((d, j) => {
        const dropin = obj(d);
        const dn = str(dropin.name) ?? '';
        if (dropinNames.has(dn)) r.error(['systemd', 'units', i, 'dropins', j, 'name'], `drop-in "${dn}" of unit "${name}" is listed twice`);
        dropinNames.add(dn);
        const x: JsonObject = { name: dn };
        put(x, 'contents', str(dropin.contents));
        return x;
      }),
    );
    return o;
  });
}

function translateUser(user: JsonObject): JsonObject {
  // The deprecated `create` object, when present, replaces every user-level creation field.
  const src = user.create !== undefined ? obj(user.create) : user;
  const o: JsonObject = { name: str(user.name) ?? '' };
  put(o, 'passwordHash', str(user.passwordHash), false);
  put(o, 'sshAuthorizedKeys', list(user.sshAuthorizedKeys));
  put(o, 'uid', int(src.uid), false);
  put(o, 'gecos', str(src.gecos));
  put(o, 'homeDir', str(src.homeDir));
  put(o, 'noCreateHome', bool(src.noCreateHome));
  put(o, 'primaryGroup', str(src.primaryGroup));
  put(o, 'groups', list(src.groups));
  put(o, 'noUserGroup', bool(src.noUserGroup));
  put(o, 'noLogInit', bool(src.noLogInit));
  put(o, 'shell', str(src.shell));
  put(o, 'system', bool(src.system));
  return o;
}
