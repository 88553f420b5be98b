// Differential test for SSH keys: Kindling's files stage against Debian's Ignition 2.14 on twin
// copies of one root, where the keys are written as the user (Ignition's internal/as_user). Each
// case prepares the root (a ~/.ssh owned by root, a key file the user may not write, a home that is
// a link out of the root, ...), runs both, and requires the same outcome (both succeed or both
// fail, for the same reason) and the same tree: type, mode, uid, gid, contents of every node. A
// directory outside the root, writable by everyone, must not change. One case is a deliberate
// difference (a link at the key file itself: Ignition writes through it, Kindling refuses).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTemps, snapshot, tempDir } from '../../files/helpers.js';
import { cleanupOracle, haveIgnition, runIgnition, runKindling, twinRoots } from './oracle.js';

const REPORT = '/etc/.ignition-result.json';

afterAll(() => {
  cleanupOracle();
  cleanupTemps();
});

/** A directory outside every root, open to everyone: a write that escaped would land here. */
let outsideDir = '';
function outside(): string {
  if (!outsideDir) {
    outsideDir = tempDir('kindling-outside-');
    chmodSync(outsideDir, 0o777);
  }
  return outsideDir;
}

/** Root (0755, as /sysroot), passwd databases, core 500:500 in docker, home 0755 owned by core. */
function baseRoot(prepare: (r: string) => void): string {
  const r = tempDir('kindling-keysbase-');
  chmodSync(r, 0o755);
  const w = (p: string, s: string, mode = 0o644) => {
    mkdirSync(path.dirname(path.join(r, p)), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(r, p), s, { mode });
  };
  w('etc/selinux/config', 'SELINUXTYPE=targeted\n');
  w('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:Core:/home/core:/bin/bash\n');
  w('etc/group', 'root:x:0:\ndocker:x:233:core\ncore:x:500:\n');
  w('etc/shadow', 'root:*:15887:0:::::\ncore:*:15887:0:::::\n', 0o640);
  w('etc/gshadow', 'root:*::\ndocker:*::core\ncore:*::\n', 0o640);
  if (existsSync('/etc/login.defs')) copyFileSync('/etc/login.defs', path.join(r, 'etc/login.defs'));
  mkdirSync(path.join(r, 'home/core'), { recursive: true });
  chownSync(path.join(r, 'home/core'), 500, 500);
  chmodSync(path.join(r, 'home/core'), 0o755);
  mkdirSync(path.join(r, 'root'), { mode: 0o700 });
  prepare(r);
  return r;
}

interface Result {
  ign: boolean;
  kin: boolean;
  diff: string[];
  /** Ignition's reason ("failed to set SSH key: ...") and Kindling's message, when they failed. */
  ignWhy: string;
  kinWhy: string;
  outsideChanged: boolean;
}

async function compare(config: object, prepare: (r: string) => void = () => {}, env: Record<string, string> = {}): Promise<Result> {
  const text = JSON.stringify({ ignition: { version: '3.3.0' }, ...config });
  const [ra, rb] = twinRoots(baseRoot(prepare));
  const before = JSON.stringify(snapshot(outside()));
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let ign;
  let kin;
  try {
    ign = await runIgnition(text, ra);
    kin = await runKindling(text, rb);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const skip = (p: string) => p === REPORT;
  const a = snapshot(ra, skip);
  const b = snapshot(rb, skip);
  const diff: string[] = [];
  for (const p of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[p]) !== JSON.stringify(b[p])) diff.push(`${p}: ignition ${JSON.stringify(a[p]) ?? 'absent'} / kindling ${JSON.stringify(b[p]) ?? 'absent'}`);
  }
  const ignWhy = /failed to set SSH key: ([^\n]*)/.exec(ign.log)?.[1] ?? (ign.ok ? '' : ign.log.split('\n').filter((l) => /CRIT/.test(l)).join(' | '));
  return { ign: ign.ok, kin: kin.ok, diff: diff.sort(), ignWhy, kinWhy: kin.log, outsideChanged: JSON.stringify(snapshot(outside())) !== before };
}

/** Both succeed, identical trees, nothing outside touched. */
function expectSame(r: Result): void {
  expect(r.ign, `Ignition failed: ${r.ignWhy}`).toBe(true);
  expect(r.kin, `Kindling failed: ${r.kinWhy}`).toBe(true);
  expect(r.diff).toEqual([]);
  expect(r.outsideChanged).toBe(false);
}

