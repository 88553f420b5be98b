// The fetch-offline and fetch stages end to end in-process: where the config comes from (cmdline,
// system dirs, OEM, platform), how base configs merge, neednet, merge/replace chains over HTTP with
// verification, the cache and the state file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchOfflineStage } from '../../stages/fetch-offline.js';
import { fetchStage } from '../../stages/fetch.js';
import type { StageContext } from '../../stages/types.js';
import type { AcquireEnv } from '../../src/acquire/env.js';
import type { FetchPlan } from '../../src/acquire/stage.js';
import { startFake, type FakeServer } from '../providers/fake-metadata.js';
import { quietLog, scratch, testEnv } from '../providers/helpers.js';

let servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function fake(routes: Parameters<typeof startFake>[0]) {
  const s = await startFake(routes);
  servers.push(s);
  return s;
}

function put(path: string, text: string) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}
const file = (path: string, contents: string, extra: object = {}) => ({ path, contents: { source: 'data:,' + encodeURIComponent(contents) }, ...extra });
const cfg = (o: object = {}, v = '3.0.0') => JSON.stringify({ ignition: { version: v }, ...o });
const sha512 = (s: string) => 'sha512-' + createHash('sha512').update(s).digest('hex');

function ctxFor(dir: string, platform: string, env: AcquireEnv, over: Partial<StageContext> = {}): StageContext {
  return {
    config: { ignition: { version: '3.6.0' } },
    root: join(dir, 'root'),
    platform,
    log: quietLog,
    configCache: join(dir, 'run/ignition.json'),
    stateFile: join(dir, 'run/ignition/state'),
    needNetFile: join(dir, 'run/ignition/neednet'),
    fetchTimeoutMs: 20_000,
    options: { acquireEnv: env },
    ...over,
  };
}

async function run(stage: 'fetch' | 'fetch-offline', ctx: StageContext): Promise<FetchPlan> {
  const s = stage === 'fetch' ? fetchStage : fetchOfflineStage;
  const plan = (await s.plan(ctx)) as FetchPlan;
  await s.apply(ctx, plan);
  return plan;
}
const cached = (ctx: StageContext) => JSON.parse(readFileSync(ctx.configCache, 'utf8'));
const files = (c: { storage?: { files?: { path: string; contents?: { source?: string } }[] } }) =>
  Object.fromEntries((c.storage?.files ?? []).map((f) => [f.path, decodeURIComponent((f.contents?.source ?? '').replace(/^data:,/, ''))]));

