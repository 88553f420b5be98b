// zvm through the built binary, with stand-ins for the s390 tools on PATH (this machine has no
// z/VM reader): modprobe, chccwdev, cio_ignore, udevadm and vmur are shell scripts that log their
// arguments and serve a reader queue from a directory, in vmur's own listing format. The binary
// must drive them in Ignition's order and take the first spool file of type "ign".
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseReaderList } from '../../src/acquire/providers/zvm.js';
import { sandboxEnv, scratch } from './helpers.js';

let bin = process.env.KINDLING_BIN ?? '';
beforeAll(() => {
  if (!bin) {
    bin = join(scratch('kindling-zvmbin-'), 'kindling');
    execFileSync(process.execPath, ['scripts/build.mjs', '--out', bin], { stdio: 'pipe' });
  }
}, 120_000);

const CFG = '{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/from-zvm","contents":{"source":"data:,z"}}]}}';
const HEADER = 'ORIGINID FILE CLASS RECORDS  CPY HOLD DATE  TIME     NAME      TYPE      DIST';

interface Spool {
  id: string;
  name: string;
  type: string;
  body: Buffer | string;
}

function sandbox(spools: Spool[], o: { chccwdevFailsOnce?: boolean } = {}) {
  const dir = scratch('kindling-zvm-');
  const tools = join(dir, 'bin');
  const queue = join(dir, 'queue');
  mkdirSync(tools);
  mkdirSync(queue);
  const log = join(dir, 'calls');
  const listing = [HEADER, ...spools.map((s) => `LINUX01  ${s.id} A PUN 00000003 001 NONE 11/29 06:00:00 ${s.name.padEnd(9)} ${s.type.padEnd(9)} LINUX01`)].join('\n');
  writeFileSync(join(dir, 'listing'), listing + '\n');
  for (const s of spools) writeFileSync(join(queue, s.id), s.body);
  const script = (name: string, body: string) => {
    writeFileSync(join(tools, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${body}\n`);
    chmodSync(join(tools, name), 0o755);
  };
  script('modprobe', 'exit 0');
  script('udevadm', 'exit 0');
  script('cio_ignore', `touch ${dir}/exposed; exit 0`);
  script('chccwdev', o.chccwdevFailsOnce ? `[ -e ${dir}/exposed ] && exit 0; echo "Device 0.0.000c not found" >&2; exit 1` : 'exit 0');
  script('vmur', `case "$1" in li) cat ${dir}/listing;; re) [ "$2" = -f ] || exit 2; cp ${queue}/$3 "./$4" && pwd > ${dir}/received-in;; *) exit 2;; esac`);
  writeFileSync(join(dir, 'cmdline'), 'console=ttysclp0\n');
  return { dir, log, tools };
}

function kindling(sb: { dir: string; tools: string }): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(bin, ['-platform', 'zvm', '-stage', 'fetch-offline', '-config-cache', join(sb.dir, 'cache'), '-state-file', join(sb.dir, 'state'), '-neednet', join(sb.dir, 'neednet'), '-log-to-stdout'], {
      env: sandboxEnv(sb.dir, { PATH: `${sb.tools}:${process.env.PATH}` }),
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (status) => resolve({ status, out }));
  });
}

describe('zvm: the z/VM reader queue', () => {
  it('parses vmur li as Ignition does (fields 1, 9, 10; the header is no ign file)', () => {
    const l = parseReaderList(`${HEADER}\nLINUX01  0014 A PUN 00000014 001 NONE 05/22 14:45:06 CONFIG    ign       LINUX01\nshort line\n\nLINUX01  0015 A PUN 00000014 001 NONE 05/22 14:45:06 X    ign       LINUX01`);
    expect(l).toEqual([
      { spoolId: 'FILE', file: 'TYPE.DIST', type: 'DIST' }, // the header: 11 fields, shifted by the one-word CLASS column
      { spoolId: '0014', file: 'CONFIG.ign', type: 'ign' },
    ]); // "short line" is skipped, the empty line ends the listing as in Ignition
  });

  it('receives the first "ign" spool file, trims NULs, in Ignition\'s tool order', async () => {
    const sb = sandbox([
      { id: '0010', name: 'README', type: 'txt', body: 'not this' },
      { id: '0011', name: 'config', type: 'ign', body: Buffer.concat([Buffer.from(CFG), Buffer.alloc(80 - (CFG.length % 80))]) },
      { id: '0012', name: 'other', type: 'ign', body: '{"ignition":{"version":"3.4.0"}}' },
    ]);
    const r = await kindling(sb);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(readFileSync(join(sb.dir, 'cache'), 'utf8')).storage.files[0].path).toBe('/etc/from-zvm');
    expect(readFileSync(sb.log, 'utf8').trim().split('\n')).toEqual(['modprobe vmur', 'chccwdev -e 000c', 'udevadm settle', 'vmur li', 'vmur re -f 0011 config.ign']);
    // Received in a private directory that is gone afterwards.
    const where = readFileSync(join(sb.dir, 'received-in'), 'utf8').trim();
    expect(where).toMatch(/kindling-zvm-/);
    expect(existsSync(where)).toBe(false);
  }, 60_000);

  it('exposes the reader with cio_ignore when it cannot be brought online at once', async () => {
    const sb = sandbox([{ id: '0011', name: 'config', type: 'ign', body: CFG }], { chccwdevFailsOnce: true });
    const r = await kindling(sb);
    expect(r.status, r.out).toBe(0);
    expect(readFileSync(sb.log, 'utf8').trim().split('\n').slice(1, 4)).toEqual(['chccwdev -e 000c', 'cio_ignore -r 000c', 'chccwdev -e 000c']);
  }, 60_000);

  it('no "ign" spool file: no config', async () => {
    const sb = sandbox([{ id: '0010', name: 'README', type: 'txt', body: 'x' }]);
    const r = await kindling(sb);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/no spool file of type "ign"/);
    expect(JSON.parse(readFileSync(join(sb.dir, 'cache'), 'utf8')).storage ?? {}).toEqual({});
  }, 60_000);
});
