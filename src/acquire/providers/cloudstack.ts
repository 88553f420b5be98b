// Apache CloudStack: the config drive (label config-2 or CONFIG-2, file
// /cloudstack/userdata/user_data.txt) raced against the metadata service on the DHCP server
// (SERVER_ADDRESS in systemd-networkd's /run/systemd/netif/leases/<ifindex>, then
// http://ADDR/latest/user-data, 404 = no config). fetch-offline signals neednet at once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KindlingError } from '../../errors.js';
import { NeedNetError } from '../errors.js';
import { delay, readMedia } from '../media.js';
import { getUserData } from './common.js';
import type { Provider, ProviderContext } from './types.js';

const DRIVE_FILE = 'cloudstack/userdata/user_data.txt';

export function dhcpServerFromLeases(dir: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const n of names.sort()) {
    const text = readFileSync(join(dir, n), 'utf8');
    for (const line of text.split('\n')) {
      const [k, v] = line.split('=');
      if (k === 'SERVER_ADDRESS' && v) return v.trim();
    }
  }
  return undefined;
}

async function fromMetadata(ctx: ProviderContext): Promise<Buffer | null> {
  const leases = ctx.env.vars.KINDLING_NETIF_LEASES_DIR || '/run/systemd/netif/leases';
  let addr: string | undefined;
  while (!(addr = dhcpServerFromLeases(leases))) await delay(500, ctx.signal);
  return getUserData(ctx, `http://${addr}/latest/user-data`, { notFoundIsEmpty: true });
}

async function fromDrive(ctx: ProviderContext, label: string): Promise<Buffer | null> {
  const r = await readMedia(ctx.env, { label, files: [DRIVE_FILE], signal: ctx.signal, waitMs: ctx.env.deviceWaitMs });
  if (!r) throw new KindlingError('platform', `config drive ${label} did not appear`);
  return r.files[DRIVE_FILE] ?? null;
}

export const cloudstack: Provider = {
  name: 'cloudstack',
  source: 'config drive (config-2/CONFIG-2: /cloudstack/userdata/user_data.txt) or http://DHCP-SERVER/latest/user-data',
  network: true,
  async fetch(ctx) {
    if (ctx.offline) throw new NeedNetError('the CloudStack provider');
    const race = new AbortController();
    const onOuter = () => race.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onOuter, { once: true });
    const sub = { ...ctx, signal: race.signal };
    const attempts = [fromDrive(sub, 'config-2'), fromDrive(sub, 'CONFIG-2'), fromMetadata(sub)];
    try {
      return await Promise.any(attempts);
    } catch {
      ctx.env.log.info("couldn't fetch config");
      return null;
    } finally {
      race.abort(new Error('another source answered first'));
      ctx.signal.removeEventListener('abort', onOuter);
      await Promise.allSettled(attempts);
    }
  },
};
