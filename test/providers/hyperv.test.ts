// hyperv: the KVP exchange through a pseudo-terminal in raw mode standing in for /dev/vmbus/hv_kvp
// (opened blocking, so that a read waits for the next message as the driver's read does),
// the driver and host side played by kvp-host.py (messages laid out there with Python's struct),
// read by src/acquire/kvp.ts and by the built binary (-platform hyperv -stage fetch-offline).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ignitionConfigFromKvp, kvpPoolFiles, readKvp, type KvpPair, type KvpPools } from '../../src/acquire/kvp.js';
import { loadProvider } from '../../src/acquire/providers/index.js';
import { emptyState, serializeState, type IgnitionState } from '../../src/acquire/state.js';
import type { Config } from '../../src/config/types.js';
import { filesStage } from '../../stages/files/index.js';
import { cleanupTemps, filesCtx, tempDir } from '../files/helpers.js';
import { providerCtx, sandboxEnv, scratch, testEnv } from './helpers.js';

const hasPython = spawnSync('python3', ['-c', 'import pty, tty']).status === 0;
const hosts: ChildProcess[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) if (h.exitCode === null) h.kill('SIGTERM');
});

interface Host {
  device: string;
  /** Resolves with the host's report once the reader is done and stdin is closed. */
  finish(): Promise<{ code: number | null; out: string; err: string }>;
}

function startHost(pairs: string[]): Promise<Host> {
  return new Promise((resolve, reject) => {
    const h = spawn('python3', [join(__dirname, 'kvp-host.py'), ...pairs], { stdio: ['pipe', 'pipe', 'pipe'] });
    hosts.push(h);
    let out = '';
    let err = '';
    h.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const done = new Promise<{ code: number | null; out: string; err: string }>((r) => h.on('close', (code) => r({ code, out, err })));
    h.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line && !('device' in (h as object))) {
        Object.assign(h, { device: line });
        resolve({
          device: line,
          finish: async () => {
            h.stdin!.end('x');
            return done;
          },
        });
      }
    });
    h.on('error', reject);
    setTimeout(() => reject(new Error(`kvp-host did not start: ${err}`)), 10_000);
  });
}

/** The pairs as strings (readKvp also keeps the raw bytes, compared where pool files are). */
function strings(pairs: KvpPair[] | undefined): { key: string; value: string }[] | undefined {
  return pairs?.map(({ key, value }) => ({ key, value }));
}

/** A field of a pool file record as hv_kvp_daemon lays it out: the bytes, then NULs up to its size. */
function padded(bytes: Buffer | string, size: number): Buffer {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
  return Buffer.concat([b, Buffer.alloc(size - b.length)]);
}

/** Checks a pool file record by record against the pairs the fake host sent to that pool. */
function expectPool(file: Buffer, sent: [string, Buffer | string][], what: string): void {
  expect(file.length, `${what}: ${sent.length} records of 2560 bytes`).toBe(sent.length * 2560);
  sent.forEach(([key, value], i) => {
    expect(file.subarray(i * 2560, i * 2560 + 512).equals(padded(key, 512)), `${what} record ${i}: key ${key}`).toBe(true);
    expect(file.subarray(i * 2560 + 512, (i + 1) * 2560).equals(padded(value, 2048)), `${what} record ${i}: value of ${key}`).toBe(true);
  });
}

function runBin(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(bin, args, { env });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (status) => resolve({ status, out }));
  });
}

const CFG = '{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/from-kvp","contents":{"source":"data:,hyperv"}}]}}';

