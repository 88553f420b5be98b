// Every provider against a fake of its metadata service (real HTTP on 127.0.0.1) or its medium
// (a directory standing in for the mounted config drive, a fw_cfg sysfs tree): endpoint, headers,
// "no config" rules, encodings.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadProvider, providerNames, type Provider } from '../../src/acquire/providers/index.js';
import { customDataFromOvfEnv } from '../../src/acquire/providers/azure.js';
import { decodeGuestinfo } from '../../src/acquire/providers/vmware.js';
import { NeedNetError, NoProviderError } from '../../src/acquire/errors.js';
import { startFake, type FakeServer } from './fake-metadata.js';
import { providerCtx, scratch, testEnv } from './helpers.js';

const CFG = '{"ignition":{"version":"3.3.0"}}';
const b64 = (s: string) => Buffer.from(s).toString('base64');

let servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function fake(routes: Parameters<typeof startFake>[0]): Promise<FakeServer> {
  const s = await startFake(routes);
  servers.push(s);
  return s;
}
// Every provider loaded up front (the registry loads them lazily, one per run).
const LOADED = new Map<string, Provider>();
beforeAll(async () => {
  for (const n of providerNames()) LOADED.set(n, (await loadProvider(n))!);
});
function p(name: string) {
  const pr = LOADED.get(name);
  if (!pr) throw new Error(`no provider ${name}`);
  return pr;
}
async function fetchWith(name: string, s: FakeServer, over = {}) {
  const env = testEnv(scratch(), { metadataBase: s.url, ...over });
  return p(name).fetch(providerCtx(env));
}

describe('registry', () => {
  it('knows every platform name Ignition 2.14 accepts', () => {
    for (const n of 'aliyun aws azure azurestack brightbox cloudstack digitalocean exoscale file gcp ibmcloud kubevirt metal nutanix openstack packet powervs qemu virtualbox vmware vultr zvm'.split(' ')) {
      expect(providerNames()).toContain(n);
    }
  });
  it('loads, for each name, the provider of that name (and nothing for an unknown one)', async () => {
    for (const n of providerNames()) expect(LOADED.get(n)?.name).toBe(n);
    expect(await loadProvider('nope')).toBeUndefined();
    expect(await loadProvider('toString')).toBeUndefined();
  });
});

