// virtualbox: the guest property /Ignition/Config, read by the native helper (native/kindling-vbox.c)
// through the vboxguest driver's ioctls. This machine is no VirtualBox guest, so the driver and the
// host's guest property service are played by vbox-host-shim.c, loaded into the helper with
// LD_PRELOAD: it answers open/ioctl/close on the device path as the Linux driver and
// VBoxGuestPropSvc would, checks every request byte by byte (sizes, header version and type, ioctl
// numbers, client ids, function numbers, parameter count and types, NUL-terminated names) and logs
// each operation. Real Ignition 2.14 (Debian's, whose virtualbox provider is cgo calling libc's
// open/ioctl) loads the same shim, which both checks the shim against a real client and gives the
// reference outcome of each case.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sandboxEnv, scratch, vboxHost, type VboxHost } from './helpers.js';

const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';
const hasCc = spawnSync('cc', ['--version']).status === 0;
// The oracle opens the real /dev/vboxguest path; never run it where such a device exists.
const canOracle = existsSync(IGNITION) && !existsSync('/dev/vboxguest');

const work = scratch('kindling-vbox-');
let bin = process.env.KINDLING_BIN ?? '';
const helper = join(work, 'kindling-vbox');
const shim = join(work, 'vbox-host-shim.so');
const wrapper = join(work, 'kindling-vbox-shimmed');

beforeAll(() => {
  if (!hasCc) return;
  if (!bin) {
    bin = join(work, 'kindling');
    execFileSync(process.execPath, ['scripts/build.mjs', '--out', bin], { stdio: 'pipe' });
  }
  execFileSync('scripts/build-native.sh', ['--out', work], { stdio: 'pipe' });
  execFileSync('cc', ['-O2', '-Wall', '-Werror', '-shared', '-fPIC', '-o', shim, 'test/providers/vbox-host-shim.c', '-ldl'], { stdio: 'pipe' });
  // The binary runs the helper through this wrapper, so only the helper (not node) loads the shim.
  writeFileSync(wrapper, `#!/bin/sh\nLD_PRELOAD=${shim} exec ${helper} "$@"\n`);
  chmodSync(wrapper, 0o755);
}, 180_000);

const CFG = JSON.stringify({
  ignition: { version: '3.3.0' },
  passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVBOX core'] }] },
  storage: { files: [{ path: '/etc/from-virtualbox', contents: { source: 'data:,SECRET-MARKER-7f3a' }, mode: 420 }] },
});

/** A config of about `kib` KiB (many files), bigger than the helper's first 4 KiB buffer. */
function bigConfig(kib: number): string {
  const files = [];
  for (let i = 0; files.length * 100 < kib * 1024; i++) files.push({ path: `/etc/vbox/f${i}`, contents: { source: `data:,${'x'.repeat(60)}` } });
  return JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files } });
}

type Host = VboxHost;

/** A sandbox with the host's properties (name -> value, or [value, flags]) and a command line. */
function host(props: Record<string, string | [string, string]>): Host {
  const h = vboxHost('kindling-vbox-host-', props);
  writeFileSync(join(h.dir, 'cmdline'), 'console=ttyS0\n');
  return h;
}

function shimEnv(h: Host, fault?: string, device = h.device): NodeJS.ProcessEnv {
  return { VBOXSHIM_DEVICE: device, VBOXSHIM_PROPS: h.props, VBOXSHIM_LOG: h.log, ...(fault ? { VBOXSHIM_FAULT: fault } : {}) };
}

function logOf(h: Host): string[] {
  return existsSync(h.log) ? readFileSync(h.log, 'utf8').trim().split('\n') : [];
}