describe.runIf(hasPython)('Hyper-V KVP exchange (pty stand-in for /dev/vmbus/hv_kvp)', () => {
  it('reads every pair, answering each SET with HV_S_OK, and finds ignition.config in pool 0', async () => {
    const host = await startHost(['0:ignition.config=' + CFG, '0:other=1', '1:guest-key=x', '3:auto=y']);
    const pools = await readKvp({ device: host.device, idleMs: 500 });
    const r = await host.finish();
    expect(r.err).toBe('');
    expect(r.out).toContain('answered 4');
    expect(strings(pools.get(0))).toEqual([{ key: 'ignition.config', value: CFG }, { key: 'other', value: '1' }]);
    expect(strings(pools.get(1))).toEqual([{ key: 'guest-key', value: 'x' }]);
    expect(strings(pools.get(3))).toEqual([{ key: 'auto', value: 'y' }]);
    expect([...pools.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(ignitionConfigFromKvp(pools)).toMatchObject({ config: CFG, how: 'single' });
  }, 20_000);

  it('reassembles a config split over ignition.config.0, .1, .2 (each value < 2048 bytes), stopping at the first gap', async () => {
    const big = JSON.stringify({ ignition: { version: '3.4.0' }, storage: { files: [{ path: '/etc/big', contents: { source: `data:,${'a'.repeat(4500)}` } }] } });
    const dir = scratch('kindling-kvp-');
    const parts = [big.slice(0, 2000), big.slice(2000, 4000), big.slice(4000)];
    parts.forEach((p, i) => writeFileSync(join(dir, `p${i}`), p));
    // Out of order on the wire, a stray .4 after the gap, and the same key in another pool.
    const host = await startHost([`0:ignition.config.1@${join(dir, 'p1')}`, `0:ignition.config.0@${join(dir, 'p0')}`, `0:ignition.config.2@${join(dir, 'p2')}`, '0:ignition.config.4=junk', '1:ignition.config=not-this-pool']);
    const pools = await readKvp({ device: host.device, idleMs: 500 });
    expect((await host.finish()).out).toContain('answered 5');
    const got = ignitionConfigFromKvp(pools);
    expect(got).toMatchObject({ how: 'split', parts: 3 });
    expect(got.config).toBe(big);
  }, 20_000);

  it('no ignition.config key: no config (the provider returns null)', async () => {
    const host = await startHost(['0:something=else']);
    const p = (await loadProvider('hyperv'))!;
    const env = testEnv(scratch(), { kvpDevice: host.device, modprobe: false });
    expect(await p.fetch(providerCtx(env))).toBeNull();
    expect((await host.finish()).out).toContain('answered 1');
  }, 20_000);

  it('a device whose read blocks (as the driver does) is left after the idle time or when aborted', async () => {
    const host = await startHost([]);
    await expect(readKvp({ device: host.device, idleMs: 60_000, signal: AbortSignal.timeout(300) })).rejects.toThrow(/aborted/);
    expect((await readKvp({ device: host.device, idleMs: 300 })).get(0)).toEqual([]);
    await host.finish();
  }, 20_000);

  it('a missing device is one clear error', async () => {
    const p = (await loadProvider('hyperv'))!;
    const env = testEnv(scratch(), { kvpDevice: '/nonexistent/hv_kvp', modprobe: false });
    await expect(p.fetch(providerCtx(env))).rejects.toThrow(/reading key-value pairs: .*ENOENT.*hv_kvp/);
  });

  describe('through the built binary', () => {
    let bin = process.env.KINDLING_BIN ?? '';
    beforeAll(() => {
      if (!bin) {
        bin = join(scratch('kindling-hvbin-'), 'kindling');
        execFileSync(process.execPath, ['scripts/build.mjs', '--out', bin], { stdio: 'pipe' });
      }
    }, 120_000);

    it('-platform hyperv -stage fetch-offline caches the config from the KVP exchange', async () => {
      const host = await startHost(['0:ignition.config=' + CFG]);
      const dir = scratch('kindling-hv-');
      writeFileSync(join(dir, 'cmdline'), 'console=ttyS0\n');
      const r = await new Promise<{ status: number | null; out: string }>((resolve) => {
        const c = spawn(bin, ['-platform', 'hyperv', '-stage', 'fetch-offline', '-config-cache', join(dir, 'cache'), '-state-file', join(dir, 'state'), '-neednet', join(dir, 'neednet'), '-log-to-stdout'], {
          env: sandboxEnv(dir, { KINDLING_NO_MODPROBE: '1', KINDLING_HYPERV_KVP_DEVICE: host.device }),
        });
        let out = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (out += d.toString()));
        c.on('close', (status) => resolve({ status, out }));
      });
      expect(r.status, r.out).toBe(0);
      expect((await host.finish()).out).toContain('answered 1');
      expect(existsSync(join(dir, 'neednet'))).toBe(false);
      expect(JSON.parse(readFileSync(join(dir, 'cache'), 'utf8')).storage.files[0].path).toBe('/etc/from-kvp');
      expect(JSON.parse(readFileSync(join(dir, 'state'), 'utf8')).fetchedConfigs.at(-1)).toEqual({ kind: 'user', source: 'hyperv', referenced: false });
      expect(r.out).not.toContain('data:,hyperv'); // the config itself is not logged
    }, 60_000);

    // Ignition >= 2.16 (hyperv's FetchWithFiles + the files stage): the pools the exchange delivered
    // become /var/lib/hyperv/.kvp_pool_N in the target root, for the booted system's hv_kvp_daemon.
    const SECRET = 'kvp-secret-value-3f9c1e';
    const made: string[] = [];
    afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
    const poolDir = () => {
      const d = scratch('kindling-hvpool-');
      made.push(d);
      return d;
    };
    const stageArgs = (dir: string, stage: string) => ['-platform', 'hyperv', '-stage', stage, '-root', join(dir, 'root'), '-config-cache', join(dir, 'cache'), '-state-file', join(dir, 'state'), '-neednet', join(dir, 'neednet'), '-log-to-stdout'];

    it('fetch-offline keeps every pool in the state; the files stage writes them as hv_kvp_daemon pool files, record by record, 0600', async () => {
      const dir = poolDir();
      mkdirSync(join(dir, 'root'));
      writeFileSync(join(dir, 'cmdline'), 'console=ttyS0\n');
      // Not UTF-8 and a NUL inside: written byte for byte, as libhvee keeps the driver's bytes.
      const odd = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3]);
      writeFileSync(join(dir, 'odd'), odd);
      const sent: Record<number, [string, Buffer | string][]> = {
        0: [['ignition.config', CFG], ['secret.marker', SECRET]],
        1: [['guest-key', 'x']],
        2: [],
        3: [['auto', 'y'], ['odd', odd]],
        4: [],
        7: [['pool7', 'z']],
      };
      // '!3': an ENUMERATE message among them, answered HV_E_FAIL (checked by the host) and not kept.
      // overwrite: the rerun below writes /etc/from-kvp again instead of refusing it, as Ignition would.
      const cfg = CFG.replace('"path":"/etc/from-kvp"', '"path":"/etc/from-kvp","overwrite":true');
      sent[0]![0]![1] = cfg;
      const host = await startHost(['0:ignition.config=' + cfg, '0:secret.marker=' + SECRET, '1:guest-key=x', '!3', '3:auto=y', `3:odd@${join(dir, 'odd')}`, '7:pool7=z']);
      const env = sandboxEnv(dir, { KINDLING_NO_MODPROBE: '1', KINDLING_HYPERV_KVP_DEVICE: host.device });
      const fetched = await runBin(bin, stageArgs(dir, 'fetch-offline'), env);
      expect(fetched.status, fetched.out).toBe(0);
      const h = await host.finish();
      expect(h.err).toBe('');
      expect(h.out).toContain('answered 7');

      // The state file: Ignition's providerOutputFiles entries, pools 0..4 always, plus pool 7.
      const state = JSON.parse(readFileSync(join(dir, 'state'), 'utf8')) as IgnitionState;
      expect(Object.keys(state)).toEqual(['fetchedConfigs', 'luksPersistKeyFiles', 'notatedDirectories', 'providerOutputFiles']);
      const files = state.providerOutputFiles!;
      expect(files.map((f) => f.path)).toEqual([0, 1, 2, 3, 4, 7].map((p) => `/var/lib/hyperv/.kvp_pool_${p}`));
      for (const f of files) {
        expect(Object.keys(f)).toEqual(['group', 'overwrite', 'path', 'user', 'contents', 'mode']);
        expect(f).toMatchObject({ group: {}, overwrite: true, user: {}, mode: 0o600, contents: { verification: {} } });
        const m = /^data:([^,]*);base64,(.*)$/.exec(f.contents!.source!)!;
        expect(m[1]).toBe(f.path.endsWith('_2') || f.path.endsWith('_4') ? 'text/plain;charset=utf-8' : 'application/octet-stream');
        expectPool(Buffer.from(m[2]!, 'base64'), sent[Number(f.path.split('_').pop())]!, `state ${f.path}`);
      }
      expect(fetched.out).toMatch(/KVP pairs by pool \(0: 2, 1: 1, 2: 0, 3: 2, 4: 0, 7: 1\) kept for the files stage/);
      expect(fetched.out).not.toContain(SECRET);

      const applied = await runBin(bin, stageArgs(dir, 'files'), env);
      expect(applied.status, applied.out).toBe(0);
      expect(readFileSync(join(dir, 'root/etc/from-kvp'), 'utf8')).toBe('hyperv');
      const pools = join(dir, 'root/var/lib/hyperv');
      expect(statSync(pools).mode & 0o7777).toBe(0o755);
      for (const [p, pairs] of Object.entries(sent)) {
        const f = join(pools, `.kvp_pool_${p}`);
        const st = lstatSync(f);
        expect(st.isFile() && (st.mode & 0o7777) === 0o600 && st.uid === 0 && st.gid === 0, `${f}: 0600 root:root file`).toBe(true);
        expectPool(readFileSync(f), pairs, f);
      }
      expect(applied.out).toContain('write /var/lib/hyperv/.kvp_pool_0 (0600 root:root, 2 KVP records, 5120 bytes)');
      expect(applied.out).toContain('write /var/lib/hyperv/.kvp_pool_2 (0600 root:root, 0 KVP records, 0 bytes)');
      expect(applied.out).not.toContain(SECRET);

      // A rerun finds them in place and leaves them alone (same inode: not rewritten).
      const ino = statSync(join(pools, '.kvp_pool_0')).ino;
      const again = await runBin(bin, stageArgs(dir, 'files'), env);
      expect(again.status, again.out).toBe(0);
      expect(again.out).toContain('keep /var/lib/hyperv/.kvp_pool_0');
      expect(statSync(join(pools, '.kvp_pool_0')).ino).toBe(ino);
      expectPool(readFileSync(join(pools, '.kvp_pool_0')), sent[0]!, 'pool 0 after the rerun');
    }, 90_000);

    it('no ignition.config key: no config, but the pools are still handed over and written', async () => {
      const dir = poolDir();
      mkdirSync(join(dir, 'root'));
      writeFileSync(join(dir, 'cmdline'), '');
      const host = await startHost(['0:not-a-config=1', '3:auto=y']);
      const env = sandboxEnv(dir, { KINDLING_NO_MODPROBE: '1', KINDLING_HYPERV_KVP_DEVICE: host.device });
      const fetched = await runBin(bin, stageArgs(dir, 'fetch-offline'), env);
      expect(fetched.status, fetched.out).toBe(0);
      await host.finish();
      const state = JSON.parse(readFileSync(join(dir, 'state'), 'utf8')) as IgnitionState;
      expect(state.fetchedConfigs?.some((c) => c.kind === 'user')).toBeFalsy(); // "no config" is not recorded, as in Ignition
      expect(state.providerOutputFiles).toHaveLength(5);
      const applied = await runBin(bin, stageArgs(dir, 'files'), env);
      expect(applied.status, applied.out).toBe(0);
      expectPool(readFileSync(join(dir, 'root/var/lib/hyperv/.kvp_pool_0')), [['not-a-config', '1']], 'pool 0');
      expectPool(readFileSync(join(dir, 'root/var/lib/hyperv/.kvp_pool_3')), [['auto', 'y']], 'pool 3');
      expectPool(readFileSync(join(dir, 'root/var/lib/hyperv/.kvp_pool_1')), [], 'pool 1');
    }, 90_000);

    it('a state file without KVP data (Ignition 2.14 style): the files stage writes no pool file and adds none to the state', async () => {
      const dir = poolDir();
      mkdirSync(join(dir, 'root'));
      writeFileSync(join(dir, 'cmdline'), '');
      writeFileSync(join(dir, 'cache'), CFG);
      const before = '{"fetchedConfigs":[{"kind":"user","source":"hyperv","referenced":false}],"luksPersistKeyFiles":null,"notatedDirectories":null}\n';
      writeFileSync(join(dir, 'state'), before);
      const applied = await runBin(bin, stageArgs(dir, 'files'), sandboxEnv(dir, { KINDLING_NO_MODPROBE: '1', KINDLING_HYPERV_KVP_DEVICE: '/nonexistent/hv_kvp' }));
      expect(applied.status, applied.out).toBe(0);
      expect(readFileSync(join(dir, 'root/etc/from-kvp'), 'utf8')).toBe('hyperv');
      expect(existsSync(join(dir, 'root/var/lib/hyperv'))).toBe(false);
      expect(existsSync(join(dir, 'root/var'))).toBe(false);
      expect(applied.out).not.toContain('kvp_pool');
      const after = readFileSync(join(dir, 'state'), 'utf8');
      expect(after).not.toContain('providerOutputFiles');
      expect(Object.keys(JSON.parse(after))).toEqual(['fetchedConfigs', 'luksPersistKeyFiles', 'notatedDirectories']);
      expect(after.startsWith(before.slice(0, before.indexOf(']')))).toBe(true);
    }, 60_000);
  });
});

