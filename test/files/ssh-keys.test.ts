// SSH keys written as the user (stages/files/users.ts applySshKeys, src/system/as-user.ts): what
// Ignition's as_user package does (effective uid/gid of the user, no supplementary groups, umask
// 077, mkdir 0700 of every directory, O_WRONLY|O_CREAT|O_TRUNC 0600), checked on real directories
// with the kernel's own permission checks. Needs root (it switches to other users); the same cases
// against Ignition 2.14 itself are in test/differential/files/ssh-keys.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { AsUserWriter, asUserChildStarts, writeFileAsUser } from '../../src/system/as-user.js';
import { cleanupTemps, runFiles, snapshot, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const isRoot = process.getuid?.() === 0;
const maybe = isRoot ? describe : describe.skip;
const KEYS_FILE = 'home/core/.ssh/authorized_keys.d/ignition';

/** A root (0755, as /sysroot is) with root and core (500:500, home 0755 owned by core). */
function keysRoot(): string {
  const r = tempDir('kindling-keys-');
  chmodSync(r, 0o755);
  mkdirSync(path.join(r, 'etc'));
  writeFileSync(path.join(r, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:Core:/home/core:/bin/bash\nnohome:x:700:700::/home/nohome:/bin/sh\n');
  writeFileSync(path.join(r, 'etc/group'), 'root:x:0:\ndocker:x:233:core\ncore:x:500:\nnohome:x:700:\n');
  writeFileSync(path.join(r, 'etc/shadow'), 'root:*:15887:0:::::\ncore:*:15887:0:::::\nnohome:*:15887:0:::::\n', { mode: 0o640 });
  writeFileSync(path.join(r, 'etc/gshadow'), 'root:*::\ndocker:*::core\ncore:*::\nnohome:*::\n', { mode: 0o640 });
  mkdirSync(path.join(r, 'home/core'), { recursive: true });
  chownSync(path.join(r, 'home/core'), 500, 500);
  mkdirSync(path.join(r, 'root'), { mode: 0o700 });
  return r;
}

const keysConfig = (user: string, keys: string[]): Config => ({ ignition: { version: '3.3.0' }, passwd: { users: [{ name: user, sshAuthorizedKeys: keys }] } });

async function outcome(config: Config, root: string, options: Record<string, unknown> = {}): Promise<string> {
  try {
    await runFiles(config, root, options);
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

const mode = (p: string) => (lstatSync(p).mode & 0o7777).toString(8);
const owner = (p: string) => `${lstatSync(p).uid}:${lstatSync(p).gid}`;

maybe('SSH keys are written as the user', () => {
  it('creates .ssh and authorized_keys.d 0700 and the file 0600, all owned by the user; keys joined, one final newline', async () => {
    const root = keysRoot();
    expect(await outcome(keysConfig('core', ['ssh-ed25519 AAAA a', 'ssh-rsa BBBB b\n', '', 'last']), root)).toBe('ok');
    const f = path.join(root, KEYS_FILE);
    expect(readFileSync(f, 'utf8')).toBe('ssh-ed25519 AAAA a\nssh-rsa BBBB b\n\n\nlast\n');
    expect([mode(f), owner(f)]).toEqual(['600', '500:500']);
    for (const d of ['home/core/.ssh', 'home/core/.ssh/authorized_keys.d']) expect([mode(path.join(root, d)), owner(path.join(root, d))]).toEqual(['700', '500:500']);
    // The home directory itself is not touched.
    expect([mode(path.join(root, 'home/core')), owner(path.join(root, 'home/core'))]).toEqual(['755', '500:500']);
  });

  it('authorizedKeysFragment: false writes ~/.ssh/authorized_keys; a key already ending in a newline gets no second one', async () => {
    const root = keysRoot();
    expect(await outcome(keysConfig('core', ['ssh-ed25519 AAAA a\n']), root, { authorizedKeysFragment: false })).toBe('ok');
    const f = path.join(root, 'home/core/.ssh/authorized_keys');
    expect(readFileSync(f, 'utf8')).toBe('ssh-ed25519 AAAA a\n');
    expect([mode(f), owner(f)]).toEqual(['600', '500:500']);
    expect(existsSync(path.join(root, 'home/core/.ssh/authorized_keys.d'))).toBe(false);
  });

  it('root\'s keys (no switch needed) land as root:root with the same modes', async () => {
    const root = keysRoot();
    expect(await outcome(keysConfig('root', ['k1']), root)).toBe('ok');
    const f = path.join(root, 'root/.ssh/authorized_keys.d/ignition');
    expect(readFileSync(f, 'utf8')).toBe('k1\n');
    expect([mode(f), owner(f), mode(path.join(root, 'root/.ssh')), owner(path.join(root, 'root/.ssh'))]).toEqual(['600', '0:0', '700', '0:0']);
  });

  it('a set-group-ID home hands its group down, as the kernel does for a file the user creates (no chown after)', async () => {
    const root = keysRoot();
    chownSync(path.join(root, 'home/core'), 500, 233);
    chmodSync(path.join(root, 'home/core'), 0o2755);
    expect(await outcome(keysConfig('core', ['k']), root)).toBe('ok');
    expect([mode(path.join(root, 'home/core/.ssh')), owner(path.join(root, 'home/core/.ssh'))]).toEqual(['2700', '500:233']);
    expect([mode(path.join(root, KEYS_FILE)), owner(path.join(root, KEYS_FILE))]).toEqual(['600', '500:233']);
  });

  it('a root-owned 0755 ~/.ssh in the way fails the stage (mkdir as the user), leaving the tree as it was', async () => {
    const root = keysRoot();
    mkdirSync(path.join(root, 'home/core/.ssh'), { mode: 0o755 });
    const before = snapshot(root);
    const why = await outcome(keysConfig('core', ['k']), root);
    expect(why).toMatch(/failed to add SSH keys for core .*mkdir \/home\/core\/\.ssh\/authorized_keys\.d: permission denied \(as uid 500, gid 500\)/);
    expect(snapshot(root)).toEqual(before);
  });

  it('an existing key file the user may not write (root 0644) fails; one the user owns is truncated in place keeping its mode', async () => {
    const root = keysRoot();
    mkdirSync(path.join(root, 'home/core/.ssh/authorized_keys.d'), { recursive: true, mode: 0o700 });
    execFileSync('chown', ['-R', '500:500', path.join(root, 'home/core/.ssh')]);
    const f = path.join(root, KEYS_FILE);
    writeFileSync(f, 'old root-owned contents, longer than the keys\n', { mode: 0o644 });
    const before = snapshot(root);
    expect(await outcome(keysConfig('core', ['k']), root)).toMatch(/open \/home\/core\/\.ssh\/authorized_keys\.d\/ignition: permission denied/);
    expect(snapshot(root)).toEqual(before);

    chownSync(f, 500, 500);
    const other = path.join(root, 'home/core/hardlink');
    linkSync(f, other);
    expect(await outcome(keysConfig('core', ['k']), root)).toBe('ok');
    expect(readFileSync(f, 'utf8')).toBe('k\n');
    expect([mode(f), owner(f)]).toEqual(['644', '500:500']);
    // In place (O_TRUNC), not replaced: a hard link sees the new contents, as under Ignition.
    expect(readFileSync(other, 'utf8')).toBe('k\n');
  });

  it('a user whose home does not exist (noCreateHome) fails: the user may not create it in /home', async () => {
    const root = keysRoot();
    expect(await outcome(keysConfig('nohome', ['k']), root)).toMatch(/mkdir \/home\/nohome: permission denied \(as uid 700, gid 700\)/);
    expect(existsSync(path.join(root, 'home/nohome'))).toBe(false);
  });

  it('supplementary groups are dropped: group docker (233) write access to a directory does not help', async () => {
    const root = keysRoot();
    mkdirSync(path.join(root, 'home/core/.ssh'));
    chmodSync(path.join(root, 'home/core/.ssh'), 0o775);
    chownSync(path.join(root, 'home/core/.ssh'), 0, 233);
    // core is in docker by /etc/group, but Ignition (setgroups(0)) and we act with gid 500 only.
    expect(await outcome(keysConfig('core', ['k']), root)).toMatch(/mkdir \/home\/core\/\.ssh\/authorized_keys\.d: permission denied/);
    chownSync(path.join(root, 'home/core/.ssh'), 0, 500);
    expect(await outcome(keysConfig('core', ['k']), root)).toBe('ok');
    expect(owner(path.join(root, 'home/core/.ssh/authorized_keys.d'))).toBe('500:500');
  });

  it('a home that is a link out of the root stays inside it, and nothing outside changes', async () => {
    for (const kind of ['absolute', 'relative']) {
      const root = keysRoot();
      const outside = tempDir('kindling-outside-');
      chmodSync(outside, 0o777);
      execFileSync('rm', ['-r', path.join(root, 'home/core')]);
      symlinkSync(kind === 'absolute' ? outside : '../'.repeat(12) + outside.slice(1), path.join(root, 'home/core'));
      const before = snapshot(outside);
      // In the root, the link leads to ROOT/<outside path>, which core may not create.
      expect(await outcome(keysConfig('core', ['k']), root), kind).toMatch(/mkdir \/tmp: permission denied/);
      expect(snapshot(outside), kind).toEqual(before);
      // With the in-root target present and core's, the keys go there.
      mkdirSync(path.join(root, outside), { recursive: true });
      chownSync(path.join(root, outside), 500, 500);
      expect(await outcome(keysConfig('core', ['k']), root), kind).toBe('ok');
      expect(readFileSync(path.join(root, outside, '.ssh/authorized_keys.d/ignition'), 'utf8')).toBe('k\n');
      expect(snapshot(outside), kind).toEqual(before);
    }
  });

  it('a link at the key file itself is not followed (Ignition follows it, even out of the root)', async () => {
    const root = keysRoot();
    const outside = tempDir('kindling-outside-');
    chmodSync(outside, 0o777);
    mkdirSync(path.join(root, 'home/core/.ssh/authorized_keys.d'), { recursive: true });
    execFileSync('chown', ['-R', '500:500', path.join(root, 'home/core/.ssh')]);
    symlinkSync(path.join(outside, 'x'), path.join(root, KEYS_FILE));
    expect(await outcome(keysConfig('core', ['k']), root)).toMatch(/open \/home\/core\/\.ssh\/authorized_keys\.d\/ignition: it is a symbolic link \(not followed\)/);
    expect(existsSync(path.join(outside, 'x'))).toBe(false);
  });

  it('a FIFO at the key file fails at once instead of blocking; a regular file there is required', async () => {
    const root = keysRoot();
    mkdirSync(path.join(root, 'home/core/.ssh/authorized_keys.d'), { recursive: true });
    execFileSync('chown', ['-R', '500:500', path.join(root, 'home/core/.ssh')]);
    execFileSync('mkfifo', ['-m', '0666', path.join(root, KEYS_FILE)]);
    expect(await outcome(keysConfig('core', ['k']), root)).toMatch(/open \/home\/core\/\.ssh\/authorized_keys\.d\/ignition: no such device or address/);
  });

  it('~/.ssh being a regular file fails with "not a directory"', async () => {
    const root = keysRoot();
    writeFileSync(path.join(root, 'home/core/.ssh'), 'x');
    chownSync(path.join(root, 'home/core/.ssh'), 500, 500);
    // Found while resolving the path inside the root (Ignition's JoinPath fails there too).
    expect(await outcome(keysConfig('core', ['k']), root)).toMatch(/\/home\/core\/\.ssh is not a directory/);
  });

  it('mount-point directories the mount stage made in a home are the user\'s before the keys are written (Ignition\'s ModifyHomeDirPermissions)', async () => {
    const root = keysRoot();
    const state = tempDir('kindling-state-');
    // What the mount stage leaves for a filesystem mounted at /home/test/.ssh/foo/bar (blackbox
    // users.add.mountpoint): root-owned directories, recorded beside the run's state.
    mkdirSync(path.join(root, 'home/test/.ssh/foo/bar'), { recursive: true });
    const made = ['/home/test', '/home/test/.ssh', '/home/test/.ssh/foo', '/home/test/.ssh/foo/bar'];
    writeFileSync(path.join(state, 'created-mountpoint-dirs.json'), JSON.stringify(made));
    const plan = await runFiles({ ignition: { version: '3.3.0' }, passwd: { users: [{ name: 'test', uid: 1300, sshAuthorizedKeys: ['k'] }] } }, root, { stateDir: state });
    expect(plan.ops.map((o) => o.kind).slice(0, 3)).toEqual(['user.add', 'user.home-mountpoints', 'user.ssh-keys']);
    const gid = readFileSync(path.join(root, 'etc/passwd'), 'utf8').match(/^test:x:1300:(\d+):/m)?.[1];
    for (const d of made) expect([d, mode(path.join(root, d)), owner(path.join(root, d))]).toEqual([d, '700', `1300:${gid}`]);
    expect(owner(path.join(root, 'home/test/.ssh/authorized_keys.d/ignition'))).toBe(`1300:${gid}`);
  });

  it('the root and the directories above it need not be searchable by the user (the child starts in ROOT/home)', async () => {
    const parent = tempDir('kindling-closed-');
    chmodSync(parent, 0o700);
    const root = path.join(parent, 'root');
    execFileSync('cp', ['-a', keysRoot(), root]);
    chmodSync(root, 0o700);
    expect(await outcome(keysConfig('core', ['k']), root)).toBe('ok');
    expect(owner(path.join(root, KEYS_FILE))).toBe('500:500');
    // Below ROOT/home the user's own checks apply, as under Ignition.
    chmodSync(path.join(root, 'home'), 0o700);
    expect(await outcome(keysConfig('core', ['k']), root)).toMatch(/mkdir \/home\/core: permission denied/);
  });
});

maybe('writeFileAsUser', () => {
  it('passes any bytes through unchanged (1 MiB with NULs and invalid UTF-8) and reports what it created', async () => {
    const root = keysRoot();
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const r = await writeFileAsUser({ root, dir: '/home/core/a/b', name: 'f', uid: 500, gid: 500, data, switchUser: true });
    expect(r).toEqual({ created: ['/home/core/a', '/home/core/a/b', '/home/core/a/b/f'], how: 'child' });
    expect(readFileSync(path.join(root, 'home/core/a/b/f')).equals(data)).toBe(true);
    const again = await writeFileAsUser({ root, dir: '/home/core/a/b', name: 'f', uid: 500, gid: 500, data: Buffer.from('x'), switchUser: true });
    expect(again.created).toEqual([]);
    expect(readFileSync(path.join(root, 'home/core/a/b/f'), 'utf8')).toBe('x');
  });

  it('refuses a directory component that is a link (one that appeared after resolution), in the child and in process', async () => {
    const root = keysRoot();
    const outside = tempDir('kindling-outside-');
    chmodSync(outside, 0o777);
    symlinkSync(outside, path.join(root, 'home/core/.ssh'));
    for (const [uid, gid] of [[500, 500], [0, 0]]) {
      await expect(writeFileAsUser({ root, dir: '/home/core/.ssh/d', name: 'f', uid, gid, data: Buffer.from('k'), switchUser: true })).rejects.toThrow(
        /mkdir \/home\/core\/\.ssh: it became a symbolic link after the path was resolved/,
      );
    }
    expect(snapshot(outside)).toEqual({});
  });

  it('without switching (an unprivileged run) it writes with its own credentials and lists what it created', async () => {
    const root = keysRoot();
    const r = await writeFileAsUser({ root, dir: '/home/core/.ssh', name: 'authorized_keys', uid: 500, gid: 500, data: Buffer.from('k\n'), switchUser: false });
    expect(r).toEqual({ created: ['/home/core/.ssh', '/home/core/.ssh/authorized_keys'], how: 'in-process' });
    expect(owner(path.join(root, 'home/core/.ssh/authorized_keys'))).toBe('0:0');
    expect(mode(path.join(root, 'home/core/.ssh'))).toBe('700');
  });

  it('keys never appear in the log of a real run of the binary', async () => {
    const root = keysRoot();
    const bin = process.env.KINDLING_BIN;
    if (!bin) return; // the binary's log is what a boot shows; needs a built kindling
    const config = path.join(tempDir(), 'c.ign');
    writeFileSync(config, JSON.stringify(keysConfig('core', ['ssh-ed25519 SECRETKEYMATERIAL core'])));
    const r = spawnSync(bin, ['apply', config, '--root', root], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('SECRETKEYMATERIAL');
    expect(readFileSync(path.join(root, KEYS_FILE), 'utf8')).toBe('ssh-ed25519 SECRETKEYMATERIAL core\n');
    expect(statSync(path.join(root, KEYS_FILE)).uid).toBe(500);
  });
});

/** keysRoot() plus users u0..u(n-1) (uid/gid 1100+i, homes 0700 of their own, only they can enter). */
function manyRoot(n: number): string {
  const r = keysRoot();
  for (let i = 0; i < n; i++) {
    appendFileSync(path.join(r, 'etc/passwd'), `u${i}:x:${1100 + i}:${1100 + i}::/home/u${i}:/bin/sh\n`);
    appendFileSync(path.join(r, 'etc/group'), `u${i}:x:${1100 + i}:\n`);
    appendFileSync(path.join(r, 'etc/shadow'), `u${i}:*:15887:0:::::\n`);
    appendFileSync(path.join(r, 'etc/gshadow'), `u${i}:*::\n`);
    mkdirSync(path.join(r, `home/u${i}`), { mode: 0o700 });
    chownSync(path.join(r, `home/u${i}`), 1100 + i, 1100 + i);
  }
  return r;
}

/** The ids and groups of a process, from /proc (real, effective, saved, filesystem). */
function procIds(pid: number): { uid: string; gid: string; groups: string } {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => (new RegExp(`^${k}:[ \\t]*(.*)$`, 'm').exec(st)?.[1] ?? '').trim().split(/\s+/).join(' ');
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

maybe('one child process writes the keys of every user of a stage', () => {
  it('four users with keys (and root between them) start ONE child; each file is its user\'s', async () => {
    const root = manyRoot(4);
    const users = [
      { name: 'u0', sshAuthorizedKeys: ['k0'] },
      { name: 'root', sshAuthorizedKeys: ['kr'] },
      { name: 'u1', sshAuthorizedKeys: ['k1a', 'k1b'] },
      { name: 'core', sshAuthorizedKeys: ['kc'] },
      { name: 'u2', sshAuthorizedKeys: ['k2'] },
      { name: 'u3', sshAuthorizedKeys: ['k3'] },
    ];
    const before = asUserChildStarts();
    expect(await outcome({ ignition: { version: '3.3.0' }, passwd: { users } }, root)).toBe('ok');
    // The old way started one per user other than root: 5 here.
    expect(asUserChildStarts() - before).toBe(1);
    for (const [i, home, ids] of [[0, 'home/u0', '1100:1100'], [1, 'home/u1', '1101:1101'], [2, 'home/u2', '1102:1102'], [3, 'home/u3', '1103:1103'], ['c', 'home/core', '500:500'], ['r', 'root', '0:0']] as const) {
      const f = path.join(root, home, '.ssh/authorized_keys.d/ignition');
      expect([home, readFileSync(f, 'utf8'), owner(f), mode(f), owner(path.join(root, home, '.ssh')), mode(path.join(root, home, '.ssh'))]).toEqual([
        home,
        i === 1 ? 'k1a\nk1b\n' : `k${i}\n`,
        ids,
        '600',
        ids,
        '700',
      ]);
    }
  });

  it('a stage without keys for other users than root starts no child', async () => {
    const before = asUserChildStarts();
    expect(await outcome(keysConfig('root', ['k']), manyRoot(1))).toBe('ok');
    expect(asUserChildStarts()).toBe(before);
  });

  it('the second of three users fails (root-owned ~/.ssh): the stage fails with the one-user message; the first user\'s keys are written, the third\'s are not', async () => {
    const root = manyRoot(3);
    mkdirSync(path.join(root, 'home/u1/.ssh'), { mode: 0o755 });
    const alone = manyRoot(3);
    mkdirSync(path.join(alone, 'home/u1/.ssh'), { mode: 0o755 });
    const single = await outcome(keysConfig('u1', ['k1']), alone);
    expect(single).toMatch(/failed to add SSH keys for u1 .*mkdir \/home\/u1\/\.ssh\/authorized_keys\.d: permission denied \(as uid 1101, gid 1101\)/);
    const before = asUserChildStarts();
    const why = await outcome({ ignition: { version: '3.3.0' }, passwd: { users: [0, 1, 2].map((i) => ({ name: `u${i}`, sshAuthorizedKeys: [`k${i}`] })) } }, root);
    expect(why).toBe(single);
    expect(asUserChildStarts() - before).toBe(1);
    expect(readFileSync(path.join(root, 'home/u0/.ssh/authorized_keys.d/ignition'), 'utf8')).toBe('k0\n');
    expect(existsSync(path.join(root, 'home/u1/.ssh/authorized_keys.d'))).toBe(false);
    expect(existsSync(path.join(root, 'home/u2/.ssh'))).toBe(false);
  });

  it('between users the child is root again (uid, gid, no groups) and each user\'s bytes arrive intact', async () => {
    const root = manyRoot(3);
    const w = new AsUserWriter();
    try {
      const big = Buffer.alloc(300_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 131) & 0xff; // newlines, braces, NULs
      const datas = [big, Buffer.from('{"uid":0,"len":3}\n'), Buffer.alloc(0)];
      let pid: number | undefined;
      for (let i = 0; i < 3; i++) {
        const r = await w.write({ root, dir: `/home/u${i}/.ssh`, name: 'f', uid: 1100 + i, gid: 1100 + i, data: datas[i]!, switchUser: true });
        expect(r).toEqual({ created: [`/home/u${i}/.ssh`, `/home/u${i}/.ssh/f`], how: 'child' });
        pid ??= w.pid;
        expect(w.pid).toBe(pid);
        // Idle between requests: real, effective, saved and filesystem ids all root, no groups.
        expect(procIds(pid!)).toEqual({ uid: '0 0 0 0', gid: '0 0 0 0', groups: '' });
        expect(readFileSync(path.join(root, `home/u${i}/.ssh/f`)).equals(datas[i]!)).toBe(true);
        expect(owner(path.join(root, `home/u${i}/.ssh/f`))).toBe(`${1100 + i}:${1100 + i}`);
      }
      // u1 may not enter u0's home (0700): written as u1, into u0's home, it fails; the child lives on.
      await expect(w.write({ root, dir: '/home/u0/.ssh', name: 'g', uid: 1101, gid: 1101, data: Buffer.from('x'), switchUser: true })).rejects.toThrow(/open \/home\/u0\/\.ssh\/g: permission denied|mkdir \/home\/u0\/\.ssh: permission denied/);
      expect(w.pid).toBe(pid);
      expect(existsSync(path.join(root, 'home/u0/.ssh/g'))).toBe(false);
    } finally {
      await w.close();
    }
    expect(w.pid).toBeUndefined();
  });

  it('a child killed between users is reported once; the next write starts a new one', async () => {
    const root = manyRoot(2);
    const w = new AsUserWriter();
    try {
      await w.write({ root, dir: '/home/u0/.ssh', name: 'f', uid: 1100, gid: 1100, data: Buffer.from('a'), switchUser: true });
      const first = w.pid!;
      const before = asUserChildStarts();
      process.kill(first, 'SIGKILL');
      // Killed while idle: the next write either meets the dead child (reported) or a new one.
      const r = await w.write({ root, dir: '/home/u1/.ssh', name: 'f', uid: 1101, gid: 1101, data: Buffer.from('b'), switchUser: true }).catch((e: Error) => e);
      if (r instanceof Error) {
        expect(r.message).toMatch(/the process writing as uid 1101 killed by SIGKILL/);
        await w.write({ root, dir: '/home/u1/.ssh', name: 'f', uid: 1101, gid: 1101, data: Buffer.from('b'), switchUser: true });
      }
      expect(asUserChildStarts() - before).toBe(1);
      expect(w.pid).not.toBe(first);
      expect(readFileSync(path.join(root, 'home/u1/.ssh/f'), 'utf8')).toBe('b');
    } finally {
      await w.close();
    }
  });
});