function runHelper(h: Host, args: string[], fault?: string) {
  const r = spawnSync(helper, ['-d', h.device, ...args], { env: { PATH: process.env.PATH, LD_PRELOAD: shim, ...shimEnv(h, fault) } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

interface StageRun {
  status: number | null;
  out: string;
  cache: unknown;
  state: string | null;
}

function stageFiles(dir: string, r: { status: number | null; stdout: string; stderr: string }): StageRun {
  const cache = join(dir, 'cache');
  return {
    status: r.status,
    out: r.stdout + r.stderr,
    cache: existsSync(cache) ? JSON.parse(readFileSync(cache, 'utf8')) : undefined,
    state: existsSync(join(dir, 'state')) ? readFileSync(join(dir, 'state'), 'utf8') : null,
  };
}

const stageArgs = (dir: string, stage: string) => ['-platform', 'virtualbox', '-stage', stage, '-config-cache', join(dir, 'cache'), '-state-file', join(dir, 'state'), '-neednet', join(dir, 'neednet'), '-log-to-stdout'];

function kindling(h: Host, o: { fault?: string; stage?: string; device?: string; helper?: string } = {}): StageRun {
  const r = spawnSync(bin, stageArgs(h.dir, o.stage ?? 'fetch-offline'), {
    encoding: 'utf8',
    env: sandboxEnv(h.dir, {
      KINDLING_VBOX_HELPER: o.helper ?? wrapper,
      KINDLING_VBOXGUEST_DEVICE: o.device ?? h.device,
      ...shimEnv(h, o.fault),
    }),
  });
  return stageFiles(h.dir, r);
}

/** Debian's Ignition 2.14 on the same host, its /dev/vboxguest played by the shim (unless absent). */
function ignition(h: Host, o: { fault?: string; absent?: boolean } = {}): StageRun {
  const dir = scratch('kindling-vbox-oracle-');
  writeFileSync(join(dir, 'cmdline'), 'console=ttyS0\n');
  const r = spawnSync(IGNITION, stageArgs(dir, 'fetch-offline'), {
    encoding: 'utf8',
    env: { ...sandboxEnv(dir), LD_PRELOAD: shim, ...shimEnv(h, o.fault, o.absent ? join(dir, 'elsewhere') : '/dev/vboxguest') },
  });
  return stageFiles(dir, r);
}

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map(normalize) : undefined;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalize(x);
      if (n === null || n === undefined || (typeof n === 'object' && Object.keys(n as object).length === 0)) continue;
      out[k] = n;
    }
    return out;
  }
  return v;
}
/** A cache without its version and empty members: Ignition writes 3.4.0-experimental with every default. */
const comparable = (cache: unknown) => {
  const c = structuredClone(cache) as { ignition?: Record<string, unknown> } | undefined;
  if (c?.ignition) delete c.ignition.version;
  return normalize(c);
};

// One read as the helper does it: a session per property, closed with no client left connected.
const session = (name: string, ...calls: string[]) => [
  expect.stringMatching(/^open .* cloexec=1$/),
  'version req=0x10000 min=0x10000 -> rc=0',
  'connect type=2 VBoxGuestPropSvc -> client=42 rc=0',
  ...calls.map((c) => `call ${c.replace('NAME', name)}`),
  'disconnect client=42 -> rc=0',
  'close connected=0',
];

