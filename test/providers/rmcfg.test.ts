// rmcfg: deleting the config from the platform after provisioning (Ignition's ignition-rmcfg, run by
// ignition-delete-config.service on the first boot of the real root), through the built binary:
//   - virtualbox: the native helper's DEL_PROP against the LD_PRELOAD stand-in for the vboxguest
//     driver and the host's property service (vbox-host-shim.c, which checks every request byte by
//     byte), and Debian's Ignition 2.14 (which has ignition-rmcfg: argv[0] dispatch) on the same
//     stand-in as the reference;
//   - vmware: vmware-rpctool-standin.sh first on PATH, playing rpctool and the host's guestinfo
//     store; each request it gets is kept byte for byte. Ignition 2.14 speaks the backdoor port
//     itself (it dies with SIGSEGV outside VMware), so here the reference is its source
//     (internal/providers/vmware delConfig), not a run;
//   - the command line, against Ignition 2.14's.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { deleteOvfProperties, ovfProperties } from '../../src/acquire/providers/vmware.js';
import { scratch, vboxHost, type VboxHost } from './helpers.js';

const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';
const hasCc = spawnSync('cc', ['--version']).status === 0;
const canOracle = existsSync(IGNITION) && !existsSync('/dev/vboxguest');

const work = scratch('kindling-rmcfg-');
let bin = process.env.KINDLING_BIN ?? '';
const helper = join(work, 'kindling-vbox');
const shim = join(work, 'vbox-host-shim.so');
const wrapper = join(work, 'kindling-vbox-shimmed');
const rmcfgLink = join(work, 'ignition-rmcfg');
const oracleLink = join(work, 'oracle', 'ignition-rmcfg');
const standinDir = join(work, 'rpctool-bin');
/** A PATH with node (the binary's #! needs it) and no vmware-rpctool. */
const nodeOnly = join(work, 'node-only');

beforeAll(() => {
  if (!bin) {
    bin = join(work, 'kindling');
    execFileSync(process.execPath, ['scripts/build.mjs', '--out', bin], { stdio: 'pipe' });
  }
  symlinkSync(resolve(bin), rmcfgLink);
  mkdirSync(join(work, 'oracle'));
  if (existsSync(IGNITION)) symlinkSync(IGNITION, oracleLink);
  mkdirSync(standinDir);
  mkdirSync(nodeOnly);
  symlinkSync(process.execPath, join(nodeOnly, 'node'));
  symlinkSync(resolve('test/providers/vmware-rpctool-standin.sh'), join(standinDir, 'vmware-rpctool'));
  if (!hasCc) return;
  execFileSync('scripts/build-native.sh', ['--out', work], { stdio: 'pipe' });
  execFileSync('cc', ['-O2', '-Wall', '-Werror', '-shared', '-fPIC', '-o', shim, 'test/providers/vbox-host-shim.c', '-ldl'], { stdio: 'pipe' });
  writeFileSync(wrapper, `#!/bin/sh\nLD_PRELOAD=${shim} exec ${helper} "$@"\n`);
  chmodSync(wrapper, 0o755);
}, 180_000);

const SECRET = 'SECRET-MARKER-rmcfg-41c2';
const CFG = JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files: [{ path: '/etc/x', contents: { source: `data:,${SECRET}` } }] } });

interface Run {
  status: number | null;
  out: string;
}

// ---------------------------------------------------------------------------------------------
// virtualbox

type VHost = VboxHost;
const vhost = (props: Record<string, string | [string, string]>): VHost => vboxHost('kindling-rmcfg-vbox-', props);

const vlog = (h: VHost) => (existsSync(h.log) ? readFileSync(h.log, 'utf8').trim().split('\n') : []);
/** The host's properties after the run, as name -> value. */
function propsOf(h: VHost): Record<string, string> {
  const f = readFileSync(h.props, 'utf8').split('\0');
  const out: Record<string, string> = {};
  for (let i = 0; i + 2 < f.length; i += 3) out[f[i]!] = f[i + 1]!;
  return out;
}