describe('base configs and system directories (the blackbox multidir/preemption cases)', () => {
  it('merge.multiple.base.configs: base.d then base.platform.d/PLATFORM, each in name order', async () => {
    const dir = scratch();
    const env = testEnv(dir);
    const usr = join(dir, 'usr');
    put(join(usr, 'base.d/40-base.ign'), cfg({ storage: { files: [file('/foo/bar', 'base config\n')] } }));
    put(join(usr, 'base.d/50-base2.ign'), cfg({ storage: { files: [file('/foo/bar2', 'base config2\n')] } }));
    put(join(usr, 'base.d/60-base3.ign'), cfg({ storage: { files: [file('/foo/bar', 'base config3\n')] } }));
    put(join(usr, 'base.platform.d/file/10-plaform.ign'), cfg({ storage: { files: [file('/foo/bar3', 'platform config\n')] } }));
    put(join(usr, 'base.platform.d/file/30-plaform3.ign'), cfg({ storage: { files: [file('/foo/bar2', 'platform config3\n')] } }));
    put(join(dir, 'config.ign'), cfg({}, '3.3.0'));
    const ctx = ctxFor(dir, 'file', env);
    const plan = await run('fetch', ctx);
    expect(files(plan.full!)).toEqual({ '/foo/bar': 'base config3\n', '/foo/bar2': 'platform config3\n', '/foo/bar3': 'platform config\n' });
    // The cache holds the user config only; base configs are merged again by every stage.
    expect(cached(ctx).storage).toBeUndefined();
  });

  it('multidir: runtime user.ign overrides local and vendor; base.d merges across dirs by file name', async () => {
    const dir = scratch();
    const env = testEnv(dir);
    for (const [d, v] of [['usr', 'vendor'], ['run', 'runtime'], ['etc', 'local']]) put(join(dir, d!, 'user.ign'), cfg({ storage: { files: [file('/ignition/source', v!, { overwrite: true })] } }));
    put(join(dir, 'usr/base.d/40-base.ign'), cfg({ storage: { files: [file('/foo/from-vendor', 'vendor')] } }));
    put(join(dir, 'run/base.d/40-base.ign'), cfg({ storage: { files: [file('/foo/from-vendor', 'runtime-override')] } }));
    put(join(dir, 'etc/base.d/50-local.ign'), cfg({ storage: { files: [file('/foo/from-local', 'local')] } }));
    put(join(dir, 'config.ign'), cfg({ storage: { files: [file('/ignition/provider', 'p')] } }));
    const ctx = ctxFor(dir, 'file', env);
    const plan = await run('fetch', ctx);
    expect(files(plan.full!)).toEqual({ '/foo/from-vendor': 'runtime-override', '/foo/from-local': 'local', '/ignition/source': 'runtime' });
    expect(plan.state.fetchedConfigs).toEqual([
      { kind: 'base', source: 'system', referenced: false },
      { kind: 'user', source: 'system', referenced: false },
    ]);
  });

  it("Flatcar's OEM partition: config.ign wins over the cloud's user data, base/base.ign is a base config", async () => {
    const dir = scratch();
    const s = await fake({ '/latest/user-data': { body: cfg({ storage: { files: [file('/from', 'cloud')] } }) } });
    const env = testEnv(dir, { metadataBase: s.url });
    put(join(dir, 'oem/config.ign'), cfg({ storage: { files: [file('/from', 'oem')] } }));
    put(join(dir, 'oem/base/base.ign'), cfg({ storage: { files: [file('/base', 'oem-base')] } }));
    const plan = await run('fetch', ctxFor(dir, 'aliyun', env));
    expect(files(plan.full!)).toEqual({ '/from': 'oem', '/base': 'oem-base' });
    expect(s.requests).toHaveLength(0);
  });

  it('a bad base.d fragment fails the stage with its path', async () => {
    const dir = scratch();
    put(join(dir, 'usr/base.d/10-bad.ign'), '{"ignition":');
    put(join(dir, 'config.ign'), cfg());
    await expect(run('fetch', ctxFor(dir, 'file', testEnv(dir)))).rejects.toThrow(/failed to acquire system base config: base config .*10-bad\.ign/);
  });
});

describe('kernel command line', () => {
  it('ignition.config.url wins over the platform (and flatcar.config.url is honoured)', async () => {
    const dir = scratch();
    const s = await fake({ '/cfg.ign': { body: cfg({ storage: { files: [file('/x', 'cmdline')] } }) } });
    put(join(dir, 'config.ign'), cfg({ storage: { files: [file('/x', 'platform')] } }));
    for (const key of ['ignition.config.url', 'flatcar.config.url', 'coreos.config.url']) {
      put(join(dir, 'cmdline'), `BOOT_IMAGE=/vmlinuz ${key}=${s.url}/cfg.ign console=ttyS0\n`);
      const ctx = ctxFor(dir, 'file', testEnv(dir));
      const plan = await run('fetch', ctx);
      expect(files(plan.full!)).toEqual({ '/x': 'cmdline' });
      expect(plan.state.fetchedConfigs![1]).toEqual({ kind: 'user', source: 'cmdline', referenced: false });
    }
  });
  it('fetch-offline with an http config URL on the cmdline signals neednet and writes no cache', async () => {
    const dir = scratch();
    put(join(dir, 'cmdline'), 'ignition.config.url=http://192.0.2.1/x.ign');
    const ctx = ctxFor(dir, 'metal', testEnv(dir));
    const plan = await run('fetch-offline', ctx);
    expect(plan.needNet).toBe(true);
    expect(existsSync(ctx.needNetFile)).toBe(true);
    expect(existsSync(ctx.configCache)).toBe(false);
    expect(JSON.parse(readFileSync(ctx.stateFile, 'utf8')).fetchedConfigs).toEqual([{ kind: 'base', source: 'system', referenced: false }]);
  });
  it('ignition.config.device + ignition.config.path read the file from that filesystem', async () => {
    const dir = scratch();
    put(join(dir, 'media/config.ign'), cfg({ storage: { files: [file('/foo/bar', 'example file\n')] } }, '3.4.0'));
    put(join(dir, 'cmdline'), 'ignition.config.device=IGNCONFIG ignition.config.path=/config.ign');
    const plan = await run('fetch', ctxFor(dir, 'file', testEnv(dir, { mountedMedia: { IGNCONFIG: join(dir, 'media') } })));
    expect(files(plan.full!)).toEqual({ '/foo/bar': 'example file\n' });
  });
  it('the negative cmdline cases fail with a clear sentence', async () => {
    const cases: [string, RegExp][] = [
      ['ignition.config.device=IGNCONFIG ignition.config.path=/nonexistent.ign', /config file "\/nonexistent.ign" not found on device "IGNCONFIG"/],
      ['ignition.config.device=DOESNOTEXIST ignition.config.path=/config.ign', /device "DOESNOTEXIST" did not appear/],
      ['ignition.config.device=IGNCONFIG', /must be provided together/],
      ['ignition.config.path=/config.ign', /must be provided together/],
    ];
    for (const [line, re] of cases) {
      const dir = scratch();
      mkdirSync(join(dir, 'media'));
      put(join(dir, 'cmdline'), line);
      put(join(dir, 'config.ign'), cfg());
      const env = testEnv(dir, { mountedMedia: { IGNCONFIG: join(dir, 'media') }, deviceWaitMs: 300 });
      await expect(run('fetch', ctxFor(dir, 'file', env))).rejects.toThrow(re);
    }
  });
});

