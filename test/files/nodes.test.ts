// Files, directories and links against real directories: Ignition's defaults, modes with special
// bits, ownership, overwrite rules, append, compression + verification, ordering, and the plan
// being pure data without secrets.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { KindlingError } from '../../src/errors.js';
import { cleanupTemps, dataUrl, runFiles, snapshot, tempDir, filesCtx } from './helpers.js';
import { filesStage } from '../../stages/files/index.js';

afterAll(cleanupTemps);

const cfg = (storage: Config['storage'], extra: Partial<Config> = {}): Config => ({ ignition: { version: '3.6.0' }, storage, ...extra });
const mode = (p: string) => statSync(p).mode & 0o7777;

describe('files', () => {
  it('creates a file with Ignition defaults: 0644 root:root, parents 0755', async () => {
    const root = tempDir();
    await runFiles(cfg({ files: [{ path: '/a/b/c.txt', contents: { source: dataUrl('hello\n') } }] }), root);
    expect(readFileSync(path.join(root, 'a/b/c.txt'), 'utf8')).toBe('hello\n');
    expect(mode(path.join(root, 'a/b/c.txt'))).toBe(0o644);
    expect(mode(path.join(root, 'a'))).toBe(0o755);
    expect(mode(path.join(root, 'a/b'))).toBe(0o755);
    expect(statSync(path.join(root, 'a/b/c.txt')).uid).toBe(0);
    // No temporary file is left behind.
    expect(snapshot(root, (p) => p.startsWith('/etc'))).toHaveProperty(['/a/b/c.txt']);
    expect(Object.keys(snapshot(root)).filter((p) => p.includes('.kindling-'))).toEqual([]);
  });

  it('applies setuid/setgid/sticky modes and numeric owners (chown before chmod keeps the bits)', async () => {
    const root = tempDir();
    await runFiles(
      cfg({
        files: [
          { path: '/foo/suid', contents: { source: dataUrl('x') }, mode: 0o4755, user: { id: 1001 }, group: { id: 1001 } },
          { path: '/foo/sgid', contents: { source: dataUrl('x') }, mode: 0o2755 },
        ],
        directories: [{ path: '/tmpdir', mode: 0o1777 }],
      }),
      root,
    );
    expect(mode(path.join(root, 'foo/suid'))).toBe(0o4755);
    expect(statSync(path.join(root, 'foo/suid')).uid).toBe(1001);
    expect(statSync(path.join(root, 'foo/suid')).gid).toBe(1001);
    expect(mode(path.join(root, 'foo/sgid'))).toBe(0o2755);
    expect(mode(path.join(root, 'tmpdir'))).toBe(0o1777);
  });

  it('refuses to replace an existing file unless overwrite is true', async () => {
    const root = tempDir();
    writeFileSync(path.join(root, 'f'), 'old');
    const c = cfg({ files: [{ path: '/f', contents: { source: dataUrl('new') } }] });
    await expect(runFiles(c, root)).rejects.toThrow(/exists there already and overwrite is false/);
    expect(readFileSync(path.join(root, 'f'), 'utf8')).toBe('old');
    await runFiles(cfg({ files: [{ path: '/f', overwrite: true, contents: { source: dataUrl('new') } }] }), root);
    expect(readFileSync(path.join(root, 'f'), 'utf8')).toBe('new');
  });

  it('keeps an existing file (mode, contents) when the entry has no contents, and appends to it', async () => {
    const root = tempDir();
    writeFileSync(path.join(root, 'app'), 'old\n');
    chmodSync(path.join(root, 'app'), 0o600);
    await runFiles(cfg({ files: [{ path: '/app', append: [{ source: dataUrl('more\n') }, { source: dataUrl('end\n') }] }, { path: '/new', append: [{ source: dataUrl('x') }] }, { path: '/empty' }] }), root);
    expect(readFileSync(path.join(root, 'app'), 'utf8')).toBe('old\nmore\nend\n');
    expect(mode(path.join(root, 'app'))).toBe(0o600);
    expect(readFileSync(path.join(root, 'new'), 'utf8')).toBe('x');
    expect(mode(path.join(root, 'new'))).toBe(0o644);
    expect(readFileSync(path.join(root, 'empty'), 'utf8')).toBe('');
    expect(mode(path.join(root, 'empty'))).toBe(0o644);
  });

  it('refuses a non-regular file where a file is wanted', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'd'));
    await expect(runFiles(cfg({ files: [{ path: '/d' }] }), root)).rejects.toThrow(/non-regular file exists/);
  });

  it('decompresses gzip and verifies the hash of the decompressed contents', async () => {
    const root = tempDir();
    const body = 'compressed body\n'.repeat(100);
    const gz = gzipSync(Buffer.from(body));
    const hash = 'sha512-' + createHash('sha512').update(body).digest('hex');
    await runFiles(cfg({ files: [{ path: '/z', contents: { source: 'data:;base64,' + gz.toString('base64'), compression: 'gzip', verification: { hash } } }] }), root);
    expect(readFileSync(path.join(root, 'z'), 'utf8')).toBe(body);
    const bad = 'sha512-' + '0'.repeat(128);
    const err = await runFiles(cfg({ files: [{ path: '/y', contents: { source: 'data:;base64,' + gz.toString('base64'), compression: 'gzip', verification: { hash: bad } } }] }), root).catch((e) => e);
    expect(err).toBeInstanceOf(KindlingError);
    expect(existsSync(path.join(root, 'y'))).toBe(false);
    expect(Object.keys(snapshot(root)).filter((p) => p.includes('.kindling-'))).toEqual([]);
  });

  it('looks owners up by name in the target root, not on the host', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'etc'));
    writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nroot2:x:4321:4322::/home/r:/bin/sh\n');
    writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nweird:x:4333:\n');
    await runFiles(cfg({ files: [{ path: '/o', contents: { source: dataUrl('') }, user: { name: 'root2' }, group: { name: 'weird' } }] }), root);
    expect(statSync(path.join(root, 'o')).uid).toBe(4321);
    expect(statSync(path.join(root, 'o')).gid).toBe(4333);
    await expect(runFiles(cfg({ files: [{ path: '/p', contents: { source: dataUrl('') }, user: { name: 'daemon' } }] }), root)).rejects.toThrow(/no such user "daemon"/);
  });
});

