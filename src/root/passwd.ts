// User and group lookups inside the TARGET root, never the host's. Ignition forks, chroots into
// the root and calls getpwnam/getgrnam there, so the root's own NSS "files" databases answer
// (plus Flatcar's read-only /usr/share/baselayout copies, which the root's nsswitch.conf adds with
// the "usrfiles"/"altfiles" module). We read the same files directly: every call reads them
// afresh, so users and groups created earlier in the same stage are found.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

// Parsed databases are cached by identity and mtime: a config that names an owner for 10,000
// files reads /etc/passwd once, yet a user added by useradd a moment ago is seen (new mtime/inode).
const cache = new Map<string, { key: string; text: string | undefined }>();

function readOptional(file: string): string | undefined {
  let key: string;
  try {
    const st = statSync(file, { bigint: true });
    key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  const hit = cache.get(file);
  if (hit && hit.key === key) return hit.text;
  const text = readFileSync(file, 'utf8');
  cache.set(file, { key, text });
  return text;
}

/** The databases NSS would consult for "passwd" or "group" in this root, in order. */
function databaseFiles(root: string, db: 'passwd' | 'group'): string[] {
  const files = [path.join(root, 'etc', db)];
  const nss = readOptional(path.join(root, 'etc', 'nsswitch.conf'));
  const line = nss?.split('\n').find((l) => l.trim().startsWith(`${db}:`));
  if (line && /\b(usrfiles|altfiles)\b/.test(line)) {
    // Flatcar's nss-usrfiles reads /usr/share/baselayout; Fedora's nss-altfiles reads /usr/lib.
    files.push(path.join(root, 'usr', 'share', 'baselayout', db), path.join(root, 'usr', 'lib', db));
  }
  return files;
}

function parseId(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  return Number(s);
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (f.length < 7 || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0]!, uid, gid, gecos: f[4]!, home: f[5]!, shell: f[6]! });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    const gid = parseId(f[2]);
    if (f.length < 4 || gid === undefined) continue;
    out.push({ name: f[0]!, gid, members: f[3] ? f[3].split(',') : [] });
  }
  return out;
}

/** The user of that name in the target root, or undefined. */
export function lookupUserSync(root: string, name: string): PasswdEntry | undefined {
  for (const file of databaseFiles(root, 'passwd')) {
    const text = readOptional(file);
    const hit = text === undefined ? undefined : parsePasswd(text).find((u) => u.name === name);
    if (hit) return hit;
  }
  return undefined;
}

/** The group of that name in the target root, or undefined. */
export function lookupGroupSync(root: string, name: string): GroupEntry | undefined {
  for (const file of databaseFiles(root, 'group')) {
    const text = readOptional(file);
    const hit = text === undefined ? undefined : parseGroup(text).find((g) => g.name === name);
    if (hit) return hit;
  }
  return undefined;
}

export async function lookupUser(root: string, name: string): Promise<PasswdEntry | undefined> {
  return lookupUserSync(root, name);
}

export async function lookupGroup(root: string, name: string): Promise<GroupEntry | undefined> {
  return lookupGroupSync(root, name);
}