describe('fetch-offline', () => {
  it('a cloud platform needs the network: neednet, exit successfully, no HTTP stack touched', async () => {
    const dir = scratch();
    const ctx = ctxFor(dir, 'aws', testEnv(dir));
    const plan = await run('fetch-offline', ctx);
    expect(plan.needNet).toBe(true);
    expect(plan.ops[0]!.kind).toBe('neednet.signal');
    expect(existsSync(ctx.needNetFile)).toBe(true);
  });
  it('a local config with a data: merge is completed offline', async () => {
    const dir = scratch();
    const child = cfg({ storage: { files: [file('/child', 'c')] } });
    put(join(dir, 'config.ign'), cfg({ ignition: { version: '3.0.0', config: { merge: [{ source: 'data:,' + encodeURIComponent(child) }] } } }));
    const ctx = ctxFor(dir, 'file', testEnv(dir));
    const plan = await run('fetch-offline', ctx);
    expect(plan.needNet).toBe(false);
    expect(existsSync(ctx.needNetFile)).toBe(false);
    expect(files(cached(ctx))).toEqual({ '/child': 'c' });
    expect((statSync(ctx.configCache).mode & 0o777).toString(8)).toBe('640');
  });
  it('a local config that merges an http config needs the network', async () => {
    const dir = scratch();
    put(join(dir, 'config.ign'), cfg({ ignition: { version: '3.0.0', config: { merge: [{ source: 'http://192.0.2.1/child.ign' }] } } }));
    const ctx = ctxFor(dir, 'qemu', testEnv(dir, { configFile: join(dir, 'nope') }));
    put(join(dir, 'fw_cfg/by_name/opt/com.coreos/config/raw'), readFileSync(join(dir, 'config.ign'), 'utf8'));
    const plan = await run('fetch-offline', ctx);
    expect(plan.needNet).toBe(true);
    expect(existsSync(ctx.configCache)).toBe(false);
  });
});

describe('fetch-offline: a cached config that names a remote resource (Ignition configNeedsNet)', () => {
  it('writes the cache and signals neednet, so the network comes up for the files stage', async () => {
    const dir = scratch();
    put(join(dir, 'oem/config.ign'), cfg({ storage: { files: [file('/local', 'l'), { path: '/remote', contents: { source: 'http://192.0.2.1/remote.txt' } }] } }));
    const ctx = ctxFor(dir, 'metal', testEnv(dir));
    const plan = await run('fetch-offline', ctx);
    expect(plan.needNet).toBe(true);
    expect(plan.ops.map((o) => o.kind)).toEqual(['config.cache', 'neednet.signal']);
    expect(existsSync(ctx.needNetFile)).toBe(true);
    expect(cached(ctx).storage.files.map((f: { path: string }) => f.path)).toEqual(['/local', '/remote']);
  });
  it('data: resources and an empty source need no network', async () => {
    const dir = scratch();
    put(join(dir, 'oem/config.ign'), cfg({ storage: { files: [file('/local', 'l'), { path: '/e', contents: { source: '' } }] } }));
    const ctx = ctxFor(dir, 'metal', testEnv(dir));
    const plan = await run('fetch-offline', ctx);
    expect(plan.needNet).toBe(false);
    expect(existsSync(ctx.needNetFile)).toBe(false);
    expect(existsSync(ctx.configCache)).toBe(true);
  });
});