describe('directories', () => {
  it('creates with 0755 by default, keeps an existing directory and applies a given mode and owner', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'keep'), { mode: 0o700 });
    await runFiles(cfg({ directories: [{ path: '/x/y/z' }, { path: '/keep', user: { id: 7 } }, { path: '/m', mode: 0o750 }] }), root);
    expect(mode(path.join(root, 'x/y/z'))).toBe(0o755);
    expect(mode(path.join(root, 'keep'))).toBe(0o700);
    expect(statSync(path.join(root, 'keep')).uid).toBe(7);
    expect(mode(path.join(root, 'm'))).toBe(0o750);
  });

  it('is created before deeper entries whatever the config order (stable by depth)', async () => {
    const root = tempDir();
    const plan = await runFiles(cfg({ files: [{ path: '/a/b/f', contents: { source: dataUrl('f') } }], directories: [{ path: '/a/b', mode: 0o700 }, { path: '/a', mode: 0o711 }] }), root);
    expect(plan.ops.filter((o) => o.kind !== 'result.write').map((o) => (o.details as { path: string }).path)).toEqual(['/a', '/a/b', '/a/b/f']);
    expect(mode(path.join(root, 'a'))).toBe(0o711);
    expect(mode(path.join(root, 'a/b'))).toBe(0o700);
  });

  it('refuses a file where the directory should be unless overwrite', async () => {
    const root = tempDir();
    writeFileSync(path.join(root, 'd'), 'x');
    await expect(runFiles(cfg({ directories: [{ path: '/d' }] }), root)).rejects.toThrow(/non-directory already exists/);
    await runFiles(cfg({ directories: [{ path: '/d', overwrite: true }] }), root);
    expect(statSync(path.join(root, 'd')).isDirectory()).toBe(true);
  });
});

