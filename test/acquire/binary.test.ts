// The bundled binary (built here with scripts/build.mjs --out) run the way dracut units run the
// ignition binary: flags and exit codes, the file and qemu platforms, fetch-offline -> neednet ->
// fetch, a later stage reading the cache, and one fetch compared with Debian's Ignition 2.14.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFake, type FakeServer } from '../providers/fake-metadata.js';
import { scratch } from '../providers/helpers.js';

const REAL_IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';
let bin = '';
let servers: FakeServer[] = [];

beforeAll(() => {
  const out = join(scratch('kindling-bin-'), 'kindling');
  execFileSync(process.execPath, ['scripts/build.mjs', '--out', out], { stdio: 'pipe' });
  bin = out;
}, 120_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** A sandbox: every system directory, the cmdline and the OEM dir point into `dir`. */
function sandboxEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  if (!existsSync(join(dir, 'cmdline'))) writeFileSync(join(dir, 'cmdline'), 'console=ttyS0\n');
  return {
    PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
    IGNITION_KERNEL_CMDLINE_PATH: join(dir, 'cmdline'),
    IGNITION_SYSTEM_CONFIG_DIR: join(dir, 'usr-lib-ignition'),
    IGNITION_SYSTEM_RUNTIME_CONFIG_DIR: join(dir, 'run-ignition'),
    IGNITION_SYSTEM_LOCAL_CONFIG_DIR: join(dir, 'etc-ignition'),
    KINDLING_OEM_DIRS: join(dir, 'oem'),
    KINDLING_NO_MODPROBE: '1',
    ...extra,
  };
}

// Asynchronous on purpose: the fake servers live in this process and must keep answering while
// the binary runs (spawnSync would block their event loop).
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env, cwd, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

function stageArgs(dir: string, platform: string, stage: string): string[] {
  return ['-platform', platform, '-stage', stage, '-config-cache', join(dir, 'ignition.json'), '-state-file', join(dir, 'state'), '-neednet', join(dir, 'neednet'), '-log-to-stdout'];
}

describe('flags and exit codes (as `ignition` 2.14)', () => {
  it('refuses missing or unknown flags with exit 2, prints the version with exit 0', async () => {
    const env = sandboxEnv(scratch());
    let r = await run(bin, ['-stage', 'fetch'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("'--platform' must be provided");
    r = await run(bin, ['-platform', 'file'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("'--stage' must be provided");
    r = await run(bin, ['-platform', 'foo', '-stage', 'fetch'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid value "foo" for flag -platform: foo is not a valid platform');
    r = await run(bin, ['-platform', 'file', '-stage', 'bogus'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('bogus is not a valid stage');
    r = await run(bin, ['-bogus'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('flag provided but not defined: -bogus');
    r = await run(bin, ['-platform', 'file', '-stage', 'fetch', '-fetch-timeout', '5'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid value "5" for flag -fetch-timeout: parse error');
    r = await run(bin, ['-version'], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Kindling \S+/);
  });
});

describe('file platform', () => {
  it('fetch writes the cache (0640) and the state exactly as Ignition 2.14 does; a missing file fails with exit 1', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'c.ign'), '{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/hostname","contents":{"source":"data:,hello"}}]}}');
    const r = await run(bin, stageArgs(dir, 'file', 'fetch'), sandboxEnv(dir, { IGNITION_CONFIG_FILE: join(dir, 'c.ign') }));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'ignition.json'), 'utf8'))).toEqual({
      ignition: { version: '3.6.0' },
      storage: { files: [{ path: '/etc/hostname', contents: { source: 'data:,hello' } }] },
    });
    expect(readFileSync(join(dir, 'state'), 'utf8')).toBe(
      '{"fetchedConfigs":[{"kind":"base","source":"system","referenced":false},{"kind":"user","source":"file","referenced":false}],"luksPersistKeyFiles":null,"notatedDirectories":null}\n',
    );
    const missing = await run(bin, stageArgs(dir, 'file', 'fetch'), sandboxEnv(dir, { IGNITION_CONFIG_FILE: join(dir, 'nope.ign') }));
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(/fetch failed \(platform file\): config file ".*nope\.ign" does not exist/);
  });

  it('a later stage reads the cache, merges the base configs again and runs (kargs via the helper)', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'bin'));
    const helperLog = join(dir, 'helper.log');
    writeFileSync(join(dir, 'bin', 'ignition-kargs-helper'), `#!/bin/sh\necho "$@" >> ${helperLog}\n`);
    chmodSync(join(dir, 'bin', 'ignition-kargs-helper'), 0o755);
    mkdirSync(join(dir, 'usr-lib-ignition/base.d'), { recursive: true });
    writeFileSync(join(dir, 'usr-lib-ignition/base.d/10-base.ign'), '{"ignition":{"version":"3.3.0"},"kernelArguments":{"shouldExist":["from-base"]}}');
    writeFileSync(join(dir, 'c.ign'), '{"ignition":{"version":"3.3.0"},"kernelArguments":{"shouldExist":["console=ttyS0","quiet"],"shouldNotExist":["nomodeset"]}}');
    const env = sandboxEnv(dir, { IGNITION_CONFIG_FILE: join(dir, 'c.ign') });
    expect((await run(bin, stageArgs(dir, 'file', 'fetch'), env)).status).toBe(0);
    const k = await run(bin, stageArgs(dir, 'file', 'kargs'), env);
    expect(k.status, k.stdout).toBe(0);
    expect(readFileSync(helperLog, 'utf8')).toBe('--should-exist from-base --should-exist console=ttyS0 --should-exist quiet --should-not-exist nomodeset\n');
    // Each stage records the base configs again, as Ignition does.
    expect(JSON.parse(readFileSync(join(dir, 'state'), 'utf8')).fetchedConfigs).toHaveLength(3);
  });
});

describe('a metadata service that never answers', () => {
  it('fetch fails within -fetch-timeout with one line naming the stage, platform, URL and cause', async () => {
    const dir = scratch();
    const { freePort } = await import('../providers/fake-metadata.js');
    const port = await freePort();
    const t0 = Date.now();
    const r = await run(bin, [...stageArgs(dir, 'aws', 'fetch'), '-fetch-timeout', '2s'], sandboxEnv(dir, { KINDLING_METADATA_BASE: `http://127.0.0.1:${port}` }));
    const took = Date.now() - t0;
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`fetch failed \\(platform aws\\): http://127\\.0\\.0\\.1:${port}/2019-10-01/user-data: .*connection refused`));
    expect(took).toBeLessThan(8000);
    expect(existsSync(join(dir, 'ignition.json'))).toBe(false);
  });
});