describe('fetch: referenced configs over HTTP', () => {
  it('merge chain (parent -> A -> B) with verification, in order, each recorded in the state', async () => {
    const B = cfg({ storage: { files: [file('/b', 'B'), file('/shared', 'from B')] } });
    const s = await fake({ '/b.ign': { body: B } });
    const A = cfg({ ignition: { version: '3.0.0', config: { merge: [{ source: `${s.url}/b.ign`, verification: { hash: sha512(B) } }] } }, storage: { files: [file('/a', 'A'), file('/shared', 'from A')] } });
    s.routes.set('/a.ign', { body: A });
    const dir = scratch();
    put(join(dir, 'config.ign'), cfg({ ignition: { version: '3.0.0', config: { merge: [{ source: `${s.url}/a.ign`, verification: { hash: sha512(A) } }] } }, storage: { files: [file('/p', 'P')] } }));
    const ctx = ctxFor(dir, 'file', testEnv(dir));
    const plan = await run('fetch', ctx);
    expect(files(cached(ctx))).toEqual({ '/p': 'P', '/a': 'A', '/shared': 'from B', '/b': 'B' });
    expect(JSON.parse(readFileSync(ctx.stateFile, 'utf8')).fetchedConfigs).toEqual([
      { kind: 'base', source: 'system', referenced: false },
      { kind: 'user', source: 'file', referenced: false },
      { kind: 'user', source: '/a.ign', referenced: true },
      { kind: 'user', source: '/b.ign', referenced: true },
    ]);
    expect(plan.needNet).toBe(false);
    // Ignition's config Accept header went with each config fetch.
    expect(String(s.requests[0]!.headers.accept)).toMatch(/application\/vnd\.coreos\.ignition\+json/);
  });
  it('replace: the referenced config is rendered instead of the parent (its own merges too)', async () => {
    const D = cfg({ storage: { files: [file('/d', 'D')] } });
    const s = await fake({ '/d.ign': { body: D } });
    const C = cfg({ ignition: { version: '3.0.0', config: { merge: [{ source: `${s.url}/d.ign` }] } }, storage: { files: [file('/c', 'C')] } });
    s.routes.set('/c.ign', { body: C });
    const dir = scratch();
    put(join(dir, 'config.ign'), cfg({ ignition: { version: '3.0.0', config: { replace: { source: `${s.url}/c.ign`, verification: { hash: sha512(C) } } } }, storage: { files: [file('/parent', 'gone')] } }));
    const ctx = ctxFor(dir, 'file', testEnv(dir));
    await run('fetch', ctx);
    expect(files(cached(ctx))).toEqual({ '/c': 'C', '/d': 'D' });
  });
  it('a verification hash that does not match fails the stage and writes no cache', async () => {
    const s = await fake({ '/a.ign': { body: cfg() } });
    const dir = scratch();
    put(join(dir, 'config.ign'), cfg({ ignition: { version: '3.0.0', config: { merge: [{ source: `${s.url}/a.ign`, verification: { hash: sha512('something else') } }] } } }));
    const ctx = ctxFor(dir, 'file', testEnv(dir));
    await expect(run('fetch', ctx)).rejects.toThrow(/referenced config at \/ignition\/config\/merge\/0: .*sha512 of the contents is [0-9a-f]+, the config expects/);
    expect(existsSync(ctx.configCache)).toBe(false);
  });
  it('a child that is not a config fails with where it came from', async () => {
    const s = await fake({ '/a.ign': { body: '{"ignition": {"version": "9.9.9"}}' } });
    const dir = scratch();
    put(join(dir, 'config.ign'), cfg({ ignition: { version: '3.0.0', config: { merge: [{ source: `${s.url}/a.ign` }] } } }));
    await expect(run('fetch', ctxFor(dir, 'file', testEnv(dir)))).rejects.toThrow(/referenced config at \/ignition\/config\/merge\/0/);
  });
});

describe('user data that is not an Ignition config', () => {
  for (const [what, body] of [
    ['a cloud-config', '#cloud-config\nhostname: x\n'],
    ['a script', '#!/bin/bash\necho hi\n'],
    ['empty', ''],
  ]) {
    it(`${what}: skipped with a message, the boot goes on with an empty config`, async () => {
      const s = await fake({ '/hetzner/v1/userdata': { body } });
      const dir = scratch();
      const ctx = ctxFor(dir, 'hetzner', testEnv(dir, { metadataBase: s.url }));
      const plan = await run('fetch', ctx);
      expect(cached(ctx)).toEqual({ ignition: { version: '3.6.0' } });
      expect(plan.warnings.join(' ')).toMatch(what === 'empty' ? /no config provided/ : new RegExp(what === 'a script' ? 'script' : 'cloud-config'));
    });
  }
});
