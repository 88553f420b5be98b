// What boot-time metadata services do wrong, and what Kindling must do about it: retry through a
// burst of 5xx and through reset connections, wait out slow headers, succeed when the service comes
// up 10 s late, and fail within -fetch-timeout with a readable sentence when it never comes up.
import { afterEach, describe, expect, it } from 'vitest';
import { loadProvider } from '../../src/acquire/providers/index.js';
import { makeHttpClient } from '../../src/acquire/http.js';
import { freePort, startFake, type FakeServer } from './fake-metadata.js';
import { providerCtx, scratch, testEnv } from './helpers.js';

const CFG = '{"ignition":{"version":"3.3.0"}}';
let servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('metadata service faults', () => {
  it('retries a burst of five 503s and then succeeds', async () => {
    const s = await startFake({ '/computeMetadata/v1/instance/attributes/user-data': { body: CFG, failFirst: { count: 5, status: 503 } } });
    servers.push(s);
    const env = testEnv(scratch(), { metadataBase: s.url });
    expect((await (await loadProvider('gcp'))!.fetch(providerCtx(env)))?.toString()).toBe(CFG);
    expect(s.hits('/computeMetadata/v1/instance/attributes/user-data')).toBe(6);
  });

  it('retries connections reset before the answer', async () => {
    const s = await startFake({ '/1.0/user-data': { body: CFG, resetFirst: 3 } });
    servers.push(s);
    const env = testEnv(scratch(), { metadataBase: s.url });
    expect((await (await loadProvider('exoscale'))!.fetch(providerCtx(env)))?.toString()).toBe(CFG);
    expect(s.hits('/1.0/user-data')).toBe(4);
  });

  it('gives up on headers that come too late and retries (response-header timeout per attempt)', async () => {
    const s = await startFake({ '/slow': { body: 'ok', slowFirst: { count: 1, ms: 1500 } } });
    servers.push(s);
    const http = makeHttpClient(false);
    const t0 = Date.now();
    const r = await http(`${s.url}/slow`, { httpResponseHeaders: 0.5, backoff: { initialMs: 20 }, httpTotal: 10 });
    expect(r?.body.toString()).toBe('ok');
    expect(s.hits('/slow')).toBe(2);
    expect(Date.now() - t0).toBeLessThan(1400);
  });

  it('a metadata service that comes up 10 s after boot: the fetch waits and succeeds', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const s = await startFake({ '/latest/user-data': { body: CFG } }, { port, delayMs: 10_000 });
    servers.push(s);
    const env = testEnv(scratch(), { metadataBase: `http://127.0.0.1:${port}`, backoff: { initialMs: 200, maxMs: 1000 } });
    const data = await (await loadProvider('aliyun'))!.fetch(providerCtx(env, { timeoutMs: 30_000 }));
    expect(data?.toString()).toBe(CFG);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(10_000);
    expect(Date.now() - t0).toBeLessThan(13_000);
  }, 30_000);

  it('a metadata service that never comes up: a bounded failure that says what and why', async () => {
    const port = await freePort();
    const env = testEnv(scratch(), { metadataBase: `http://127.0.0.1:${port}` });
    const t0 = Date.now();
    const err = await (await loadProvider('hetzner'))!
      .fetch(providerCtx(env, { timeoutMs: 2000 }))
      .then(() => undefined, (e: Error) => e);
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/127\.0\.0\.1:\d+\/hetzner\/v1\/userdata/);
    expect(err!.message).toMatch(/connection refused/);
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(4000);
  });
});