describe('aws', () => {
  it('uses an IMDSv2 token for the user data', async () => {
    const s = await fake({
      'PUT /latest/api/token': { method: 'PUT', body: 'TOKEN123', requireHeaders: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' } },
      '/2019-10-01/user-data': { body: CFG, requireHeaders: { 'x-aws-ec2-metadata-token': 'TOKEN123' }, reject: { status: 401 } },
    });
    expect((await fetchWith('aws', s))?.toString()).toBe(CFG);
    expect(s.hits('/latest/api/token', 'PUT')).toBe(1);
  });
  it('falls back to IMDSv1 when the token PUT is refused', async () => {
    const s = await fake({
      'PUT /latest/api/token': { method: 'PUT', status: 403 },
      '/2019-10-01/user-data': { body: CFG },
    });
    expect((await fetchWith('aws', s))?.toString()).toBe(CFG);
    const ud = s.requests.find((r) => r.path === '/2019-10-01/user-data')!;
    expect(ud.headers['x-aws-ec2-metadata-token']).toBeUndefined();
  });
  it('treats 404 as no user data', async () => {
    const s = await fake({ 'PUT /latest/api/token': { method: 'PUT', body: 'T' } });
    expect(await fetchWith('aws', s)).toBeNull();
  });
  it('reads hostname, instance id and SSH keys', async () => {
    const md = '/2019-10-01/meta-data';
    const s = await fake({
      'PUT /latest/api/token': { method: 'PUT', body: 'T' },
      [`${md}/public-keys`]: { body: '0=my-key\n1=other' },
      [`${md}/public-keys/0/openssh-key`]: { body: 'ssh-ed25519 AAAA0 a\n' },
      [`${md}/public-keys/1/openssh-key`]: { body: 'ssh-ed25519 AAAA1 b' },
      [`${md}/instance-id`]: { body: 'i-0abc' },
      [`${md}/hostname`]: { body: 'ip-10-0-0-1.ec2.internal' },
    });
    const env = testEnv(scratch(), { metadataBase: s.url });
    const m = await p('aws').metadata!(providerCtx(env));
    expect(m).toMatchObject({ hostname: 'ip-10-0-0-1.ec2.internal', instanceId: 'i-0abc', sshKeys: ['ssh-ed25519 AAAA0 a', 'ssh-ed25519 AAAA1 b'] });
  });
});

describe('gcp', () => {
  it('sends Metadata-Flavor: Google (the server refuses requests without it)', async () => {
    const s = await fake({
      '/computeMetadata/v1/instance/attributes/user-data': { body: CFG, requireHeaders: { 'metadata-flavor': 'Google' }, reject: { status: 403 } },
    });
    expect((await fetchWith('gcp', s))?.toString()).toBe(CFG);
  });
  it('treats 404 as no config', async () => {
    const s = await fake({});
    expect(await fetchWith('gcp', s)).toBeNull();
  });
  it('reads hostname and ssh-keys of instance and project', async () => {
    const H = { requireHeaders: { 'metadata-flavor': 'Google' } };
    const s = await fake({
      '/computeMetadata/v1/instance/hostname': { body: 'vm1.c.proj.internal', ...H },
      '/computeMetadata/v1/instance/attributes/ssh-keys': { body: 'core:ssh-rsa AAAI core\n', ...H },
      '/computeMetadata/v1/project/attributes/ssh-keys': { body: 'ops:ssh-ed25519 AAAP ops', ...H },
    });
    const m = await p('gcp').metadata!(providerCtx(testEnv(scratch(), { metadataBase: s.url })));
    expect(m.hostname).toBe('vm1.c.proj.internal');
    expect(m.sshKeys).toEqual(['ssh-rsa AAAI core', 'ssh-ed25519 AAAP ops']);
  });
});

describe('azure', () => {
  const IMDS = '/metadata/instance/compute/userData';
  it('decodes the base64 IMDS userData, retrying 404/410/429 while IMDS warms up', async () => {
    let n = 0;
    const s = await fake({
      [IMDS]: {
        requireHeaders: { metadata: 'true' },
        handler: () => {
          n++;
          if (n === 1) return { status: 404 };
          if (n === 2) return { status: 410 };
          if (n === 3) return { status: 429 };
          return { status: 200, body: b64(CFG) };
        },
      },
    });
    expect((await fetchWith('azure', s))?.toString()).toBe(CFG);
    expect(n).toBe(4);
    expect(s.requests[0]!.path).toBe('/metadata/instance/compute/userData?api-version=2021-01-01&format=text');
  });
  it('falls back to CustomData.bin on the provisioning medium when IMDS has no userData', async () => {
    const dir = scratch();
    const media = join(dir, 'dvd');
    mkdirSync(media);
    writeFileSync(join(media, 'CustomData.bin'), CFG);
    const s = await fake({ [IMDS]: { body: '' } });
    const env = testEnv(dir, { metadataBase: s.url, mountedMedia: { 'ata-Virtual_CD': media } });
    expect((await p('azure').fetch(providerCtx(env)))?.toString()).toBe(CFG);
  });
  it('reads CustomData from ovf-env.xml when there is no CustomData.bin (azurestack: no IMDS)', async () => {
    const dir = scratch();
    const media = join(dir, 'dvd');
    mkdirSync(media);
    writeFileSync(
      join(media, 'ovf-env.xml'),
      `<?xml version="1.0"?><Environment xmlns:ns1="http://schemas.microsoft.com/windowsazure"><ns1:ProvisioningSection><ns1:LinuxProvisioningConfigurationSet><ns1:CustomData>${b64(CFG)}</ns1:CustomData></ns1:LinuxProvisioningConfigurationSet></ns1:ProvisioningSection></Environment>`,
    );
    const env = testEnv(dir, { mountedMedia: { 'ata-Virtual_CD': media } });
    expect((await p('azurestack').fetch(providerCtx(env)))?.toString()).toBe(CFG);
    expect(customDataFromOvfEnv('<Environment/>')).toBeUndefined();
  });
  it('reads hostname and keys from IMDS compute', async () => {
    const s = await fake({
      '/metadata/instance/compute': {
        requireHeaders: { metadata: 'true' },
        body: JSON.stringify({ name: 'vm', vmId: 'uuid-1', osProfile: { computerName: 'myhost' }, publicKeys: [{ keyData: 'ssh-rsa AAA az\r\n' }] }),
      },
    });
    const m = await p('azure').metadata!(providerCtx(testEnv(scratch(), { metadataBase: s.url })));
    expect(m).toMatchObject({ hostname: 'myhost', instanceId: 'uuid-1', sshKeys: ['ssh-rsa AAA az'] });
  });
});

describe('openstack', () => {
  it('takes the config drive (config-2) when attached, without waiting for the metadata service', async () => {
    const dir = scratch();
    const drive = join(dir, 'cd');
    mkdirSync(join(drive, 'openstack/latest'), { recursive: true });
    writeFileSync(join(drive, 'openstack/latest/user_data'), CFG);
    const s = await fake({ '/openstack/latest/user_data': { body: '{"from":"metadata"}', slowFirst: { count: 99, ms: 3000 } } });
    const env = testEnv(dir, { metadataBase: s.url, mountedMedia: { 'config-2': drive } });
    const t0 = Date.now();
    expect((await p('openstack').fetch(providerCtx(env)))?.toString()).toBe(CFG);
    expect(Date.now() - t0).toBeLessThan(2500);
  });
  it('uses the metadata service when there is no config drive; 404 = no config', async () => {
    const s = await fake({ '/openstack/latest/user_data': { body: CFG } });
    expect((await fetchWith('openstack', s))?.toString()).toBe(CFG);
    const s2 = await fake({});
    expect(await fetchWith('openstack', s2)).toBeNull();
  });
  it('signals neednet in fetch-offline, as Ignition does', async () => {
    const env = testEnv(scratch());
    await expect(p('openstack').fetch(providerCtx(env, { offline: true }))).rejects.toBeInstanceOf(NeedNetError);
  });
  it('reads meta_data.json', async () => {
    const s = await fake({ '/openstack/latest/meta_data.json': { body: JSON.stringify({ hostname: 'os1', uuid: 'u', public_keys: { k: 'ssh-rsa OS k\n' } }) } });
    const m = await p('openstack').metadata!(providerCtx(testEnv(scratch(), { metadataBase: s.url })));
    expect(m).toMatchObject({ hostname: 'os1', instanceId: 'u', sshKeys: ['ssh-rsa OS k'] });
  });
});

describe('digitalocean and packet', () => {
  it('digitalocean: user data; 404 is an error, not an empty config', async () => {
    const s = await fake({ '/metadata/v1/user-data': { body: CFG } });
    expect((await fetchWith('digitalocean', s))?.toString()).toBe(CFG);
    const s2 = await fake({});
    await expect(fetchWith('digitalocean', s2)).rejects.toThrow(/404/);
  });
  it('digitalocean: metadata from /metadata/v1.json', async () => {
    const s = await fake({ '/metadata/v1.json': { body: JSON.stringify({ hostname: 'droplet', droplet_id: 42, public_keys: ['ssh-ed25519 DO'] }) } });
    const m = await p('digitalocean').metadata!(providerCtx(testEnv(scratch(), { metadataBase: s.url })));
    expect(m).toMatchObject({ hostname: 'droplet', instanceId: '42', sshKeys: ['ssh-ed25519 DO'] });
  });
  it('packet: sends Accept: */* (the service answers 406 to the config Accept header)', async () => {
    const s = await fake({ '/userdata': { body: CFG, requireHeaders: { accept: '*/*' }, reject: { status: 406 } } });
    expect((await fetchWith('packet', s))?.toString()).toBe(CFG);
    const m = await fake({ '/metadata': { body: JSON.stringify({ hostname: 'metal1', id: 'abc', ssh_keys: ['ssh-rsa P'] }), requireHeaders: { accept: '*/*' } } });
    const md = await p('packet').metadata!(providerCtx(testEnv(scratch(), { metadataBase: m.url })));
    expect(md).toMatchObject({ hostname: 'metal1', instanceId: 'abc', sshKeys: ['ssh-rsa P'] });
  });
});

describe('packet status (instance timeline)', () => {
  it('posts the stage outcome to phone_home_url/../events', async () => {
    const posts: string[] = [];
    const s = await fake({
      '/events': { method: 'POST', handler: (_req, body) => (posts.push(body.toString()), { status: 200 }) },
    });
    s.routes.set('/metadata', { body: JSON.stringify({ phone_home_url: `${s.url}/phone-home` }) });
    const env = testEnv(scratch(), { metadataBase: s.url });
    await p('packet').status!(providerCtx(env), 'files');
    await p('packet').status!(providerCtx(env), 'disks', new Error('boom'));
    expect(posts.map((x) => JSON.parse(x))).toEqual([
      { state: 'running', message: '[files] Ignition status: finished successfully' },
      { state: 'failed', message: '[disks] Ignition error: boom' },
    ]);
  });
});

describe('single-GET providers (404 = no config)', () => {
  for (const [name, path] of [
    ['aliyun', '/latest/user-data'],
    ['exoscale', '/1.0/user-data'],
    ['vultr', '/user-data/user-data'],
    ['hetzner', '/hetzner/v1/userdata'],
    ['upcloud', '/metadata/v1/user_data'],
  ] as const) {
    it(`${name}: GET ${path}`, async () => {
      const s = await fake({ [path]: { body: CFG } });
      expect((await fetchWith(name, s))?.toString()).toBe(CFG);
      expect(s.requests[0]!.path).toBe(path);
      const empty = await fake({});
      expect(await fetchWith(name, empty)).toBeNull();
    });
  }
  it('oraclecloud: Authorization: Bearer Oracle, 429 retried, base64 body', async () => {
    const s = await fake({
      '/opc/v2/instance/metadata/user_data': { body: b64(CFG), requireHeaders: { authorization: 'Bearer Oracle' }, failFirst: { count: 2, status: 429 } },
    });
    expect((await fetchWith('oraclecloud', s))?.toString()).toBe(CFG);
    expect(s.hits('/opc/v2/instance/metadata/user_data')).toBe(3);
  });
  it('akamai: token PUT then user data with Metadata-Token, base64', async () => {
    const s = await fake({
      'PUT /v1/token': { method: 'PUT', body: 'tok\n', requireHeaders: { 'metadata-token-expiry-seconds': '300' } },
      '/v1/user-data': { body: b64(CFG), requireHeaders: { 'metadata-token': 'tok', accept: '*/*' } },
    });
    expect((await fetchWith('akamai', s))?.toString()).toBe(CFG);
  });
  it('scaleway: asks from a privileged source port (< 1024), 5xx retried, 404 = no config', async () => {
    const ports: number[] = [];
    const s = await fake({
      '/user_data/cloud-init': {
        handler: (req) => {
          ports.push(req.socket.remotePort ?? 0);
          return ports.length < 3 ? { status: 503 } : { status: 200, body: CFG };
        },
      },
    });
    expect((await fetchWith('scaleway', s))?.toString()).toBe(CFG);
    expect(ports).toHaveLength(3);
    for (const port of ports) expect(port).toBeLessThan(1024);
    const empty = await fake({});
    expect(await fetchWith('scaleway', empty)).toBeNull();
  });
  it('cloudstack: metadata service on the DHCP server named in the networkd lease', async () => {
    const s = await fake({ '/latest/user-data': { body: CFG } });
    const dir = scratch();
    mkdirSync(join(dir, 'leases'));
    writeFileSync(join(dir, 'leases', '2'), `ADDRESS=10.1.1.5\nSERVER_ADDRESS=127.0.0.1:${s.port}\n`);
    const env = testEnv(dir, { vars: { KINDLING_NETIF_LEASES_DIR: join(dir, 'leases') }, deviceWaitMs: 300 });
    expect((await p('cloudstack').fetch(providerCtx(env)))?.toString()).toBe(CFG);
  });
});

describe('media and local providers', () => {
  function drive(dir: string, files: Record<string, string>): string {
    const root = join(dir, 'drive');
    for (const [f, c] of Object.entries(files)) {
      mkdirSync(join(root, f, '..'), { recursive: true });
      writeFileSync(join(root, f), c);
    }
    return root;
  }
  it('ibmcloud: cidata /user-data; no drive within the wait = no config', async () => {
    const dir = scratch();
    const env = testEnv(dir, { mountedMedia: { cidata: drive(dir, { 'user-data': CFG }) } });
    expect((await p('ibmcloud').fetch(providerCtx(env)))?.toString()).toBe(CFG);
    const t0 = Date.now();
    expect(await p('ibmcloud').fetch(providerCtx(testEnv(scratch(), { deviceWaitMs: 1200 })))).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });
  it('proxmoxve: skips a cloud-config user-data and takes JSON vendor-data', async () => {
    const dir = scratch();
    const env = testEnv(dir, { mountedMedia: { cidata: drive(dir, { 'user-data': '#cloud-config\nusers: []\n', 'vendor-data': CFG }) } });
    expect((await p('proxmoxve').fetch(providerCtx(env)))?.toString()).toBe(CFG);
  });
  it('kubevirt, nutanix and powervs: config-2 /openstack/latest/user_data', async () => {
    for (const name of ['kubevirt', 'nutanix', 'powervs']) {
      const dir = scratch();
      const env = testEnv(dir, { mountedMedia: { 'config-2': drive(dir, { 'openstack/latest/user_data': CFG }) } });
      expect((await p(name).fetch(providerCtx(env)))?.toString()).toBe(CFG);
    }
  });
  it('qemu: opt/org.flatcar-linux/config wins over opt/com.coreos/config; absent = no config', async () => {
    const dir = scratch();
    const fw = join(dir, 'fw_cfg');
    for (const [key, body] of [
      ['opt/org.flatcar-linux/config', '{"flatcar":1}'],
      ['opt/com.coreos/config', '{"coreos":1}'],
    ]) {
      mkdirSync(join(fw, 'by_name', key!), { recursive: true });
      writeFileSync(join(fw, 'by_name', key!, 'raw'), body!);
      writeFileSync(join(fw, 'by_name', key!, 'size'), `${body!.length}\n`);
    }
    expect((await p('qemu').fetch(providerCtx(testEnv(dir))))?.toString()).toBe('{"flatcar":1}');
    expect(await p('qemu').fetch(providerCtx(testEnv(scratch())))).toBeNull();
  });
  it('qemu: a size file that disagrees with the blob is an error', async () => {
    const dir = scratch();
    const k = join(dir, 'fw_cfg/by_name/opt/com.coreos/config');
    mkdirSync(k, { recursive: true });
    writeFileSync(join(k, 'raw'), '{"a":1}');
    writeFileSync(join(k, 'size'), '100');
    await expect(p('qemu').fetch(providerCtx(testEnv(dir)))).rejects.toThrow(/read 7 of 100 bytes/);
  });
  it('file: IGNITION_CONFIG_FILE; missing = no provider', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'config.ign'), CFG);
    expect((await p('file').fetch(providerCtx(testEnv(dir))))?.toString()).toBe(CFG);
    await expect(p('file').fetch(providerCtx(testEnv(scratch())))).rejects.toBeInstanceOf(NoProviderError);
  });
  it('metal: no config of its own', async () => {
    expect(await p('metal').fetch(providerCtx(testEnv(scratch())))).toBeNull();
  });
  it('vmware: guestinfo data in every encoding Ignition accepts', async () => {
    const gz = gzipSync(Buffer.from(CFG));
    expect(decodeGuestinfo(CFG, '').toString()).toBe(CFG);
    expect(decodeGuestinfo(b64(CFG), 'base64').toString()).toBe(CFG);
    expect(decodeGuestinfo(b64(CFG), 'b64').toString()).toBe(CFG);
    expect(decodeGuestinfo(gz.toString('base64'), 'gzip+base64').toString()).toBe(CFG);
    expect(decodeGuestinfo(gz.toString('base64'), 'gz+b64').toString()).toBe(CFG);
    expect(() => decodeGuestinfo(CFG, 'rot13')).toThrow(/unsupported/);
    const env = testEnv(scratch(), { vmwareGuestinfo: { 'ignition.config.data': b64(CFG), 'ignition.config.data.encoding': 'base64' } });
    expect((await p('vmware').fetch(providerCtx(env)))?.toString()).toBe(CFG);
    const ovfEnv = `<?xml version="1.0"?><Environment xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"><PropertySection><Property oe:key="guestinfo.ignition.config.data" oe:value="${b64(CFG)}"/><Property oe:key="guestinfo.ignition.config.data.encoding" oe:value="base64"/></PropertySection></Environment>`;
    const viaOvf = testEnv(scratch(), { vmwareGuestinfo: { ovfEnv } });
    expect((await p('vmware').fetch(providerCtx(viaOvf)))?.toString()).toBe(CFG);
    const none = testEnv(scratch(), { vmwareGuestinfo: {} });
    expect(await p('vmware').fetch(providerCtx(none))).toBeNull();
  });
});

describe('platform metadata readers', () => {
  it('fetchPlatformMetadata: DigitalOcean', async () => {
    const { fetchPlatformMetadata } = await import('../../src/acquire/metadata.js');
    const s = await fake({ '/metadata/v1.json': { body: JSON.stringify({ hostname: 'droplet', droplet_id: 7, public_keys: ['ssh-ed25519 K'], region: 'ams3' }) } });
    const m = await fetchPlatformMetadata('digitalocean', testEnv(scratch(), { metadataBase: s.url }));
    expect(m).toMatchObject({ hostname: 'droplet', instanceId: '7', sshKeys: ['ssh-ed25519 K'] });
    await expect(fetchPlatformMetadata('qemu', testEnv(scratch()))).rejects.toThrow(/no metadata reader/);
  });
});