function kindlingVbox(h: VHost, o: { fault?: string; device?: string; argv0?: boolean } = {}): Run {
  const argv = ['--platform=virtualbox', '--log-to-stdout'];
  const r = spawnSync(o.argv0 ? rmcfgLink : bin, o.argv0 ? argv : ['rmcfg', ...argv], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      KINDLING_VBOX_HELPER: wrapper,
      KINDLING_VBOXGUEST_DEVICE: o.device ?? h.device,
      VBOXSHIM_DEVICE: h.device,
      VBOXSHIM_PROPS: h.props,
      VBOXSHIM_LOG: h.log,
      ...(o.fault ? { VBOXSHIM_FAULT: o.fault } : {}),
    },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** Debian's Ignition 2.14 as ignition-rmcfg, its /dev/vboxguest played by the shim (or absent). */
function ignitionVbox(h: VHost, o: { fault?: string; absent?: boolean } = {}): Run {
  const r = spawnSync(oracleLink, ['--platform=virtualbox', '--log-to-stdout'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      LD_PRELOAD: shim,
      VBOXSHIM_DEVICE: o.absent ? join(h.dir, 'elsewhere') : '/dev/vboxguest',
      VBOXSHIM_PROPS: h.props,
      VBOXSHIM_LOG: h.log,
      ...(o.fault ? { VBOXSHIM_FAULT: o.fault } : {}),
    },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

const session = (call: string) => [
  expect.stringMatching(/^open .* cloexec=1$/),
  'version req=0x10000 min=0x10000 -> rc=0',
  'connect type=2 VBoxGuestPropSvc -> client=42 rc=0',
  `call ${call}`,
  'disconnect client=42 -> rc=0',
  'close connected=0',
];

describe.skipIf(!hasCc)('rmcfg --platform virtualbox (kindling-vbox delete, stand-in driver and host)', () => {
  it('both properties set: encoding then config deleted, one checked session each, other properties kept', () => {
    const h = vhost({ '/Ignition/Config': CFG, '/Ignition/Config/Encoding': '', '/VirtualBox/GuestInfo/OS/Product': 'Linux' });
    const r = kindlingVbox(h);
    expect(r.status, r.out).toBe(0);
    expect(propsOf(h)).toEqual({ '/VirtualBox/GuestInfo/OS/Product': 'Linux' });
    expect(vlog(h)).toEqual([...session('DEL_PROP name=/Ignition/Config/Encoding -> rc=0'), ...session('DEL_PROP name=/Ignition/Config -> rc=0')]);
    expect(r.out).toContain('deleting Ignition config from VirtualBox guest property');
    expect(r.out).toContain('Successfully deleted config');
    expect(r.out).not.toContain(SECRET);
  });

  it('under the name ignition-rmcfg (a link to the binary) with Ignition\'s flags', () => {
    const h = vhost({ '/Ignition/Config': CFG });
    const r = kindlingVbox(h, { argv0: true });
    expect(r.status, r.out).toBe(0);
    expect(propsOf(h)).toEqual({});
  });

  it('not set: the host answers DEL_PROP with success, so it is done (exit 0)', () => {
    const h = vhost({ '/Other': 'x' });
    const r = kindlingVbox(h);
    expect(r.status, r.out).toBe(0);
    expect(propsOf(h)).toEqual({ '/Other': 'x' });
    expect(vlog(h).filter((l) => l.startsWith('call'))).toEqual(['call DEL_PROP name=/Ignition/Config/Encoding -> rc=0', 'call DEL_PROP name=/Ignition/Config -> rc=0']);
  });

  it('failures: one readable line, exit 1 (read-only property, no device, service refused)', () => {
    const ro = vhost({ '/Ignition/Config': [CFG, 'RDONLYGUEST'] });
    const a = kindlingVbox(ro);
    expect(a.status).toBe(1);
    expect(a.out).toContain('couldn\'t delete config: deleting VirtualBox guest property "/Ignition/Config": permission denied; is the property read-only?');
    expect(propsOf(ro)).toEqual({ '/Ignition/Config': CFG });

    const h = vhost({ '/Ignition/Config': CFG });
    const b = kindlingVbox(h, { device: join(h.dir, 'missing') });
    expect(b.status).toBe(1);
    expect(b.out).toMatch(/couldn't delete config: deleting VirtualBox guest property "\/Ignition\/Config\/Encoding": open .*missing: No such file or directory \(not a VirtualBox guest/);

    const c = kindlingVbox(h, { fault: 'connect=-2900' });
    expect(c.status).toBe(1);
    expect(c.out).toContain('deleting VirtualBox guest property "/Ignition/Config/Encoding": connecting to VBoxGuestPropSvc: VirtualBox status -2900');
    expect(propsOf(h)).toEqual({ '/Ignition/Config': CFG });
    for (const x of [a, b, c]) expect(x.out.match(/couldn't delete config/g)).toHaveLength(1);
    expect([...vlog(ro), ...vlog(h)].filter((l) => l.startsWith('VIOLATION'))).toEqual([]);
  });
});

describe.skipIf(!hasCc || !canOracle)('rmcfg --platform virtualbox: Kindling and Ignition 2.14 on the same stand-in host', () => {
  const cases: Array<{ name: string; props: Record<string, string | [string, string]>; fault?: string; absent?: boolean }> = [
    { name: 'config and encoding set', props: { '/Ignition/Config': CFG, '/Ignition/Config/Encoding': 'x', '/Keep': 'k' } },
    { name: 'config only', props: { '/Ignition/Config': CFG } },
    { name: 'nothing set', props: { '/Keep': 'k' } },
    { name: 'config read-only for the guest', props: { '/Ignition/Config': [CFG, 'RDONLYGUEST'] } },
    { name: 'encoding read-only for the guest', props: { '/Ignition/Config': CFG, '/Ignition/Config/Encoding': ['', 'READONLY'] } },
    { name: 'service refuses the connection', props: { '/Ignition/Config': CFG }, fault: 'connect=-2900' },
    { name: 'driver version refused', props: { '/Ignition/Config': CFG }, fault: 'version=-11' },
    { name: 'no device', props: { '/Ignition/Config': CFG }, absent: true },
  ];
  for (const c of cases) {
    it(`${c.name}: same exit status, same calls, same properties left`, () => {
      const ih = vhost(c.props);
      const ig = ignitionVbox(ih, { fault: c.fault, absent: c.absent });
      const kh = vhost(c.props);
      const kd = kindlingVbox(kh, { fault: c.fault, device: c.absent ? join(kh.dir, 'missing') : undefined });
      expect(vlog(ih).filter((l) => l.startsWith('VIOLATION')), 'Ignition itself broke the stand-in protocol').toEqual([]);
      expect(vlog(kh).filter((l) => l.startsWith('VIOLATION'))).toEqual([]);
      expect(kd.status, `kindling: ${kd.out}\nignition: ${ig.out}`).toBe(ig.status);
      expect(propsOf(kh)).toEqual(propsOf(ih));
      // Client ids aside: Ignition opens both sessions in one process, kindling-vbox one per run.
      const calls = (h: VHost) => vlog(h).filter((l) => /^(call|connect|version|disconnect)/.test(l)).map((l) => l.replace(/client=\d+/, 'client=N'));
      expect(calls(kh)).toEqual(calls(ih));
      // The property Ignition names in its error is the one Kindling names.
      const named = (s: string) => /deleting VirtualBox guest property "([^"]+)"/.exec(s)?.[1];
      expect(named(kd.out)).toBe(named(ig.out));
    });
  }
});

// ---------------------------------------------------------------------------------------------
// vmware

interface WHost {
  dir: string;
  store: string;
  log: string;
}

function whost(guestinfo: Record<string, string>): WHost {
  const dir = scratch('kindling-rmcfg-vmw-');
  const store = join(dir, 'guestinfo');
  mkdirSync(store);
  for (const [k, v] of Object.entries(guestinfo)) writeFileSync(join(store, k.toLowerCase()), v);
  return { dir, store, log: join(dir, 'req') };
}

/** Every request rpctool got, in order, byte for byte. */
function requests(h: WHost): string[] {
  const n = readdirSync(h.dir).filter((f) => f.startsWith('req.')).length;
  return Array.from({ length: n }, (_, i) => readFileSync(`${h.log}.${i + 1}`, 'latin1'));
}

function guestinfoOf(h: WHost): Record<string, string> {
  return Object.fromEntries(readdirSync(h.store).map((k) => [k, readFileSync(join(h.store, k), 'latin1')]));
}

function kindlingVmware(h: WHost, o: { fault?: string; args?: string[]; path?: string; debug?: boolean } = {}): Run {
  const r = spawnSync(rmcfgLink, o.args ?? ['--platform', 'vmware', '--log-to-stdout'], {
    encoding: 'utf8',
    env: {
      PATH: o.path ?? `${standinDir}:${process.env.PATH}`,
      RPCSTANDIN_DIR: h.store,
      RPCSTANDIN_LOG: h.log,
      ...(o.fault ? { RPCSTANDIN_FAULT: o.fault } : {}),
      ...(o.debug ? { KINDLING_LOG_LEVEL: 'debug' } : {}),
    },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const OTHER = 'vApp-password-OTHER-SECRET-9d1';
const ovfEnv = (props: Array<[string, string]>) =>
  `<?xml version="1.0" encoding="UTF-8"?>
<Environment
     xmlns="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:ve="http://www.vmware.com/schema/ovfenv"
     oe:id=""
     ve:vCenterId="vm-42">
   <PlatformSection>
      <Kind>VMware ESXi</Kind>
      <Version>8.0.2</Version>
   </PlatformSection>
   <PropertySection>
${props.map(([k, v]) => `         <Property oe:key="${k}" oe:value="${v}"/>`).join('\n')}
   </PropertySection>
</Environment>
`;

describe('rmcfg --platform vmware (vmware-rpctool stand-in)', () => {
  it('data and encoding set: data becomes e30K, encoding base64; reads first, then the writes', () => {
    const h = whost({ 'ignition.config.data': b64(CFG), 'ignition.config.data.encoding': 'gzip+base64', 'other.key': 'kept' });
    const r = kindlingVmware(h);
    expect(r.status, r.out).toBe(0);
    expect(guestinfoOf(h)).toEqual({ 'ignition.config.data': 'e30K', 'ignition.config.data.encoding': 'base64', 'other.key': 'kept' });
    // Ignition's order is get data, set data, get encoding, set encoding, get ovfenv; Kindling
    // makes the same reads and the same writes, all reads first (plan, then apply).
    expect(requests(h)).toEqual([
      'info-get guestinfo.ignition.config.data',
      'info-get guestinfo.ignition.config.data.encoding',
      'info-get guestinfo.ovfenv',
      'info-set guestinfo.ignition.config.data e30K',
      'info-set guestinfo.ignition.config.data.encoding base64',
    ]);
    expect(Buffer.from('e30K', 'base64').toString()).toBe('{}\n');
    expect(r.out).toContain('deleting config from guestinfo properties');
    expect(r.out).toContain('Successfully deleted config');
    expect(r.out).not.toContain(SECRET);
    expect(r.out).not.toContain(b64(CFG).slice(0, 40));
  });

  it('a fetch after it reads "{}" and fails as Ignition 2.14 does on "{}" (invalid config version): no re-provisioning from an old config', () => {
    const h = whost({ 'ignition.config.data': CFG });
    expect(kindlingVmware(h).status).toBe(0);
    writeFileSync(join(h.dir, 'cmdline'), '');
    const r = spawnSync(bin, ['-platform', 'vmware', '-stage', 'fetch-offline', '-config-cache', join(h.dir, 'cache'), '-state-file', join(h.dir, 'state'), '-neednet', join(h.dir, 'neednet'), '-log-to-stdout'], {
      encoding: 'utf8',
      env: { PATH: `${standinDir}:${process.env.PATH}`, RPCSTANDIN_DIR: h.store, RPCSTANDIN_LOG: join(h.dir, 'fetch-req'), IGNITION_KERNEL_CMDLINE_PATH: join(h.dir, 'cmdline'), IGNITION_SYSTEM_CONFIG_DIR: join(h.dir, 'usr'), IGNITION_SYSTEM_RUNTIME_CONFIG_DIR: join(h.dir, 'run'), IGNITION_SYSTEM_LOCAL_CONFIG_DIR: join(h.dir, 'etc'), KINDLING_OEM_DIRS: join(h.dir, 'oem') },
    });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain("invalid config version (couldn't parse)");
    expect(existsSync(join(h.dir, 'cache'))).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('encoding already base64: only the data is replaced', () => {
    const h = whost({ 'ignition.config.data': b64(CFG), 'ignition.config.data.encoding': 'base64' });
    expect(kindlingVmware(h).status).toBe(0);
    expect(requests(h).filter((q) => q.startsWith('info-set'))).toEqual(['info-set guestinfo.ignition.config.data e30K']);
  });

  it('data already the marker, or unset: nothing is written, the encoding is not even read (as Ignition)', () => {
    const stores: Array<Record<string, string>> = [{ 'ignition.config.data': 'e30K', 'ignition.config.data.encoding': 'gzip' }, {}];
    for (const g of stores) {
      const h = whost(g);
      const r = kindlingVmware(h);
      expect(r.status, r.out).toBe(0);
      expect(guestinfoOf(h)).toEqual(Object.fromEntries(Object.entries(g).map(([k, v]) => [k.toLowerCase(), v])));
      expect(requests(h)).toEqual(['info-get guestinfo.ignition.config.data', 'info-get guestinfo.ovfenv']);
      expect(r.out).not.toContain('deleting config from guestinfo properties');
      expect(r.out).toContain('Successfully deleted config');
    }
  });

  it('data set but empty: replaced too (only an unset key or the marker is left alone)', () => {
    const h = whost({ 'ignition.config.data': '' });
    expect(kindlingVmware(h).status).toBe(0);
    expect(guestinfoOf(h)).toEqual({ 'ignition.config.data': 'e30K', 'ignition.config.data.encoding': 'base64' });
  });

  it('OVF environment: the two properties are removed, the rest of the document kept byte for byte, no value logged', () => {
    const props: Array<[string, string]> = [
      ['guestinfo.hostname', 'node-1'],
      ['guestinfo.ignition.config.data', b64(CFG)],
      ['guestinfo.ignition.config.data.encoding', 'base64'],
      ['guestinfo.vapp.password', OTHER],
    ];
    const before = ovfEnv(props);
    const h = whost({ ovfEnv: before });
    const r = kindlingVmware(h, { debug: true });
    expect(r.status, r.out).toBe(0);
    const after = guestinfoOf(h).ovfenv!;
    // Only the two elements go (their indentation and line ends stay, as etree's RemoveChild leaves them).
    expect(after).toBe(before.replace(/<Property oe:key="guestinfo\.ignition\.config\.data(\.encoding)?" [^>]*\/>/g, ''));
    expect(ovfProperties(after)).toEqual({ 'guestinfo.hostname': 'node-1', 'guestinfo.vapp.password': OTHER });
    // No guestinfo data key: nothing to replace there; the OVF environment is rewritten.
    expect(requests(h)).toEqual(['info-get guestinfo.ignition.config.data', 'info-get guestinfo.ovfenv', `info-set guestinfo.ovfenv ${after}`]);
    expect(r.out).toContain('deleting config from OVF environment');
    for (const s of [SECRET, OTHER, b64(CFG).slice(0, 40)]) expect(r.out).not.toContain(s);
  });

  it('OVF environment without the keys: not rewritten', () => {
    const h = whost({ ovfEnv: ovfEnv([['guestinfo.hostname', 'node-1']]) });
    expect(kindlingVmware(h).status).toBe(0);
    expect(requests(h).filter((q) => q.startsWith('info-set'))).toEqual([]);
  });

  it('--dry-run reads and prints the plan, writes nothing', () => {
    const h = whost({ 'ignition.config.data': b64(CFG) });
    const r = kindlingVmware(h, { args: ['--platform=vmware', '--log-to-stdout', '--dry-run'] });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('plan: set guestinfo.ignition.config.data to "e30K"');
    expect(requests(h).filter((q) => q.startsWith('info-set'))).toEqual([]);
    expect(guestinfoOf(h)['ignition.config.data']).toBe(b64(CFG));
  });

  it('transport failures: one readable line, exit 1, nothing changed', () => {
    const cases: Array<{ fault?: string; path?: string; want: string }> = [
      { fault: 'not-vmware', want: "couldn't delete config: getting config property: not running under VMware (vmware-rpctool: Failed sending message to VMware)" },
      { path: nodeOnly, want: "couldn't delete config: getting config property: vmware-rpctool is not installed (open-vm-tools)" },
      { fault: 'refuse-get', want: "couldn't delete config: getting config property: vmware-rpctool exited 1: Permission denied" },
      { fault: 'refuse-set', want: "couldn't delete config: replacing config: vmware-rpctool exited 1: Permission denied" },
    ];
    for (const c of cases) {
      const h = whost({ 'ignition.config.data': b64(CFG) });
      const r = kindlingVmware(h, { fault: c.fault, path: c.path });
      expect(r.status, r.out).toBe(1);
      expect(r.out).toContain(c.want);
      expect(r.out.match(/couldn't delete config/g)).toHaveLength(1);
      expect(guestinfoOf(h)).toEqual({ 'ignition.config.data': b64(CFG) });
      expect(r.out).not.toContain(SECRET);
    }
  });

  it('an OVF environment that cannot be read fails, before anything is written (Ignition: "reading OVF environment", not ignored)', () => {
    const h = whost({ 'ignition.config.data': b64(CFG) });
    const r = kindlingVmware(h, { fault: 'refuse-get=ovfenv' });
    expect(r.status, r.out).toBe(1);
    expect(r.out).toContain("couldn't delete config: reading OVF environment: vmware-rpctool exited 1: Permission denied");
    // Plan first: the failed read stops it before the data is replaced (Ignition had replaced it).
    expect(requests(h).filter((q) => q.startsWith('info-set'))).toEqual([]);
  });
});

describe('deleteOvfProperties', () => {
  it('removes self-closing and open/close Property elements of the keys, with any prefix or quotes', () => {
    const xml = `<Environment xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"><PropertySection>
<oe:Property oe:key="a" oe:value="1"/><Property key='b' value='2'></Property>
<Property oe:key="c" oe:value="x&gt;y"/></PropertySection></Environment>`;
    const r = deleteOvfProperties(xml, ['a', 'b']);
    expect(r.removed).toBe(true);
    expect(r.xml).toBe(`<Environment xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"><PropertySection>

<Property oe:key="c" oe:value="x&gt;y"/></PropertySection></Environment>`);
    expect(deleteOvfProperties(xml, ['zz'])).toEqual({ xml, removed: false });
    expect(deleteOvfProperties('not xml at all', ['a'])).toEqual({ xml: 'not xml at all', removed: false });
    // An escaped key is compared unescaped.
    expect(deleteOvfProperties('<Property oe:key="a&amp;b" oe:value="v"/>', ['a&b']).xml).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------
// the command line

describe.skipIf(!existsSync(IGNITION))('rmcfg command line: the same exit statuses as Ignition 2.14\'s ignition-rmcfg', () => {
  const cases: Array<{ args: string[]; status: number; says: RegExp }> = [
    { args: [], status: 2, says: /'--platform' must be provided/ },
    { args: ['--platform=qemu', '--log-to-stdout'], status: 1, says: /couldn't delete config: cannot delete config on this platform/ },
    { args: ['--platform', 'metal', '--log-to-stdout'], status: 1, says: /couldn't delete config: cannot delete config on this platform/ },
    { args: ['-platform=qemu'], status: 2, says: /unknown shorthand flag: 'p' in -platform=qemu/ },
    { args: ['--platform=nosuch'], status: 2, says: /invalid platform name "nosuch" provided/ },
    { args: ['--platform=qemu', 'extra'], status: 2, says: /Usage: / },
    { args: ['--platform'], status: 2, says: /flag needs an argument: --platform/ },
    { args: ['--stage=files'], status: 2, says: /unknown flag: --stage/ },
    { args: ['--version'], status: 0, says: /\S/ },
  ];
  for (const c of cases) {
    it(`ignition-rmcfg ${c.args.join(' ') || '(no arguments)'} -> ${c.status}`, () => {
      const env = { PATH: '/usr/bin:/bin' };
      const ig = spawnSync(oracleLink, c.args, { encoding: 'utf8', env });
      const kd = spawnSync(rmcfgLink, c.args, { encoding: 'utf8', env });
      expect(ig.status, ig.stdout + ig.stderr).toBe(c.status);
      expect(kd.status, kd.stdout + kd.stderr).toBe(c.status);
      expect(ig.stdout + ig.stderr).toMatch(c.says);
      expect(kd.stdout + kd.stderr).toMatch(c.says);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// the real root's unit (dracut-module/real-root/), installed by dracut-module/install-real-root.sh

/** `systemd-analyze verify`'s dump of a unit: each Exec* command line as argv (systemd's own parsing, %b resolved). */
function execLines(dump: string, key: string): string[][] {
  const out: string[][] = [];
  const block = dump.split(`-> ${key}:`)[1]?.split('-> ')[0] ?? '';
  for (const m of block.matchAll(/Command Line: (.*)/g)) {
    const argv: string[] = [];
    for (const w of m[1]!.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) argv.push(w[1] !== undefined ? w[1].replace(/\\(.)/g, '$1') : w[2]!);
    out.push(argv);
  }
  return out;
}

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0 && spawnSync('jq', ['--version']).status === 0;

describe.skipIf(!hasAnalyze)('ignition-delete-config.service for the real root', () => {
  it('installs with its wants link and ignition-rmcfg, verifies with systemd, and its commands do what Ignition\'s do', () => {
    const dest = scratch('kindling-rmcfg-root-');
    execFileSync('dracut-module/install-real-root.sh', [dest, '--bundle', bin]);
    const units = join(dest, 'usr/lib/systemd/system');
    expect(readFileSync(join(units, 'ignition-delete-config.service'), 'utf8')).toBe(readFileSync('dracut-module/real-root/ignition-delete-config.service', 'utf8'));
    expect(execFileSync('readlink', [join(units, 'sysinit.target.wants/ignition-delete-config.service')], { encoding: 'utf8' }).trim()).toBe('../ignition-delete-config.service');
    expect(execFileSync('readlink', [join(dest, 'usr/libexec/ignition-rmcfg')], { encoding: 'utf8' }).trim()).toBe('../lib/kindling/kindling');
    // systemd checks the unit against that root: jq must be there too (the distro's).
    const missing = spawnSync('systemd-analyze', ['verify', `--root=${dest}`, 'ignition-delete-config.service'], { encoding: 'utf8' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('Command /usr/bin/jq is not executable');
    mkdirSync(join(dest, 'usr/bin'));
    execFileSync('cp', [execFileSync('sh', ['-c', 'command -v jq'], { encoding: 'utf8' }).trim(), join(dest, 'usr/bin/jq')]);
    const v = spawnSync('systemd-analyze', ['verify', `--root=${dest}`, 'ignition-delete-config.service'], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug' } });
    expect(v.status, v.stderr).toBe(0);
    const dump = v.stdout + v.stderr;
    const conditions = execLines(dump, 'ExecCondition');
    const start = execLines(dump, 'ExecStart');
    expect(conditions).toHaveLength(2);
    expect(start).toEqual([['/usr/libexec/ignition-rmcfg', '--platform=${PLATFORM_ID}']]);

    // ExecCondition, fed the result file Kindling's files stage writes in this boot: run (0);
    // from another boot, or without a user config: skipped (1).
    const apply = scratch('kindling-rmcfg-apply-');
    writeFileSync(join(apply, 'c.ign'), JSON.stringify({ ignition: { version: '3.3.0' } }));
    execFileSync(bin, ['apply', join(apply, 'c.ign'), '--root', join(apply, 'root')], { stdio: 'pipe' });
    const result = readFileSync(join(apply, 'root/etc/.ignition-result.json'), 'utf8');
    const cond = (input: string) => conditions.map(([cmd, ...args]) => spawnSync(cmd!, args, { input }).status);
    expect(cond(result)).toEqual([0, 0]);
    expect(cond(result.replace(/"provisioningBootID": "[^"]*"/, '"provisioningBootID": "00000000-0000-0000-0000-000000000000"'))).toEqual([0, 1]);
    expect(cond(result.replace('"userConfigProvided": true', '"userConfigProvided": false'))[0]).toBe(1);

    // ExecStart with the platform from /run/ignition.env, through the installed link: the config
    // on the (stand-in) VMware host is replaced.
    const env = 'OEM_ID=vmware\nPLATFORM_ID=vmware\n'; // what kindling-stage writes
    const platform = /^PLATFORM_ID=(.*)$/m.exec(env)![1]!;
    const argv = start[0]!.slice(1).map((a) => a.replace('${PLATFORM_ID}', platform));
    const h = whost({ 'ignition.config.data': b64(CFG) });
    const r = spawnSync(join(dest, 'usr/libexec/ignition-rmcfg'), argv, {
      encoding: 'utf8',
      env: { PATH: `${standinDir}:${process.env.PATH}`, RPCSTANDIN_DIR: h.store, RPCSTANDIN_LOG: h.log },
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(guestinfoOf(h)).toEqual({ 'ignition.config.data': 'e30K', 'ignition.config.data.encoding': 'base64' });
  });

  it('kindling-stage writes /run/ignition.env with the platform it decided (unless one is there)', () => {
    const stage = readFileSync('dracut-module/kindling-stage', 'utf8');
    const line = stage.split('\n').find((l) => l.includes('/run/ignition.env') && l.includes('printf'));
    expect(line).toBeDefined();
    // Run that line alone in a scratch directory standing for /run.
    const dir = scratch('kindling-rmcfg-env-');
    const sh = (pre: string) => spawnSync('bash', ['-c', `platform=virtualbox; ${pre} ${line!.replaceAll('/run/', `${dir}/`)}`]);
    expect(sh('').status).toBe(0);
    expect(readFileSync(join(dir, 'ignition.env'), 'utf8')).toBe('OEM_ID=virtualbox\nPLATFORM_ID=virtualbox\n');
    writeFileSync(join(dir, 'ignition.env'), 'PLATFORM_ID=vmware\n');
    sh('');
    expect(readFileSync(join(dir, 'ignition.env'), 'utf8')).toBe('PLATFORM_ID=vmware\n');
  });
});