describe('links', () => {
  it('creates symbolic links (relative and absolute, verbatim) with the owner on the link itself', async () => {
    const root = tempDir();
    await runFiles(
      cfg({
        files: [{ path: '/t/file', contents: { source: dataUrl('t') } }],
        links: [
          { path: '/l/abs', target: '/t/file', user: { id: 55 }, group: { id: 56 } },
          { path: '/l/rel', target: '../t/file' },
        ],
      }),
      root,
    );
    expect(readlinkSync(path.join(root, 'l/abs'))).toBe('/t/file');
    expect(lstatSync(path.join(root, 'l/abs')).uid).toBe(55);
    expect(lstatSync(path.join(root, 'l/abs')).gid).toBe(56);
    expect(statSync(path.join(root, 't/file')).uid).toBe(0);
    expect(readlinkSync(path.join(root, 'l/rel'))).toBe('../t/file');
  });

  it('creates hard links last, so they may point at deeper files, and to a symlink itself', async () => {
    const root = tempDir();
    await runFiles(
      cfg({
        files: [{ path: '/deep/er/file', contents: { source: dataUrl('h') } }],
        links: [
          { path: '/h', target: '/deep/er/file', hard: true },
          { path: '/s', target: '/deep/er/file' },
          { path: '/hs', target: '/s', hard: true },
        ],
      }),
      root,
    );
    expect(statSync(path.join(root, 'h')).ino).toBe(statSync(path.join(root, 'deep/er/file')).ino);
    expect(lstatSync(path.join(root, 'hs')).isSymbolicLink()).toBe(true);
    expect(lstatSync(path.join(root, 'hs')).ino).toBe(lstatSync(path.join(root, 's')).ino);
  });

  it('keeps a matching existing link, refuses a different one, replaces it with overwrite', async () => {
    const root = tempDir();
    symlinkSync('/same', path.join(root, 'a'));
    symlinkSync('/other', path.join(root, 'b'));
    writeFileSync(path.join(root, 'f'), 'f');
    linkSync(path.join(root, 'f'), path.join(root, 'hf'));
    await runFiles(cfg({ links: [{ path: '/a', target: '/same/' }, { path: '/hf', target: '/f', hard: true }] }), root);
    await expect(runFiles(cfg({ links: [{ path: '/b', target: '/same' }] }), root)).rejects.toThrow(/points to \/other, not \/same/);
    await expect(runFiles(cfg({ links: [{ path: '/f', target: '/same' }] }), root)).rejects.toThrow(/non-symlink already exists/);
    await runFiles(cfg({ links: [{ path: '/b', target: '/same', overwrite: true }] }), root);
    expect(readlinkSync(path.join(root, 'b'))).toBe('/same');
  });
});

describe('plan', () => {
  it('is pure: planning changes nothing, and the plan holds no contents or password hashes', async () => {
    const root = tempDir();
    writeFileSync(path.join(root, 'existing'), 'e');
    const before = snapshot(root);
    const secret = 'TOPSECRETCONTENTS';
    const c = cfg(
      { files: [{ path: '/s', contents: { source: dataUrl(secret) } }, { path: '/t', contents: { source: 'https://user:pw@example.com/x?token=abc' } }] },
      { passwd: { users: [{ name: 'u', passwordHash: '$6$SALTSALT$HASHHASH' }] } },
    );
    const plan = await filesStage.plan(filesCtx(c, root));
    expect(snapshot(root)).toEqual(before);
    const text = JSON.stringify(plan);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(encodeURIComponent(secret));
    expect(text).not.toContain('HASHHASH');
    expect(text).not.toContain('abc');
    expect(text).not.toContain(':pw@');
    expect(plan.ops.map((o) => o.kind)).toEqual(['user.add', 'user.password', 'file.write', 'file.write', 'result.write']);
  });

  it('refuses two entries that resolve to the same place through an existing symlink', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'real'));
    symlinkSync('/real', path.join(root, 'alias'));
    const err = await filesStage
      .plan(filesCtx(cfg({ files: [{ path: '/real/x', contents: { source: dataUrl('1') } }, { path: '/alias/x', contents: { source: dataUrl('2') } }] }), root))
      .catch((e) => e);
    expect(err).toBeInstanceOf(KindlingError);
    expect(err.message).toMatch(/resolved to \/real\/x after symlink chasing/);
    expect(err.location.pointer).toBe('/storage/files/1');
  });
});

describe('remote contents', () => {
  it('are fetched ahead with a bound, written in order, and a failure leaves no staging or temp files', async () => {
    const { createServer } = await import('node:http');
    let inFlight = 0;
    let peak = 0;
    const server = createServer((req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        if (req.url === '/missing') res.writeHead(404).end('no');
        else res.writeHead(200).end(`body of ${req.url}\n`);
      }, 30);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const root = tempDir();
      const files = Array.from({ length: 12 }, (_, i) => ({ path: `/r/${i}`, contents: { source: `${base}/f${i}` } }));
      await runFiles(cfg({ files }), root, { fetchConcurrency: 3 });
      for (let i = 0; i < 12; i++) expect(readFileSync(path.join(root, `r/${i}`), 'utf8')).toBe(`body of /f${i}\n`);
      expect(peak).toBe(3);

      const root2 = tempDir();
      const bad = [files[0]!, { path: '/r/x', contents: { source: `${base}/missing` } }, files[1]!];
      const err = await runFiles(cfg({ files: bad }), root2, { fetchConcurrency: 3 }).catch((e) => e);
      expect(err).toBeInstanceOf(KindlingError);
      expect(err.message).toMatch(/\/r\/x/);
      expect(readFileSync(path.join(root2, 'r/0'), 'utf8')).toBe('body of /f0\n');
      expect(existsSync(path.join(root2, 'r/1'))).toBe(false);
      expect(Object.keys(snapshot(root2)).filter((p) => p.includes('.kindling-'))).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
