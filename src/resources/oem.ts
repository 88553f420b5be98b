// oem:///path — a file on the OEM partition, mounted by the caller at FetchOptions.oemRoot (Flatcar's
// Ignition reads it from /usr/share/oem or the mounted OEM partition). As in Ignition the path must
// be absolute and is cleaned first, so "/../x" is "/x"; on top of that, symlinks must not lead out of
// the root (the partition's contents are not trusted to point anywhere on the initramfs).
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { displayUrl, FetchError } from './errors.js';

export async function openOem(source: string, oemRoot: string | undefined): Promise<Readable> {
  const where = displayUrl(source);
  // oem:///a/b and oem://a/b (host-form, Go puts "a" in Host and "/b" in Path) — Ignition uses
  // only the path, so "oem://a/b" means "/b"; we follow.
  let p: string;
  try {
    p = decodeURIComponent(new URL(source).pathname);
  } catch {
    throw new FetchError(`${where}: not a valid oem URL`);
  }
  if (!p.startsWith('/')) throw new FetchError(`${where}: path is not absolute`);
  if (!oemRoot) throw new FetchError(`${where}: oem:// URLs need the OEM partition, and none is mounted (oemRoot not set)`);
  const clean = path.posix.normalize(p);
  let root: string;
  try {
    root = await realpath(oemRoot);
  } catch (err) {
    throw new FetchError(`${where}: the OEM root ${oemRoot} is not accessible: ${(err as Error).message}`, { cause: err });
  }
  const full = path.join(root, clean);
  let real: string;
  try {
    real = await realpath(full);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FetchError(`${where}: resource not found (no ${clean} on the OEM partition)`, { notFound: true });
    throw new FetchError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  if (real !== root && !real.startsWith(root + path.sep)) throw new FetchError(`${where}: path leads outside the OEM partition`);
  const st = await stat(real);
  if (!st.isFile()) throw new FetchError(`${where}: not a regular file on the OEM partition`);
  return createReadStream(real);
}
