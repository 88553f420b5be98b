// OpenStack (and Brightbox, which Ignition serves with the same provider). Ignition races the
// config drive (filesystem label config-2 or CONFIG-2, file /openstack/latest/user_data) against
// the metadata service (http://169.254.169.254/openstack/latest/user_data, 404 = no config) and
// takes whichever answers first; a config drive that is already attached answers at once, so it
// wins in practice. fetch-offline always signals neednet here, as Ignition does (its issue #1081:
// the "split personality" makes an offline answer unreliable).
import { KindlingError } from '../../errors.js';
import { NeedNetError } from '../errors.js';
import { readMedia } from '../media.js';
import { getJson, getUserData } from './common.js';
import type { PlatformMetadata, Provider, ProviderContext } from './types.js';

const MD = 'http://169.254.169.254/openstack/latest';
const DRIVE_FILE = 'openstack/latest/user_data';

async function fromDrive(ctx: ProviderContext, label: string, signal: AbortSignal): Promise<Buffer | null> {
  const r = await readMedia(ctx.env, { label, files: [DRIVE_FILE, 'openstack/latest/meta_data.json'], waitMs: ctx.env.deviceWaitMs, signal });
  if (!r) throw new KindlingError('platform', `config drive ${label} did not appear`);
  return r.files[DRIVE_FILE] ?? null;
}

export const openstack: Provider = {
  name: 'openstack',
  source: 'config drive (label config-2/CONFIG-2: /openstack/latest/user_data), or http://169.254.169.254/openstack/latest/user_data, whichever answers first',
  network: true,
  async fetch(ctx) {
    if (ctx.offline) throw new NeedNetError('the OpenStack provider');
    const race = new AbortController();
    const onOuter = () => race.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onOuter, { once: true });
    const sub = { ...ctx, signal: race.signal };
    const attempts: Promise<Buffer | null>[] = [
      fromDrive(sub, 'config-2', race.signal),
      fromDrive(sub, 'CONFIG-2', race.signal),
      getUserData(sub, `${MD}/user_data`, { notFoundIsEmpty: true }),
    ];
    try {
      return await Promise.any(attempts);
    } catch (err) {
      const errs = err instanceof AggregateError ? err.errors : [err];
      ctx.env.log.info(`couldn't fetch the OpenStack config: ${errs.map((e) => (e as Error).message).join('; ')}`);
      if (ctx.signal.aborted) throw errs[errs.length - 1];
      // Ignition: neither answered -> ParseConfig(nil) -> no config.
      return null;
    } finally {
      race.abort(new Error('another source answered first'));
      ctx.signal.removeEventListener('abort', onOuter);
      await Promise.allSettled(attempts);
    }
  },
  async metadata(ctx): Promise<PlatformMetadata> {
    const m = await getJson<{ hostname?: string; uuid?: string; public_keys?: Record<string, string> }>(ctx, `${MD}/meta_data.json`);
    return {
      hostname: m?.hostname,
      instanceId: m?.uuid,
      sshKeys: Object.values(m?.public_keys ?? {}).map((k) => k.trim()).filter(Boolean),
    };
  },
};

export const brightbox: Provider = { ...openstack, name: 'brightbox' };