describe('qemu platform (fw_cfg directory injected)', () => {
  it('fetch-offline reads opt/org.flatcar-linux/config; a config needing the network -> neednet, then fetch completes it', async () => {
    const dir = scratch();
    const s = await startFake({ '/child.ign': { body: '{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAA test"]}]}}' } });
    servers.push(s);
    const key = join(dir, 'fw_cfg/by_name/opt/org.flatcar-linux/config');
    mkdirSync(key, { recursive: true });
    const body = JSON.stringify({ ignition: { version: '3.3.0', config: { merge: [{ source: `${s.url}/child.ign` }] } } });
    writeFileSync(join(key, 'raw'), body);
    writeFileSync(join(key, 'size'), String(body.length));
    const env = sandboxEnv(dir, { KINDLING_FW_CFG_DIR: join(dir, 'fw_cfg') });
    const off = await run(bin, stageArgs(dir, 'qemu', 'fetch-offline'), env);
    expect(off.status, off.stdout).toBe(0);
    expect(existsSync(join(dir, 'neednet'))).toBe(true);
    expect(existsSync(join(dir, 'ignition.json'))).toBe(false);
    const on = await run(bin, stageArgs(dir, 'qemu', 'fetch'), env);
    expect(on.status, on.stdout).toBe(0);
    const c = JSON.parse(readFileSync(join(dir, 'ignition.json'), 'utf8'));
    expect(c.passwd.users[0].name).toBe('core');
    expect(s.hits('/child.ign')).toBe(1);
  });
  it('no fw_cfg key: an empty config, exit 0', async () => {
    const dir = scratch();
    const r = await run(bin, stageArgs(dir, 'qemu', 'fetch-offline'), sandboxEnv(dir, { KINDLING_FW_CFG_DIR: join(dir, 'none') }));
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'ignition.json'), 'utf8'))).toEqual({ ignition: { version: '3.6.0' } });
  });
});

/** Drops what differs only in form between Ignition's Go marshalling and ours: empty objects/lists, the version. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalize(x);
      if (n === null || n === undefined) continue;
      if (typeof n === 'object' && !Array.isArray(n) && Object.keys(n as object).length === 0) continue;
      if (Array.isArray(n) && n.length === 0) continue;
      out[k] = n;
    }
    return out;
  }
  return v;
}

describe.runIf(existsSync(REAL_IGNITION))('compared with Ignition 2.14 (Debian)', () => {
  it('file platform + merge from a local HTTP server: same rendered config, same state file', async () => {
    const child = '{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/motd","contents":{"source":"data:,hi"},"mode":420}]},"systemd":{"units":[{"name":"a.service","enabled":true}]}}';
    const s = await startFake({ '/child.ign': { body: child } });
    servers.push(s);
    const parent = JSON.stringify({
      ignition: { version: '3.2.0', config: { merge: [{ source: `${s.url}/child.ign` }] } },
      passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAA k'] }] },
      storage: { files: [{ path: '/etc/hostname', contents: { source: 'data:,node1' }, mode: 420 }] },
    });
    const results: Record<string, { cache: unknown; state: string }> = {};
    for (const [name, cmd] of [
      ['ignition', REAL_IGNITION],
      ['kindling', bin],
    ] as const) {
      const dir = scratch();
      writeFileSync(join(dir, 'c.ign'), parent);
      const r = await run(cmd, stageArgs(dir, 'file', 'fetch'), sandboxEnv(dir, { IGNITION_CONFIG_FILE: join(dir, 'c.ign') }), dir);
      expect(r.status, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      const cache = JSON.parse(readFileSync(join(dir, 'ignition.json'), 'utf8'));
      results[name] = { cache, state: readFileSync(join(dir, 'state'), 'utf8') };
    }
    const strip = (c: unknown) => {
      const n = normalize(c) as { ignition: Record<string, unknown> };
      delete n.ignition.version;
      return n;
    };
    expect(strip(results.kindling!.cache)).toEqual(strip(results.ignition!.cache));
    expect(results.kindling!.state).toBe(results.ignition!.state);
    expect(s.hits('/child.ign')).toBe(2);
  });
});