/** Both fail for the same reason (the errno text Ignition prints), identical trees, nothing outside touched. */
function expectSameFailure(r: Result, reason: string): void {
  expect({ ign: r.ign, kin: r.kin }).toEqual({ ign: false, kin: false });
  expect(r.ignWhy).toContain(reason);
  expect(r.kinWhy).toContain(reason);
  expect(r.diff).toEqual([]);
  expect(r.outsideChanged).toBe(false);
}

const keys = (name: string, k: string[] = ['ssh-ed25519 AAAAC3Nza k1', 'ssh-rsa AAAAB3Nza k2']) => ({ passwd: { users: [{ name, sshAuthorizedKeys: k }] } });
const chownR = (p: string, ids: string) => execFileSync('chown', ['-R', ids, p]);

const maybe = haveIgnition && process.getuid?.() === 0 ? describe : describe.skip;

maybe('SSH keys vs Ignition 2.14: written as the user', () => {
  it('(a) existing and new users, root, odd keys: identical trees', async () => {
    expectSame(
      await compare({
        passwd: {
          users: [
            { name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAA a', 'ssh-rsa BBBB b\n', '', 'last'] },
            { name: 'alice', uid: 1201, sshAuthorizedKeys: ['ssh-ed25519 AAAA alice'] },
            { name: 'root', sshAuthorizedKeys: ['ssh-ed25519 AAAA root\n'] },
          ],
        },
      }),
    );
  });

  it('(a) IGNITION_WRITE_AUTHORIZED_KEYS_FRAGMENT=false: ~/.ssh/authorized_keys, identical trees', async () => {
    expectSame(await compare(keys('core'), () => {}, { IGNITION_WRITE_AUTHORIZED_KEYS_FRAGMENT: 'false' }));
  });

  it('(a) a set-group-ID home and a home reached through an in-root link: identical trees', async () => {
    expectSame(
      await compare(keys('core'), (r) => {
        chownSync(path.join(r, 'home/core'), 500, 233);
        chmodSync(path.join(r, 'home/core'), 0o2755);
      }),
    );
    expectSame(
      await compare(keys('core'), (r) => {
        rmSync(path.join(r, 'home/core'), { recursive: true });
        mkdirSync(path.join(r, 'var/home/core'), { recursive: true });
        chownSync(path.join(r, 'var/home/core'), 500, 500);
        symlinkSync('/var/home/core', path.join(r, 'home/core'));
      }),
    );
  });

  it('(a) an existing key file of the user (0644, longer): truncated in place, mode and owner kept', async () => {
    expectSame(
      await compare(keys('core'), (r) => {
        mkdirSync(path.join(r, 'home/core/.ssh/authorized_keys.d'), { recursive: true });
        writeFileSync(path.join(r, 'home/core/.ssh/authorized_keys.d/ignition'), 'an old key that is longer than the new ones together, and then some more\n'.repeat(3), { mode: 0o644 });
        chownR(path.join(r, 'home/core/.ssh'), '500:500');
      }),
    );
  });

  it('(b) a root-owned 0755 ~/.ssh: both fail (permission denied), same tree', async () => {
    const prep = (r: string) => {
      mkdirSync(path.join(r, 'home/core/.ssh'));
      chmodSync(path.join(r, 'home/core/.ssh'), 0o755);
    };
    expectSameFailure(await compare(keys('core'), prep), 'permission denied');
    expectSameFailure(await compare(keys('core'), prep, { IGNITION_WRITE_AUTHORIZED_KEYS_FRAGMENT: 'false' }), 'permission denied');
    // With authorized_keys.d already there and the user's, the root-owned ~/.ssh is no obstacle.
    expectSame(
      await compare(keys('core'), (r) => {
        prep(r);
        mkdirSync(path.join(r, 'home/core/.ssh/authorized_keys.d'), { mode: 0o700 });
        chownSync(path.join(r, 'home/core/.ssh/authorized_keys.d'), 500, 500);
      }),
    );
  });

  it('(c) authorized_keys.d/ignition already there, root-owned 0644: both fail (permission denied), file unchanged', async () => {
    expectSameFailure(
      await compare(keys('core'), (r) => {
        mkdirSync(path.join(r, 'home/core/.ssh/authorized_keys.d'), { recursive: true });
        chownR(path.join(r, 'home/core/.ssh'), '500:500');
        writeFileSync(path.join(r, 'home/core/.ssh/authorized_keys.d/ignition'), 'ssh-ed25519 OLD root-owned\n', { mode: 0o644 });
      }),
      'permission denied',
    );
  });

  it('(d) a home that is a link out of the root (absolute, relative): resolved inside it, both fail, nothing outside changes', async () => {
    for (const rel of [false, true]) {
      const target = rel ? '../'.repeat(12) + outside().slice(1) : outside();
      expectSameFailure(
        await compare(keys('core'), (r) => {
          rmSync(path.join(r, 'home/core'), { recursive: true });
          symlinkSync(target, path.join(r, 'home/core'));
        }),
        'permission denied',
      );
      // ~/.ssh as such a link, the home being a real one.
      expectSameFailure(await compare(keys('core'), (r) => symlinkSync(target, path.join(r, 'home/core/.ssh'))), 'permission denied');
    }
  });

  it('a user without a home, a home the user cannot enter, supplementary groups, ~/.ssh a file: both fail alike', async () => {
    expectSameFailure(await compare({ passwd: { users: [{ name: 'nohome', noCreateHome: true, sshAuthorizedKeys: ['k'] }] } }), 'permission denied');
    expectSameFailure(
      await compare(keys('core'), (r) => {
        chownSync(path.join(r, 'home/core'), 0, 0);
        chmodSync(path.join(r, 'home/core'), 0o700);
      }),
      'permission denied',
    );
    // core is in docker, but writes happen with gid 500 only (setgroups(0)).
    expectSameFailure(
      await compare(keys('core'), (r) => {
        mkdirSync(path.join(r, 'home/core/.ssh'));
        chownSync(path.join(r, 'home/core/.ssh'), 0, 233);
        chmodSync(path.join(r, 'home/core/.ssh'), 0o775);
      }),
      'permission denied',
    );
    expectSameFailure(
      await compare(keys('core'), (r) => {
        writeFileSync(path.join(r, 'home/core/.ssh'), 'x');
        chownSync(path.join(r, 'home/core/.ssh'), 500, 500);
      }),
      'not a directory',
    );
  });

  it('known difference: a link at the key file itself is written through by Ignition, refused by Kindling', async () => {
    const r = await compare(keys('core'), (root) => {
      mkdirSync(path.join(root, 'home/core/.ssh/authorized_keys.d'), { recursive: true });
      chownR(path.join(root, 'home/core/.ssh'), '500:500');
      symlinkSync('../elsewhere', path.join(root, 'home/core/.ssh/authorized_keys.d/ignition'));
    });
    expect({ ign: r.ign, kin: r.kin }).toEqual({ ign: true, kin: false });
    expect(r.kinWhy).toContain('it is a symbolic link (not followed)');
    // The only difference in the trees is the file Ignition wrote through the link.
    expect(r.diff.map((d) => d.split(':')[0])).toEqual(['/home/core/.ssh/elsewhere']);
    expect(r.outsideChanged).toBe(false);
  });
});

// Several users in one stage: Kindling writes every user's keys through one child process
// (src/system/as-user.ts AsUserWriter), switching back to root between users. Ignition 2.14 does
// EnsureUser, SetPasswordHash, AuthorizeSSHKeys user by user and stops at the first failure.
maybe('SSH keys vs Ignition 2.14: several users in one stage', () => {
  const many = (names: string[]) => ({
    passwd: { users: names.map((name, i) => ({ name, ...(name === 'core' || name === 'root' ? {} : { uid: 1201 + i }), sshAuthorizedKeys: [`ssh-ed25519 AAAA ${name}`] })) },
  });

  it('five users (new, existing, root among them): identical trees', async () => {
    expectSame(await compare(many(['alice', 'core', 'root', 'bob', 'carol'])));
  });

  it('the second of three fails (root-owned ~/.ssh): both fail alike; the first user has keys, the third was never created', async () => {
    const r = await compare(many(['alice', 'core', 'bob']), (root) => {
      mkdirSync(path.join(root, 'home/core/.ssh'));
      chmodSync(path.join(root, 'home/core/.ssh'), 0o755);
    });
    expectSameFailure(r, 'permission denied');
    expect(r.kinWhy).toMatch(/failed to add SSH keys for core .*permission denied \(as uid 500, gid 500\)/);
  });

  it('the last of three fails (a home the user cannot enter): the first two have their keys in both', async () => {
    const r = await compare(many(['alice', 'bob', 'core']), (root) => {
      chownSync(path.join(root, 'home/core'), 0, 0);
      chmodSync(path.join(root, 'home/core'), 0o700);
    });
    expectSameFailure(r, 'permission denied');
  });
});
