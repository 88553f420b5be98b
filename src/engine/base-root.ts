// The accounts a blank Flatcar ROOT receives before the files stage runs. On Flatcar, the initrd's
// setup-root step copies them from /usr/share/baselayout into /sysroot/etc; a sparse image made by
// `kindling apply --image` (no /usr) or an empty directory given to `kindling apply --root` gets
// the same here, so that users and groups in a config extend what a real node has. Files that
// already exist are never touched.
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BASE_FILES: ReadonlyArray<{ name: string; mode: number; text: string }> = [
  { name: 'passwd', mode: 0o644, text: `root:x:0:0:root:/root:/bin/bash
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
nobody:x:65534:65534:nobody:/var/empty:/sbin/nologin
core:x:500:500:Flatcar Admin:/home/core:/bin/bash
` },
  { name: 'group', mode: 0o644, text: `root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
wheel:x:10:root,core
users:x:100:
sudo:x:150:
docker:x:233:core
systemd-journal:x:190:core
portage:x:250:core
core:x:500:
nogroup:x:65533:
nobody:x:65534:
` },
  { name: 'shadow', mode: 0o600, text: `root:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
core:*:19000:0:99999:7:::
` },
  { name: 'gshadow', mode: 0o600, text: `root:*::root
bin:*::root,bin,daemon
daemon:*::root,bin,daemon
wheel:*::root,core
users:*::
sudo:*::
docker:*::core
systemd-journal:*::core
portage:*::core
core:*::
nogroup:*::
nobody:*::
` },
  { name: 'login.defs', mode: 0o644, text: `MAIL_DIR        /var/mail
PASS_MAX_DAYS   99999
PASS_MIN_DAYS   0
PASS_WARN_AGE   7
UID_MIN         1000
UID_MAX         60000
SYS_UID_MIN     201
SYS_UID_MAX     999
GID_MIN         1000
GID_MAX         60000
SYS_GID_MIN     201
SYS_GID_MAX     999
CREATE_HOME     yes
UMASK           022
USERGROUPS_ENAB yes
ENCRYPT_METHOD  SHA512
` },
];

/**
 * What `systemd-tmpfiles --create baselayout-home.conf` makes (flatcar/baselayout), which the
 * initrd's setup-root runs before Ignition: core's home and ~/.ssh, where Ignition then writes
 * core's SSH keys as core (it could not create them itself in a root-owned /home).
 */
const BASE_HOME: ReadonlyArray<{ path: string; mode: number; uid: number; gid: number }> = [
  { path: 'home/core', mode: 0o755, uid: 500, gid: 500 },
  { path: 'home/core/.ssh', mode: 0o700, uid: 500, gid: 500 },
];

/** Seeds ROOT/etc with Flatcar's base accounts when ROOT/etc/passwd is missing; returns what it wrote. */
export function seedBaseAccounts(root: string): string[] {
  const etc = join(root, 'etc');
  if (existsSync(join(etc, 'passwd'))) return [];
  mkdirSync(etc, { recursive: true, mode: 0o755 });
  const written: string[] = [];
  for (const f of BASE_FILES) {
    const p = join(etc, f.name);
    if (existsSync(p)) continue;
    writeFileSync(p, f.text, { mode: f.mode, flag: 'wx' });
    written.push(`/etc/${f.name}`);
  }
  for (const d of BASE_HOME) {
    const p = join(root, d.path);
    if (existsSync(p)) continue;
    mkdirSync(p, { recursive: true, mode: 0o755 });
    chmodSync(p, d.mode);
    try {
      chownSync(p, d.uid, d.gid);
    } catch {
      // Not root (`kindling plan`, `kindling apply` as a user): the directory stays ours.
    }
    written.push(`/${d.path}`);
  }
  return written;
}
