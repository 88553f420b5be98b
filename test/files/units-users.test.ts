// Units, drop-ins, presets, masking, the result report, and users/groups with the real
// shadow-utils (useradd --root) in a scratch root.
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { cleanupTemps, dataUrl, runFiles, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const v = { version: '3.6.0' };

describe('units', () => {
  it('writes units and drop-ins 0644, skips empty unit contents, writes an empty drop-in', async () => {
    const root = tempDir();
    await runFiles(
      {
        ignition: v,
        systemd: {
          units: [
            { name: 'a.service', contents: '[Service]\nExecStart=/bin/true\n', dropins: [{ name: '10-a.conf', contents: '[Unit]\n' }, { name: 'empty.conf', contents: '' }, { name: 'none.conf' }] },
            { name: 'b.service', contents: '' },
          ],
        },
      },
      root,
    );
    const sys = path.join(root, 'etc/systemd/system');
    expect(readFileSync(path.join(sys, 'a.service'), 'utf8')).toBe('[Service]\nExecStart=/bin/true\n');
    expect(statSync(path.join(sys, 'a.service')).mode & 0o7777).toBe(0o644);
    expect(readFileSync(path.join(sys, 'a.service.d/10-a.conf'), 'utf8')).toBe('[Unit]\n');
    expect(readFileSync(path.join(sys, 'a.service.d/empty.conf'), 'utf8')).toBe('');
    expect(existsSync(path.join(sys, 'a.service.d/none.conf'))).toBe(false);
    expect(existsSync(path.join(sys, 'b.service'))).toBe(false);
  });

  it('writes sorted presets with template instances collapsed, appending to an existing preset file', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'etc/systemd/system-preset'), { recursive: true });
    writeFileSync(path.join(root, 'etc/systemd/system-preset/20-ignition.preset'), 'enable old.service\n');
    const names = ['foo.service', 'bar.service', 'qux.service', 'echo@b.service', 'baz.service', 'echo@a.service'];
    await runFiles({ ignition: v, systemd: { units: names.map((name) => ({ name, enabled: true })) } }, root);
    expect(readFileSync(path.join(root, 'etc/systemd/system-preset/20-ignition.preset'), 'utf8')).toBe(
      'enable old.service\nenable bar.service\nenable baz.service\nenable echo@.service b a\nenable foo.service\nenable qux.service\n',
    );
  });

  it('disabling removes enablement symlinks (systemctl --root) and writes "disable"', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'usr/lib/systemd/system'), { recursive: true });
    writeFileSync(path.join(root, 'usr/lib/systemd/system/foo.service'), '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n');
    mkdirSync(path.join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
    symlinkSync('/usr/lib/systemd/system/foo.service', path.join(root, 'etc/systemd/system/multi-user.target.wants/foo.service'));
    await runFiles({ ignition: v, systemd: { units: [{ name: 'foo.service', enabled: false }, { name: 'enoent.service', enabled: false }] } }, root);
    expect(existsSync(path.join(root, 'etc/systemd/system/multi-user.target.wants/foo.service'))).toBe(false);
    expect(readFileSync(path.join(root, 'etc/systemd/system-preset/20-ignition.preset'), 'utf8')).toBe('disable enoent.service\ndisable foo.service\n');
  });

  it('masks (replacing a unit file) and unmasks only a /dev/null link', async () => {
    const root = tempDir();
    const sys = path.join(root, 'etc/systemd/system');
    mkdirSync(sys, { recursive: true });
    writeFileSync(path.join(sys, 'm.service'), 'unit');
    symlinkSync('/dev/null', path.join(sys, 'u.service'));
    symlinkSync('/elsewhere', path.join(sys, 'k.service'));
    await runFiles({ ignition: v, systemd: { units: [{ name: 'm.service', mask: true }, { name: 'u.service', mask: false }, { name: 'k.service', mask: false }] } }, root);
    expect(readlinkSync(path.join(sys, 'm.service'))).toBe('/dev/null');
    expect(existsSync(path.join(sys, 'u.service'))).toBe(false);
    expect(lstatSync(path.join(sys, 'u.service'), { throwIfNoEntry: false })).toBeUndefined();
    expect(readlinkSync(path.join(sys, 'k.service'))).toBe('/elsewhere');
  });
});

describe('result report', () => {
  it('writes /etc/.ignition-result.json 0600 and nests a previous report', async () => {
    const root = tempDir();
    const bootId = path.join(tempDir(), 'boot_id');
    writeFileSync(bootId, 'abcdef-boot\n');
    await runFiles({ ignition: v }, root, { bootIdFile: bootId });
    const p = path.join(root, 'etc/.ignition-result.json');
    const first = readFileSync(p, 'utf8');
    expect(statSync(p).mode & 0o7777).toBe(0o600);
    expect(first.endsWith('}\n')).toBe(true);
    const r1 = JSON.parse(first);
    expect(Object.keys(r1)).toEqual(['provisioningBootID', 'provisioningDate', 'userConfigProvided']);
    expect(r1.provisioningBootID).toBe('abcdef-boot');
    expect(r1.provisioningDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await runFiles({ ignition: v }, root, { bootIdFile: bootId, userConfigProvided: false });
    const r2 = JSON.parse(readFileSync(p, 'utf8'));
    expect(r2.userConfigProvided).toBe(false);
    expect(r2.previousReport).toEqual(r1);
  });
});

/** A root with the passwd databases useradd --root needs. */
function passwdRoot(): string {
  const root = tempDir();
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, 'home'));
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:CoreOS Admin:/home/core:/bin/bash\n');
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nwheel:x:10:root\nsudo:x:150:\ncore:x:500:\n');
  writeFileSync(path.join(root, 'etc/shadow'), 'root:*:15887:0:::::\ncore:*:15887:0:::::\n', { mode: 0o640 });
  writeFileSync(path.join(root, 'etc/gshadow'), 'root:*::\nwheel:*::root\nsudo:*::\ncore:*::\n', { mode: 0o640 });
  if (existsSync('/etc/login.defs')) copyFileSync('/etc/login.defs', path.join(root, 'etc/login.defs'));
  mkdirSync(path.join(root, 'home/core'));
  chownSync(path.join(root, 'home/core'), 500, 500);
  return root;
}

