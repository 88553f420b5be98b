// Spec 1 → spec 2.0.0, as Ignition's TranslateFromV1 did it:
//  - each filesystem becomes a named 2.0 filesystem "_translate-filesystem-<index>" with a mount;
//  - the files listed inside a filesystem move to storage.files on that filesystem, their inline
//    contents become a data: URL, uid/gid become user.id/group.id (always set, 0 when absent);
//  - storage.arrays becomes storage.raid; users' `create` objects are kept as they are.
// It also returns how to map a pointer into the 2.0 document back to the spec 1 text, so that
// errors found later point at what the user wrote.
import { dataUrlEscape } from './escape.js';
import { list, obj, type Json, type JsonObject } from './check.js';

export interface V1Result {
  doc: JsonObject;
  /** 2.0 pointer → spec 1 pointer. */
  remap: (pointer: string) => string;
}

export function translateV1(v1: JsonObject): V1Result {
  // Pairs of (2.0 prefix, 1.x prefix); the longest matching prefix wins.
  const prefixes: Array<[string, string]> = [['/storage/raid', '/storage/arrays']];
  const storage1 = obj(v1.storage);
  const storage: JsonObject = {};
  if (storage1.disks !== undefined) storage.disks = storage1.disks;
  if (storage1.arrays !== undefined) storage.raid = storage1.arrays;

  const filesystems: Json[] = [];
  const files: Json[] = [];
  list(storage1.filesystems).forEach((fs1, i) => {
    const fs = obj(fs1);
    const name = `_translate-filesystem-${i}`;
    const mount: JsonObject = { device: fs.device ?? '', format: fs.format ?? '' };
    if (fs.create !== undefined) mount.create = fs.create;
    filesystems.push({ name, mount });
    prefixes.push([`/storage/filesystems/${i}/mount`, `/storage/filesystems/${i}`]);
    list(fs.files).forEach((file1, j) => {
      const file = obj(file1);
      const at = files.length;
      const out: JsonObject = {
        filesystem: name,
        path: file.path ?? '',
        contents: { source: 'data:,' + dataUrlEscape(typeof file.contents === 'string' ? file.contents : '') },
        user: { id: file.uid ?? 0 },
        group: { id: file.gid ?? 0 },
      };
      if (file.mode !== undefined) out.mode = file.mode;
      files.push(out);
      const from = `/storage/filesystems/${i}/files/${j}`;
      prefixes.push([`/storage/files/${at}`, from]);
      prefixes.push([`/storage/files/${at}/contents/source`, `${from}/contents`]);
      prefixes.push([`/storage/files/${at}/user/id`, `${from}/uid`]);
      prefixes.push([`/storage/files/${at}/group/id`, `${from}/gid`]);
      prefixes.push([`/storage/files/${at}/filesystem`, `/storage/filesystems/${i}`]);
    });
  });
  if (filesystems.length) storage.filesystems = filesystems;
  if (files.length) storage.files = files;

  const doc: JsonObject = { ignition: { version: '2.0.0' } };
  if (Object.keys(storage).length) doc.storage = storage;
  for (const key of ['systemd', 'networkd', 'passwd'] as const) if (v1[key] !== undefined) doc[key] = v1[key];

  prefixes.sort((a, b) => b[0].length - a[0].length);
  const remap = (pointer: string): string => {
    if (pointer === '/ignition/version' || pointer === '/ignition') return '/ignitionVersion';
    for (const [to, from] of prefixes) {
      if (pointer === to || pointer.startsWith(to + '/')) return from + pointer.slice(to.length);
    }
    return pointer;
  };
  return { doc, remap };
}
