// Scaleway: user data at http://169.254.42.42/user_data/cloud-init (IPv4) or
// http://[fd00:42::42]/user_data/cloud-init (IPv6), both asked at once, first answer wins, as
// Ignition's FetchConfigDualStack. For security the service only answers requests from a source
// port below 1024 (Ignition picks a random one in 1..1022), so this provider makes its own
// requests with node:http's localPort instead of the shared client; it needs root (or
// CAP_NET_BIND_SERVICE), which the initrd has. Connection errors and 5xx are retried with
// Ignition's backoff until -fetch-timeout; 404 = no config.
import { KindlingError } from '../../errors.js';
import { NeedNetError } from '../errors.js';
import { endpoint } from '../env.js';
import { delay } from '../media.js';
import type { Provider, ProviderContext } from './types.js';

export const SCALEWAY_URLS = ['http://169.254.42.42/user_data/cloud-init', 'http://[fd00:42::42]/user_data/cloud-init'];

async function once(url: string, signal: AbortSignal): Promise<{ status: number; body: Buffer }> {
  const http = await import(/* webpackMode: "eager" */ 'node:http');
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'GET', localPort: 1 + Math.floor(Math.random() * 1022), signal, headers: { 'User-Agent': 'Ignition (Kindling)', 'Accept-Encoding': 'identity' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no response headers within 10 s')));
    req.on('error', reject);
    req.end();
  });
}

async function fetchOne(ctx: ProviderContext, url: string, signal: AbortSignal): Promise<Buffer | null> {
  let wait = ctx.env.backoff?.initialMs ?? 200;
  const max = ctx.env.backoff?.maxMs ?? 5000;
  let last = '';
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new KindlingError('fetch', `${url}: gave up after ${attempt - 1} attempts; last error: ${last}`);
    try {
      const r = await once(url, signal);
      if (r.status === 200 || r.status === 204) return r.body;
      if (r.status === 404) return null;
      if (r.status < 500) throw new KindlingError('fetch', `${url}: HTTP ${r.status}`);
      last = `HTTP ${r.status}`;
    } catch (err) {
      if (err instanceof KindlingError) throw err;
      last = (err as Error).message;
      // EADDRINUSE on the random low port: just try another one.
    }
    try {
      await delay(wait, signal);
    } catch {
      throw new KindlingError('fetch', `${url}: gave up after ${attempt} attempts; last error: ${last}`);
    }
    wait = Math.min(wait * 2, max);
  }
}

export const scaleway: Provider = {
  name: 'scaleway',
  source: 'metadata service: http://169.254.42.42/user_data/cloud-init or http://[fd00:42::42]/... (source port < 1024)',
  network: true,
  async fetch(ctx) {
    if (ctx.offline) throw new NeedNetError('the Scaleway provider');
    const race = new AbortController();
    const onOuter = () => race.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onOuter, { once: true });
    // With an injected base (tests) both stacks collapse onto it: ask it once.
    const urls = ctx.env.metadataBase ? [endpoint(ctx.env, SCALEWAY_URLS[0]!)] : SCALEWAY_URLS;
    const attempts = urls.map((u) => fetchOne(ctx, u, race.signal));
    try {
      return await Promise.any(attempts);
    } catch (err) {
      const errs = err instanceof AggregateError ? err.errors : [err];
      throw new KindlingError('fetch', `couldn't fetch the Scaleway user data: ${errs.map((e) => (e as Error).message).join('; ')}`);
    } finally {
      race.abort(new Error('done'));
      ctx.signal.removeEventListener('abort', onOuter);
      await Promise.allSettled(attempts);
    }
  },
};