describe('users and groups (real shadow-utils --root)', () => {
  it('adds groups and users with Ignition flags, sets the hash, writes keys as the user, owners by name', async () => {
    const root = passwdRoot();
    const c: Config = {
      ignition: v,
      passwd: {
        groups: [{ name: 'grp', gid: 1500 }, { name: 'core' }],
        users: [
          { name: 'alice', uid: 1200, gecos: 'Alice A', groups: ['wheel', 'sudo'], shell: '/bin/sh', passwordHash: '$6$salt$abcdefHASH', sshAuthorizedKeys: ['ssh-ed25519 AAAA alice', 'ssh-rsa BBBB alice2'] },
          { name: 'core', sshAuthorizedKeys: ['ssh-ed25519 CCCC core'] },
          { name: 'svc', system: true, noCreateHome: true },
        ],
      },
      storage: { files: [{ path: '/home/alice/owned', contents: { source: dataUrl('x') }, user: { name: 'alice' }, group: { name: 'grp' } }] },
    };
    const plan = await runFiles(c, root);
    expect(plan.ops.map((o) => o.kind).slice(0, 7)).toEqual(['group.add', 'group.keep', 'user.add', 'user.password', 'user.ssh-keys', 'user.modify', 'user.ssh-keys']);
    const passwd = readFileSync(path.join(root, 'etc/passwd'), 'utf8');
    expect(passwd).toContain('alice:x:1200:');
    expect(passwd).toMatch(/alice:x:1200:\d+:Alice A:\/home\/alice:\/bin\/sh/);
    expect(passwd).toMatch(/^svc:x:\d+:\d+::\/home\/svc:/m);
    expect(existsSync(path.join(root, 'home/svc'))).toBe(false);
    expect(readFileSync(path.join(root, 'etc/group'), 'utf8')).toMatch(/^grp:x:1500:$/m);
    expect(readFileSync(path.join(root, 'etc/group'), 'utf8')).toMatch(/^wheel:x:10:root,alice$/m);
    expect(readFileSync(path.join(root, 'etc/shadow'), 'utf8')).toMatch(/^alice:\$6\$salt\$abcdefHASH:/m);
    expect(readFileSync(path.join(root, 'etc/shadow'), 'utf8')).toMatch(/^svc:\*:/m);
    const keys = path.join(root, 'home/alice/.ssh/authorized_keys.d/ignition');
    expect(readFileSync(keys, 'utf8')).toBe('ssh-ed25519 AAAA alice\nssh-rsa BBBB alice2\n');
    expect(statSync(keys).mode & 0o7777).toBe(0o600);
    expect(statSync(keys).uid).toBe(1200);
    expect(statSync(path.join(root, 'home/alice/.ssh')).mode & 0o7777).toBe(0o700);
    expect(statSync(path.join(root, 'home/alice/.ssh/authorized_keys.d')).uid).toBe(1200);
    // core exists: usermod, keys into the existing home, home itself untouched.
    expect(readFileSync(path.join(root, 'home/core/.ssh/authorized_keys.d/ignition'), 'utf8')).toBe('ssh-ed25519 CCCC core\n');
    expect(statSync(path.join(root, 'home/core/.ssh')).uid).toBe(500);
    expect(statSync(path.join(root, 'home/core')).mode & 0o7777).toBe(0o755);
    // Files see users created earlier in the same stage.
    expect(statSync(path.join(root, 'home/alice/owned')).uid).toBe(1200);
    expect(statSync(path.join(root, 'home/alice/owned')).gid).toBe(1500);
  });

  it('deletes users and groups that should not exist, and leaves absent ones alone', async () => {
    const root = passwdRoot();
    await runFiles({ ignition: v, passwd: { users: [{ name: 'core', shouldExist: false }, { name: 'ghost', shouldExist: false }], groups: [{ name: 'sudo', shouldExist: false }] } }, root);
    expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8')).not.toMatch(/^core:/m);
    expect(existsSync(path.join(root, 'home/core'))).toBe(false);
    expect(readFileSync(path.join(root, 'etc/group'), 'utf8')).not.toMatch(/^sudo:/m);
  });

  it('a failing tool names the user and the entry, with no password hash in the message', async () => {
    const root = passwdRoot();
    const err = await runFiles({ ignition: v, passwd: { users: [{ name: 'bob', primaryGroup: 'nosuchgroup', passwordHash: '$6$x$SECRETHASH' }] } }, root).catch((e) => e);
    expect(err.message).toMatch(/failed to add user "bob"/);
    expect(err.message).not.toContain('SECRETHASH');
    expect(err.location.pointer).toBe('/passwd/users/0');
  });
});