// The files stage's side in-process: what the plan says (and never says), and what it refuses.
describe('provider output files in the files plan (stages/files/provider-files.ts)', () => {
  afterAll(() => cleanupTemps());
  const SECRET = 'secret-in-pool-0-77d2';
  const EMPTY: Config = { ignition: { version: '3.4.0' } } as Config;
  function stateWith(pools: KvpPools): IgnitionState {
    return { ...emptyState(), providerOutputFiles: kvpPoolFiles(pools) };
  }
  const pools = (): KvpPools =>
    new Map<number, KvpPair[]>([
      [0, [{ key: 'ignition.config', value: SECRET }, { key: 'b', value: 'c' }]],
      [1, []],
      [2, []],
      [3, [{ key: 'auto', value: 'y' }]],
      [4, []],
    ]);
  function ctxFor(config: Config, root: string, state: IgnitionState) {
    const ctx = filesCtx(config, root, { state, syncfs: false, bootIdFile: '/proc/sys/kernel/random/boot_id' });
    ctx.platform = 'hyperv';
    return ctx;
  }

  it('one provider.file operation per pool, before the report, with path, mode, size and record count but no value', async () => {
    const root = tempDir();
    const plan = await filesStage.plan(ctxFor(EMPTY, root, stateWith(pools())));
    const ops = plan.ops.filter((o) => o.kind === 'provider.file');
    expect(ops.map((o) => o.details.path)).toEqual([0, 1, 2, 3, 4].map((p) => `/var/lib/hyperv/.kvp_pool_${p}`));
    expect(ops[0]!.details).toEqual({ path: '/var/lib/hyperv/.kvp_pool_0', resolved: '/var/lib/hyperv/.kvp_pool_0', mode: 0o600, bytes: 5120, records: 2, overwrite: true, replaces: null, state: '/providerOutputFiles/0' });
    expect(ops.map((o) => o.details.records)).toEqual([2, 0, 0, 1, 0]);
    expect(plan.ops.at(-1)!.kind).toBe('result.write');
    const text = JSON.stringify(plan);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 16));
    // Planning wrote nothing.
    expect(existsSync(join(root, 'var'))).toBe(false);
  });

  it('a state without provider files plans none', async () => {
    const plan = await filesStage.plan(ctxFor(EMPTY, tempDir(), emptyState()));
    expect(plan.ops.some((o) => o.kind === 'provider.file')).toBe(false);
    expect(serializeState(emptyState())).toBe('{"fetchedConfigs":null,"luksPersistKeyFiles":null,"notatedDirectories":null}\n');
  });

  it("a config entry at a pool file's path is refused with one readable error", async () => {
    const config = { ignition: { version: '3.4.0' }, storage: { files: [{ path: '/var/lib/hyperv/.kvp_pool_3', contents: { source: 'data:,mine' } }] } } as Config;
    const err = await filesStage.plan(ctxFor(config, tempDir(), stateWith(pools()))).catch((e: Error) => e);
    expect(String(err)).toMatch(/\/var\/lib\/hyperv\/\.kvp_pool_3 .*resolves to \/var\/lib\/hyperv\/\.kvp_pool_3, where the config's entry \/storage\/files\/0 also lands/);
  });

  it("the config's own /var/lib/hyperv (another mode) is created first and kept; the pools go into it", async () => {
    const root = tempDir();
    const config = { ignition: { version: '3.4.0' }, storage: { directories: [{ path: '/var/lib/hyperv', mode: 0o700 }] } } as Config;
    const ctx = ctxFor(config, root, stateWith(pools()));
    await filesStage.apply(ctx, await filesStage.plan(ctx));
    expect(statSync(join(root, 'var/lib/hyperv')).mode & 0o7777).toBe(0o700);
    expectPool(readFileSync(join(root, 'var/lib/hyperv/.kvp_pool_0')), [['ignition.config', SECRET], ['b', 'c']], 'pool 0');
  });

  it('a root whose /var/lib is an absolute symlink: the pools land inside the root, never on the host', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'var'));
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync('/elsewhere', join(root, 'var/lib'));
    const ctx = ctxFor(EMPTY, root, stateWith(pools()));
    const plan = await filesStage.plan(ctx);
    expect(plan.ops.find((o) => o.kind === 'provider.file')!.details.resolved).toBe('/elsewhere/hyperv/.kvp_pool_0');
    await filesStage.apply(ctx, plan);
    expectPool(readFileSync(join(root, 'elsewhere/hyperv/.kvp_pool_3')), [['auto', 'y']], 'pool 3');
    expect(existsSync('/elsewhere/hyperv')).toBe(false);
  });

  it('an existing directory at a pool path is replaced (overwrite: true, as Ignition); overwrite false refuses', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'var/lib/hyperv/.kvp_pool_1/junk'), { recursive: true });
    const ctx = ctxFor(EMPTY, root, stateWith(pools()));
    const plan = await filesStage.plan(ctx);
    expect(plan.ops.find((o) => o.details.path === '/var/lib/hyperv/.kvp_pool_1')!.summary).toMatch(/^replace the directory at \/var\/lib\/hyperv\/\.kvp_pool_1 /);
    await filesStage.apply(ctx, plan);
    expect(lstatSync(join(root, 'var/lib/hyperv/.kvp_pool_1')).isFile()).toBe(true);
    const state = stateWith(pools());
    state.providerOutputFiles![1]!.overwrite = false;
    const err = await filesStage.plan(ctxFor(EMPTY, root, state)).catch((e: Error) => e);
    expect(String(err)).toMatch(/\.kvp_pool_1: a file exists at \/var\/lib\/hyperv\/\.kvp_pool_1 and overwrite is false/);
  });

  it('entries Kindling cannot take as they are (remote contents, an owner, a bad data: URL) fail closed, naming the entry', async () => {
    const cases: [(s: IgnitionState) => void, RegExp][] = [
      [(s) => (s.providerOutputFiles![0]!.contents!.source = 'http://127.0.0.1:9/x'), /\/providerOutputFiles\/0 .*only data: contents/],
      [(s) => (s.providerOutputFiles![2]!.user = { name: 'core' }), /\/providerOutputFiles\/2 .*an owner other than root/],
      [(s) => (s.providerOutputFiles![3]!.contents!.source = 'data:;base64,@@@'), /\/providerOutputFiles\/3 .*not a valid data: URL/],
      [(s) => (s.providerOutputFiles![4]!.path = 'relative'), /\/providerOutputFiles\/4 .*path is not absolute/],
    ];
    for (const [spoil, msg] of cases) {
      const state = stateWith(pools());
      spoil(state);
      const root = tempDir();
      const err = await filesStage.plan(ctxFor(EMPTY, root, state)).catch((e: Error) => e);
      expect(String(err)).toMatch(msg);
      expect(existsSync(join(root, 'var'))).toBe(false);
    }
  });
});