describe.skipIf(!hasCc)('virtualbox: the kindling-vbox helper against the stand-in driver and host', () => {
  it('reads a property: the value up to its NUL (not the flags), in one session', () => {
    const h = host({ '/Ignition/Config': [CFG, 'RDONLYGUEST'] });
    const r = runHelper(h, ['get', '/Ignition/Config']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe(CFG);
    const needed = CFG.length + 1 + 'RDONLYGUEST'.length + 1;
    expect(logOf(h)).toEqual(session('/Ignition/Config', `GET_PROP name=NAME buf=4096 -> rc=0 needed=${needed}`));
  });

  it('a value larger than the first buffer: VERR_BUFFER_OVERFLOW, then again with the size the host asked for', () => {
    const big = bigConfig(256);
    const h = host({ '/Ignition/Config': big });
    const r = runHelper(h, ['get', '/Ignition/Config']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.equals(Buffer.from(big))).toBe(true);
    const needed = big.length + 2;
    expect(logOf(h)).toEqual(session('/Ignition/Config', `GET_PROP name=NAME buf=4096 -> rc=-41 needed=${needed}`, `GET_PROP name=NAME buf=${needed} -> rc=0 needed=${needed}`));
  });

  it('a property that grows between the two calls is asked for again (Ignition would fail there)', () => {
    const big = bigConfig(16);
    const h = host({ '/Ignition/Config': big });
    const r = runHelper(h, ['get', '/Ignition/Config'], 'grow=5000');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe(big + ' '.repeat(5000));
    expect(logOf(h).filter((l) => l.startsWith('call')).map((l) => l.replace(/needed=\d+/, ''))).toEqual([
      'call GET_PROP name=/Ignition/Config buf=4096 -> rc=-41 ',
      `call GET_PROP name=/Ignition/Config buf=${big.length + 2} -> rc=-41 `,
      `call GET_PROP name=/Ignition/Config buf=${big.length + 5002} -> rc=0 `,
    ]);
  });

  it('exit statuses: 1 not set, 2 no device, 3 host error / driver errno / unknown service', () => {
    const h = host({ '/Other': 'x' });
    const notSet = runHelper(h, ['get', '/Ignition/Config']);
    expect([notSet.status, notSet.stdout.length]).toEqual([1, 0]);
    expect(logOf(h)).toEqual(session('/Ignition/Config', 'GET_PROP name=NAME buf=4096 -> rc=-78 needed=0'));

    const absent = spawnSync(helper, ['-d', join(h.dir, 'no-such-device'), 'get', '/Ignition/Config']);
    expect(absent.status).toBe(2);
    expect(absent.stderr.toString()).toMatch(/open .*no-such-device: No such file or directory/);

    const hostErr = runHelper(h, ['get', '/Ignition/Config'], 'get=-1');
    expect(hostErr.status).toBe(3);
    expect(hostErr.stderr).toMatch(/GET_PROP call: VirtualBox status -1/);
    const eio = runHelper(h, ['get', '/Ignition/Config'], 'get-errno=5');
    expect(eio.status).toBe(3);
    expect(eio.stderr).toMatch(/GET_PROP call: Input\/output error/);
    const noSvc = runHelper(h, ['get', '/Ignition/Config'], 'connect=-2900');
    expect(noSvc.status).toBe(3);
    expect(noSvc.stderr).toMatch(/connecting to VBoxGuestPropSvc: VirtualBox status -2900/);
    // A failed disconnect fails the read too (Ignition's choice: better noticed).
    const dis = runHelper(h, ['get', '/Other'], 'disconnect=-1');
    expect(dis.status).toBe(3);
    expect(logOf(h).some((l) => l.startsWith('VIOLATION'))).toBe(false);
  });

  it('delete: DEL_PROP removes the property; a read-only one is refused', () => {
    const h = host({ '/Ignition/Config': [CFG, 'RDONLYGUEST'], '/Ignition/Config/Encoding': '' });
    const del = runHelper(h, ['delete', '/Ignition/Config/Encoding']);
    expect(del.status, del.stderr).toBe(0);
    expect(readFileSync(h.props, 'utf8')).toBe(`/Ignition/Config\0${CFG}\0RDONLYGUEST\0`);
    const ro = runHelper(h, ['delete', '/Ignition/Config']);
    expect(ro.status).toBe(3);
    expect(ro.stderr).toMatch(/permission denied; is the property read-only\?/);
    expect(logOf(h).filter((l) => l.startsWith('call'))).toEqual(['call DEL_PROP name=/Ignition/Config/Encoding -> rc=0', 'call DEL_PROP name=/Ignition/Config -> rc=-10']);
  });

  it('the stand-in refuses what the driver refuses (so the checks above can fail)', () => {
    // A client with the usual mistakes: a wrong header version, a wrong input size, a 3-parameter
    // GET_PROP, an ioctl size that does not match the header, a call on a client id it never got.
    const src = join(work, 'bad-client.c');
    writeFileSync(
      src,
      `#include <fcntl.h>
#include <linux/vboxguest.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
int main(int c, char **v) {
  int fd = open(v[1], O_RDWR);
  struct vbg_ioctl_driver_version_info ver; memset(&ver, 0, sizeof ver);
  ver.hdr.size_in = 24 + 16; ver.hdr.size_out = 24 + 20; ver.hdr.version = 0x10000;
  ver.u.in.req_version = ver.u.in.min_version = 0x10000;
  printf("%d ", ioctl(fd, VBG_IOCTL_DRIVER_VERSION_INFO, &ver));
  ver.hdr.version = 0x10001; ver.hdr.size_in = 24 + 20;
  printf("%d ", ioctl(fd, VBG_IOCTL_DRIVER_VERSION_INFO, &ver));
  struct vbg_ioctl_hgcm_connect con; memset(&con, 0, sizeof con);
  con.hdr.size_in = 24 + 132; con.hdr.size_out = 24 + 4; con.hdr.version = 0x10001;
  con.u.in.loc.type = 2; strcpy(con.u.in.loc.u.localhost.service_name, "VBoxGuestPropSvc");
  printf("%d ", ioctl(fd, VBG_IOCTL_HGCM_CONNECT, &con));
  struct { struct vbg_ioctl_hgcm_call call; struct vmmdev_hgcm_function_parameter64 p[3]; } m; memset(&m, 0, sizeof m);
  m.call.hdr.size_in = m.call.hdr.size_out = sizeof m; m.call.hdr.version = 0x10001;
  m.call.client_id = con.u.out.client_id; m.call.function = 1; m.call.parm_count = 3;
  m.p[0].type = 5; m.p[1].type = 4; m.p[2].type = 2;
  printf("%d ", ioctl(fd, VBG_IOCTL_HGCM_CALL_64(sizeof m), &m));
  printf("%d ", ioctl(fd, VBG_IOCTL_HGCM_CALL_64(sizeof m + 16), &m));
  m.call.client_id = 7;
  printf("%d\\n", ioctl(fd, VBG_IOCTL_HGCM_CALL_64(sizeof m), &m));
  return 0;
}
`,
    );
    const exe = join(work, 'bad-client');
    execFileSync('cc', ['-o', exe, src]);
    const h = host({ '/Ignition/Config': CFG });
    const r = spawnSync(exe, [h.device], { env: { LD_PRELOAD: shim, ...shimEnv(h) } });
    expect(r.stdout.toString().trim()).toBe('-1 -1 0 0 -1 -1');
    expect(logOf(h).filter((l) => l.startsWith('VIOLATION'))).toEqual([
      'VIOLATION: header version is not 0x10001',
      'VIOLATION: sizes in/out 44/44, expected 40/44',
      'VIOLATION: GET_PROP needs 4 parameters',
      "VIOLATION: the ioctl number's size is not max(size_in, size_out)",
      'VIOLATION: call on a client id this session does not hold',
    ]);
  });
});

describe.skipIf(!hasCc)('virtualbox: the built binary, -platform virtualbox', () => {
  it('property set: the config is fetched (fetch-offline and fetch), the state says virtualbox, no secret in the log', () => {
    for (const stage of ['fetch-offline', 'fetch']) {
      const h = host({ '/Ignition/Config': [CFG, 'RDONLYGUEST'] });
      const r = kindling(h, { stage });
      expect(r.status, r.out).toBe(0);
      expect(comparable(r.cache)).toEqual(comparable(JSON.parse(CFG)));
      expect(JSON.parse(r.state ?? 'null').fetchedConfigs).toEqual([
        { kind: 'base', source: 'system', referenced: false },
        { kind: 'user', source: 'virtualbox', referenced: false },
      ]);
      expect(existsSync(join(h.dir, 'neednet'))).toBe(false);
      expect(r.out).not.toContain('SECRET-MARKER');
      expect(r.out).not.toContain('AAAAIVBOX');
      // Encoding first, then the config, each in its own session, as Ignition reads them.
      expect(logOf(h).filter((l) => l.startsWith('call'))).toEqual([
        'call GET_PROP name=/Ignition/Config/Encoding buf=4096 -> rc=-78 needed=0',
        `call GET_PROP name=/Ignition/Config buf=4096 -> rc=0 needed=${CFG.length + 13}`,
      ]);
      expect(logOf(h).filter((l) => l.startsWith('close'))).toEqual(['close connected=0', 'close connected=0']);
    }
  });

  it('a 512 KiB config comes through the overflow retry', () => {
    const big = bigConfig(512);
    const h = host({ '/Ignition/Config': big });
    const r = kindling(h);
    expect(r.status, r.out).toBe(0);
    expect(comparable(r.cache)).toEqual(comparable(JSON.parse(big)));
    expect(logOf(h).filter((l) => l.includes('rc=-41'))).toHaveLength(1);
  });

  it('not set: no config, with Ignition\'s message', () => {
    const h = host({});
    const r = kindling(h);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('VirtualBox guest property "/Ignition/Config" does not exist; assuming no config');
    expect(comparable(r.cache)).toEqual({});
  });

  it('failures are one readable sentence: no device, host error, an encoding, no helper', () => {
    const h = host({ '/Ignition/Config': CFG });
    const absent = kindling(h, { device: join(h.dir, 'missing') });
    expect(absent.status).toBe(1);
    expect(absent.out).toMatch(/fetching VirtualBox guest property "\/Ignition\/Config\/Encoding": open .*missing: No such file or directory \(not a VirtualBox guest, or the vboxguest driver is not loaded\)/);
    expect(absent.cache).toBeUndefined();

    const err = kindling(h, { fault: 'get=-1' });
    expect(err.status).toBe(1);
    expect(err.out).toMatch(/fetching VirtualBox guest property "\/Ignition\/Config\/Encoding": GET_PROP call: VirtualBox status -1/);

    const enc = kindling(host({ '/Ignition/Config': CFG, '/Ignition/Config/Encoding': 'gzip' }));
    expect(enc.status).toBe(1);
    expect(enc.out).toContain('unsupported "/Ignition/Config/Encoding" value "gzip"');

    const noHelper = kindling(h, { helper: join(h.dir, 'not-installed') });
    expect(noHelper.status).toBe(1);
    expect(noHelper.out).toMatch(/the helper .*not-installed is not installed/);
  });
});

describe.skipIf(!hasCc || !canOracle)('virtualbox: Kindling and Ignition 2.14 on the same stand-in host', () => {
  const cases: Array<{ name: string; props: Record<string, string | [string, string]>; fault?: string; absent?: boolean }> = [
    { name: 'property set (with flags)', props: { '/Ignition/Config': [CFG, 'RDONLYGUEST'] } },
    { name: 'a 300 KiB property', props: { '/Ignition/Config': bigConfig(300) } },
    { name: 'not set', props: { '/Other': 'x' } },
    { name: 'set but empty', props: { '/Ignition/Config': '' } },
    { name: 'empty encoding', props: { '/Ignition/Config': CFG, '/Ignition/Config/Encoding': '' } },
    { name: 'an encoding', props: { '/Ignition/Config': CFG, '/Ignition/Config/Encoding': 'base64' } },
    { name: 'not JSON', props: { '/Ignition/Config': '{"ignition": ' } },
    { name: 'host error on GET_PROP', props: { '/Ignition/Config': CFG }, fault: 'get=-1' },
    { name: 'the service refuses the connection', props: { '/Ignition/Config': CFG }, fault: 'connect=-2900' },
    { name: 'no device', props: { '/Ignition/Config': CFG }, absent: true },
  ];
  for (const c of cases) {
    it(`${c.name}: same exit status, cache and state file`, () => {
      const ih = host(c.props);
      const ig = ignition(ih, { fault: c.fault, absent: c.absent });
      const kh = host(c.props);
      const kd = kindling(kh, { fault: c.fault, device: c.absent ? join(kh.dir, 'missing') : undefined });
      expect(logOf(ih).filter((l) => l.startsWith('VIOLATION')), 'Ignition itself broke the stand-in protocol').toEqual([]);
      expect(logOf(kh).filter((l) => l.startsWith('VIOLATION'))).toEqual([]);
      expect(kd.status, `kindling: ${kd.out}\nignition: ${ig.out}`).toBe(ig.status);
      expect(comparable(kd.cache)).toEqual(comparable(ig.cache));
      expect(kd.state).toBe(ig.state);
      // The same properties are read, in the same order.
      const names = (h: Host) => [...new Set(logOf(h).flatMap((l) => /GET_PROP name=(\S+)/.exec(l)?.[1] ?? []))];
      expect(names(kh)).toEqual(names(ih));
    });
  }
});
