// Differential test: Kindling's files stage against Debian's Ignition 2.14 on fresh copies of the
// same root, for configs of spec 3.0-3.3 (what 2.14 accepts). Trees are compared node by node:
// type, mode (with special bits), uid, gid, sha256 of contents, link target, hard-link groups;
// /etc/passwd, /etc/shadow, /etc/group, /etc/gshadow are ordinary files there (same day, same
// tools: byte-identical). The provisioning report is compared by shape (its date differs). Configs
// Ignition refuses must be refused by Kindling too.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemps, snapshot, tempDir, type NodeSnap } from '../../files/helpers.js';
import { cleanupOracle, haveIgnition, runIgnition, runKindling, twinRoots } from './oracle.js';

const REPORT = '/etc/.ignition-result.json';

/** A small Flatcar-like root: passwd databases, a core user, units, links that lead elsewhere. */
function baseRoot(): string {
  const r = tempDir('kindling-base-');
  chmodSync(r, 0o755);
  const w = (p: string, s: string, mode = 0o644) => {
    mkdirSync(path.dirname(path.join(r, p)), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(r, p), s, { mode });
  };
  w('etc/selinux/config', 'SELINUXTYPE=targeted\n');
  w('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:Core:/home/core:/bin/bash\nsvcuser:x:600:600::/home/svcuser:/sbin/nologin\n');
  w('etc/group', 'root:x:0:\nwheel:x:10:root\nsudo:x:150:\ndocker:x:233:\ncore:x:500:\nsvcuser:x:600:\n');
  w('etc/shadow', 'root:*:15887:0:::::\ncore:*:15887:0:::::\nsvcuser:!!:15887::::::\n', 0o640);
  w('etc/gshadow', 'root:*::\nwheel:*::root\nsudo:*::\ndocker:*::\ncore:*::\nsvcuser:!::\n', 0o640);
  if (existsSync('/etc/login.defs')) copyFileSync('/etc/login.defs', path.join(r, 'etc/login.defs'));
  mkdirSync(path.join(r, 'home/core'), { recursive: true });
  chownSync(path.join(r, 'home/core'), 500, 500);
  mkdirSync(path.join(r, 'home/svcuser'));
  chownSync(path.join(r, 'home/svcuser'), 600, 600);
  mkdirSync(path.join(r, 'root'), { mode: 0o700 });
  w('usr/lib/systemd/system/foo.service', '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n');
  w('usr/lib/systemd/system/bar.service', '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n');
  mkdirSync(path.join(r, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  symlinkSync('/usr/lib/systemd/system/foo.service', path.join(r, 'etc/systemd/system/multi-user.target.wants/foo.service'));
  symlinkSync('/dev/null', path.join(r, 'etc/systemd/system/masked.service'));
  w('etc/existing', 'old\n', 0o600);
  w('etc/replace-me', 'x\n');
  w('etc/keep-me', 'kept\n', 0o640);
  mkdirSync(path.join(r, 'var/lib/alt'), { recursive: true });
  symlinkSync('/var/lib/alt', path.join(r, 'etc/alt'));
  mkdirSync(path.join(r, 'opt'), { recursive: true });
  symlinkSync('../../../../../var/lib', path.join(r, 'opt/up'));
  symlinkSync('/etc/existing', path.join(r, 'etc/already-link'));
  return r;
}

let server: Server;
let base = '';
const bodies = new Map<string, Buffer>();
const text = (n: number) => Buffer.from(`remote file ${n}\n`.repeat(64));
const sha512 = (b: Buffer) => 'sha512-' + createHash('sha512').update(b).digest('hex');

beforeAll(async () => {
  for (let i = 0; i < 12; i++) bodies.set(`/f/${i}`, text(i));
  bodies.set('/gz', gzipSync(text(99)));
  bodies.set('/append', Buffer.from('appended remotely\n'));
  server = createServer((req, res) => {
    const b = bodies.get(req.url ?? '');
    res.writeHead(b ? 200 : 404);
    res.end(b ?? 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const child = { ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/from-child', contents: { source: 'data:,child%0A' }, mode: 0o600 }] }, systemd: { units: [{ name: 'child.service', contents: '[Service]\nExecStart=/bin/true\n' }] } };
  bodies.set('/child.ign', Buffer.from(JSON.stringify(child)));
  const replacement = { ignition: { version: '3.2.0' }, storage: { directories: [{ path: '/replaced', mode: 0o700 }] } };
  bodies.set('/replace.ign', Buffer.from(JSON.stringify(replacement)));
});

afterAll(async () => {
  cleanupOracle();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  cleanupTemps();
});

const PRESET = '/etc/systemd/system-preset/20-ignition.preset';

/**
 * Ignition 2.14 writes the preset lines in Go map order (it changes from run to run); newer
 * Ignition and Kindling sort them. Compare the preset file as a sorted set of lines.
 */
function normalizePresets(root: string, snap: Record<string, NodeSnap>): Record<string, NodeSnap> {
  const s = snap[PRESET];
  if (s?.type === 'file') {
    const lines = readFileSync(path.join(root, PRESET), 'utf8').split('\n').filter(Boolean).sort();
    s.sha256 = 'sorted-lines:' + createHash('sha256').update(lines.join('\n')).digest('hex');
  }
  return snap;
}

function describeDiff(a: Record<string, NodeSnap>, b: Record<string, NodeSnap>): string[] {
  const out: string[] = [];
  for (const p of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = JSON.stringify(a[p]);
    const y = JSON.stringify(b[p]);
    if (x !== y) out.push(`${p}: ignition ${x ?? 'absent'} / kindling ${y ?? 'absent'}`);
  }
  return out.sort();
}

async function compare(config: object): Promise<{ diff: string[]; ign: boolean; kin: boolean; ignLog: string; kinLog: string }> {
  const text = JSON.stringify(config).replaceAll('{{base}}', base);
  const [ra, rb] = twinRoots(baseRoot());
  const ign = await runIgnition(text, ra);
  const kin = await runKindling(text, rb);
  const skip = (p: string) => p === REPORT;
  const diff = describeDiff(normalizePresets(ra, snapshot(ra, skip)), normalizePresets(rb, snapshot(rb, skip)));
  if (process.env.FILES_DIFF_KEEP) process.stderr.write(`roots kept: ${ra} ${rb}\n`);
  if (ign.ok && kin.ok) {
    // The report: same shape and mode; the date and boot id are the run's own.
    const shape = (r: string) => {
      const j = JSON.parse(readFileSync(path.join(r, REPORT), 'utf8'));
      return { keys: Object.keys(j), provided: j.userConfigProvided, mode: statSync(path.join(r, REPORT)).mode & 0o7777 };
    };
    expect(shape(rb)).toEqual(shape(ra));
  }
  return { diff, ign: ign.ok, kin: kin.ok, ignLog: ign.log, kinLog: kin.log };
}

const maybe = haveIgnition ? describe : describe.skip;

maybe('files stage vs Ignition 2.14 (same root, same config)', () => {
  const same = async (config: object) => {
    const r = await compare(config);
    expect(r.ign, `Ignition failed:\n${r.ignLog.split('\n').filter((l) => /CRIT|ERR/.test(l)).join('\n')}`).toBe(true);
    expect(r.kin, `Kindling failed: ${r.kinLog}`).toBe(true);
    expect(r.diff).toEqual([]);
  };

  it('users, groups, passwords and SSH keys (3.3.0)', async () => {
    await same({
      ignition: { version: '3.3.0' },
      passwd: {
        // Groups carry a hash: without one, 2.14 passes --password "*" and newer Ignition none.
        groups: [{ name: 'grp1', gid: 1500, passwordHash: '$6$g$grouphash' }, { name: 'sysgrp', system: true, passwordHash: '!' }],
        users: [
          { name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3Nza core@a', 'ssh-rsa AAAAB3Nza core@b'], groups: ['sudo', 'docker'] },
          { name: 'alice', uid: 1201, gecos: 'Alice Example', homeDir: '/home/alice2', groups: ['wheel'], shell: '/bin/sh', passwordHash: '$6$salt$0123456789abcdef', sshAuthorizedKeys: ['ssh-ed25519 AAAA alice'] },
          { name: 'svc', system: true, noCreateHome: true, noUserGroup: true, primaryGroup: 'grp1' },
          { name: 'bob', uid: 1300, noLogInit: true, passwordHash: '' },
          { name: 'svcuser', shouldExist: false },
        ],
      },
      storage: { files: [{ path: '/home/alice2/notes', contents: { source: 'data:,hi' }, user: { name: 'alice' }, group: { name: 'grp1' } }] },
    });
  });

  it('files, directories and links: modes, owners, overwrite, append, order, hard links (3.2.0)', async () => {
    await same({
      ignition: { version: '3.2.0' },
      storage: {
        directories: [{ path: '/d/e/f', mode: 0o700 }, { path: '/d', mode: 0o711, user: { id: 42 } }, { path: '/d/e', group: { name: 'docker' } }, { path: '/etc/systemd' }],
        files: [
          { path: '/d/e/f/file', contents: { source: 'data:,deep' }, mode: 0o640, user: { id: 1234 }, group: { id: 5678 } },
          { path: '/etc/replace-me', overwrite: true, contents: { source: 'data:;base64,cmVwbGFjZWQK' } },
          { path: '/etc/existing', append: [{ source: 'data:,line2%0A' }, { source: 'data:,line3%0A' }] },
          { path: '/etc/keep-me', user: { name: 'core' } },
          { path: '/new/append-only', append: [{ source: 'data:,a' }] },
          { path: '/new/empty' },
          { path: '/new/owned', contents: { source: 'data:,o' }, user: { name: 'svcuser' }, group: { name: 'core' }, mode: 0o600 },
        ],
        links: [
          { path: '/l/abs', target: '/d/e/f/file', user: { id: 7 }, group: { id: 8 } },
          { path: '/l/rel', target: '../d/e/f/file' },
          { path: '/l/hard', target: '/d/e/f/file', hard: true },
          { path: '/l/hard-to-sym', target: '/l/abs', hard: true },
          { path: '/etc/already-link', target: '/etc/existing' },
          { path: '/l/dangling', target: '/nowhere' },
        ],
      },
    });
  });

  it('remote contents from 127.0.0.1: sha512, gzip, append, many at once (3.1.0)', async () => {
    const files = [...Array(12).keys()].map((i) => ({ path: `/srv/remote/${i}`, contents: { source: `{{base}}/f/${i}`, verification: { hash: sha512(text(i)) } } }));
    await same({
      ignition: { version: '3.1.0' },
      storage: {
        files: [
          ...files,
          { path: '/srv/gz', contents: { source: '{{base}}/gz', compression: 'gzip', verification: { hash: sha512(text(99)) } }, mode: 0o600 },
          { path: '/etc/existing', append: [{ source: '{{base}}/append', verification: { hash: sha512(Buffer.from('appended remotely\n')) } }] },
        ],
      },
    });
  });

  it('units, drop-ins, enable/disable presets, mask and unmask (3.0.0)', async () => {
    await same({
      ignition: { version: '3.0.0' },
      systemd: {
        units: [
          { name: 'new.service', enabled: true, contents: '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n', dropins: [{ name: '10-env.conf', contents: '[Service]\nEnvironment=A=1\n' }, { name: '20-empty.conf', contents: '' }] },
          { name: 'foo.service', enabled: false },
          { name: 'bar.service', enabled: true, dropins: [{ name: 'x.conf', contents: '[Unit]\n' }] },
          { name: 'masked.service', mask: false },
          { name: 'getty@tty1.service', mask: true },
          { name: 'zzz.timer', enabled: true },
          { name: 'empty.service', contents: '' },
        ],
      },
    });
  });

  it('paths through links already in the root land inside it (3.3.0)', async () => {
    await same({
      ignition: { version: '3.3.0' },
      storage: {
        files: [
          { path: '/etc/alt/via-abs', contents: { source: 'data:,abs' } },
          { path: '/opt/up/alt/via-rel', contents: { source: 'data:,rel' } },
        ],
        directories: [{ path: '/etc/alt/sub', mode: 0o750 }],
      },
    });
  });

  it('merge and replace of referenced configs from 127.0.0.1 (3.3.0)', async () => {
    await same({ ignition: { version: '3.3.0', config: { merge: [{ source: '{{base}}/child.ign' }] } }, storage: { files: [{ path: '/etc/from-parent', contents: { source: 'data:,p' } }] } });
    await same({ ignition: { version: '3.3.0', config: { replace: { source: '{{base}}/replace.ign' } } }, storage: { files: [{ path: '/etc/never', contents: { source: 'data:,n' } }] } });
  });

  it('configs Ignition refuses are refused too', async () => {
    const refused = [
      { storage: { files: [{ path: '/etc/existing', contents: { source: 'data:,new' } }] } },
      { storage: { files: [{ path: '/var/lib/alt/x', contents: { source: 'data:,1' } }, { path: '/etc/alt/x', contents: { source: 'data:,2' } }] } },
      { storage: { files: [{ path: '/bad', contents: { source: 'data:,abc', verification: { hash: 'sha512-' + '0'.repeat(128) } } }] } },
      { storage: { files: [{ path: '/bad', contents: { source: `{{base}}/f/1`, verification: { hash: sha512(text(2)) } } }] } },
      { storage: { files: [{ path: '/lnk/file', contents: { source: 'data:,x' } }], links: [{ path: '/lnk', target: '/elsewhere' }] } },
      { storage: { files: [{ path: '/etc/passwd/x', contents: { source: 'data:,x' } }] } },
      { storage: { links: [{ path: '/etc/already-link', target: '/etc/other' }] } },
      { storage: { directories: [{ path: '/etc/existing' }] } },
      { storage: { files: [{ path: '/missing', contents: { source: `{{base}}/nope` } }] } },
      { storage: { files: [{ path: '/etc/keep-me', user: { name: 'nosuchuser' } }] } },
      { passwd: { users: [{ name: 'x', primaryGroup: 'nosuchgroup' }] } },
    ];
    const outcomes: string[] = [];
    for (const [i, c] of refused.entries()) {
      const r = await compare({ ignition: { version: '3.3.0' }, ...c });
      outcomes.push(`#${i}: ignition ${r.ign ? 'accepted' : 'refused'}, kindling ${r.kin ? 'accepted' : 'refused'}`);
    }
    expect(outcomes).toEqual(refused.map((_, i) => `#${i}: ignition refused, kindling refused`));
  });

  it('special mode bits in a 3.3.0 config are dropped in translation, as 2.14 does', async () => {
    const r = await compare({
      ignition: { version: '3.3.0' },
      storage: { files: [{ path: '/bin-suid', contents: { source: 'data:,x' }, mode: 0o4755 }], directories: [{ path: '/sticky', mode: 0o1777 }] },
    });
    expect(r.ign && r.kin).toBe(true);
    expect(r.diff).toEqual([]);
  });
});
