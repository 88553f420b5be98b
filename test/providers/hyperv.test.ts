// hyperv: the KVP exchange through a pseudo-terminal in raw mode standing in for /dev/vmbus/hv_kvp
// (opened blocking, so that a read waits for the next message as the driver's read does),
// the driver and host side played by kvp-host.py (messages laid out there with Python's struct),
// read by src/acquire/kvp.ts and by the built binary (-platform hyperv -stage fetch-offline).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ignitionConfigFromKvp, readKvp } from '../../src/acquire/kvp.js';
import { loadProvider } from '../../src/acquire/providers/index.js';
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

const CFG = '{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/from-kvp","contents":{"source":"data:,hyperv"}}]}}';

describe.runIf(hasPython)('Hyper-V KVP exchange (pty stand-in for /dev/vmbus/hv_kvp)', () => {
  it('reads every pair, answering each SET with HV_S_OK, and finds ignition.config in pool 0', async () => {
    const host = await startHost(['0:ignition.config=' + CFG, '0:other=1', '1:guest-key=x', '3:auto=y']);
    const pools = await readKvp({ device: host.device, idleMs: 500 });
    const r = await host.finish();
    expect(r.err).toBe('');
    expect(r.out).toContain('answered 4');
    expect(pools.get(0)).toEqual([{ key: 'ignition.config', value: CFG }, { key: 'other', value: '1' }]);
    expect(pools.get(1)).toEqual([{ key: 'guest-key', value: 'x' }]);
    expect(pools.get(3)).toEqual([{ key: 'auto', value: 'y' }]);
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
  });
});
