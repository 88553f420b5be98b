// Durability by default (stages/files/durability.ts): before the provisioning report, the files
// stage flushes the root's filesystem and every filesystem mounted below the root (syncfs through
// `sync -f`). Checked with the real sync on a real tmpfs mounted inside a temporary root, and with
// a stand-in `sync` on PATH that records its arguments or fails: a failed flush fails the stage
// before the report is written; syncfs: false leaves the flush out.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { filesystemsUnder } from '../../stages/files/durability.js';
import { cleanupTemps, dataUrl, runFiles, tempDir } from './helpers.js';

const mounted: string[] = [];
afterAll(() => {
  for (const m of mounted.splice(0)) execFileSync('umount', [m]);
  cleanupTemps();
});

const cfg: Config = { ignition: { version: '3.6.0' }, storage: { files: [{ path: '/etc/hello', contents: { source: dataUrl('hi\n') } }] } };
const REPORT = 'etc/.ignition-result.json';

const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
});

/** A `sync` on PATH that appends its arguments to a log (and exits with `code`). */
function fakeSync(code = 0): string {
  const bin = tempDir('kindling-fake-sync-');
  const log = path.join(bin, 'calls');
  writeFileSync(path.join(bin, 'sync'), `#!/bin/sh\necho "$@" >> ${log}\nexit ${code}\n`);
  chmodSync(path.join(bin, 'sync'), 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
  return log;
}

describe('files: the flush before the report', () => {
  it('lists the root and the filesystems mounted below it from mountinfo, pseudo filesystems left out', () => {
    const dir = tempDir();
    const info = path.join(dir, 'mountinfo');
    writeFileSync(
      info,
      [
        '22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
        '30 22 0:5 / /sysroot rw shared:9 - ext4 /dev/vdb9 rw',
        '31 30 0:6 / /sysroot/var rw shared:10 - xfs /dev/vdb10 rw',
        '32 30 0:7 / /sysroot/with\\040space rw - tmpfs tmpfs rw',
        '33 30 0:8 / /sysroot/proc rw - proc proc rw',
        '34 30 0:9 / /sysroot/auto rw master:2 - autofs systemd-1 rw',
        '35 22 0:10 / /sysrootother rw - ext4 /dev/vdc rw',
        '',
      ].join('\n'),
    );
    expect(filesystemsUnder('/sysroot', info)).toEqual(['/sysroot', '/sysroot/var', '/sysroot/with space']);
    expect(filesystemsUnder('/sysroot/', info)).toEqual(['/sysroot', '/sysroot/var', '/sysroot/with space']);
    expect(filesystemsUnder('/', info)).toEqual(['/', '/sysroot', '/sysroot/var', '/sysroot/with space', '/sysrootother']);
    expect(filesystemsUnder('/sysroot', path.join(dir, 'missing'))).toEqual(['/sysroot']);
  });

  it('flushes the root and a filesystem mounted inside it with the real sync, then writes the report', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'var'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'kindling-durability', path.join(root, 'var')]);
    mounted.push(path.join(root, 'var'));
    const plan = await runFiles({ ...cfg, storage: { files: [...cfg.storage!.files!, { path: '/var/lib/x', contents: { source: dataUrl('x') } }] } }, root);
    const last = plan.ops.at(-1)!;
    expect(last.kind).toBe('result.write');
    expect(last.summary).toBe('flush /, /var to disk (syncfs), then write the provisioning report /etc/.ignition-result.json (0600 root:root)');
    expect(last.details.sync).toEqual([root, path.join(root, 'var')]);
    expect(readFileSync(path.join(root, 'var/lib/x'), 'utf8')).toBe('x');
    expect(existsSync(path.join(root, REPORT))).toBe(true);
  });

  it('runs sync -f on those paths; syncfs: false runs nothing', async () => {
    let log = fakeSync();
    const root = tempDir();
    await runFiles(cfg, root);
    expect(readFileSync(log, 'utf8')).toBe(`-f ${root}\n`);
    log = fakeSync();
    const plan = await runFiles(cfg, tempDir(), { syncfs: false });
    expect(plan.ops.at(-1)!.summary).toBe('write the provisioning report /etc/.ignition-result.json (0600 root:root)');
    expect(existsSync(log)).toBe(false);
  });

  it('a failed flush fails the stage before the report is written', async () => {
    fakeSync(1);
    const root = tempDir();
    await expect(runFiles(cfg, root)).rejects.toThrow(/flushing the target filesystems \(.*\) failed/);
    expect(readFileSync(path.join(root, 'etc/hello'), 'utf8')).toBe('hi\n');
    expect(existsSync(path.join(root, REPORT))).toBe(false);
  });
});
