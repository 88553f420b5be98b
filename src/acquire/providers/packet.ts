// Equinix Metal (formerly Packet; Ignition's platform name is still "packet"). User data at
// https://metadata.packet.net/userdata; the service answers 406 Not Acceptable to Ignition's
// config Accept header, so "Accept: */*" is sent. Every error, 404 included, fails the fetch.
// Metadata (hostname, ssh_keys, id, phone_home_url) at https://metadata.packet.net/metadata.
// After each stage Ignition posts its outcome to the instance timeline: phone_home_url without its
// "/phone-home" suffix, plus "/events", gets {"state":"running"|"failed","message":"[stage] ..."}.
import { endpoint } from '../env.js';
import { getJson, getUserData } from './common.js';
import type { PlatformMetadata, Provider } from './types.js';

const BASE = 'https://metadata.packet.net';

export const packet: Provider = {
  name: 'packet',
  source: 'metadata service: https://metadata.packet.net/userdata (Accept: */*)',
  network: true,
  fetch: (ctx) => getUserData(ctx, `${BASE}/userdata`, { notFoundIsEmpty: false, headers: { Accept: '*/*' } }),
  async status(ctx, stage, error) {
    const m = await getJson<{ phone_home_url?: string }>(ctx, `${BASE}/metadata`, { Accept: '*/*' });
    if (!m?.phone_home_url) throw new Error('the metadata has no phone_home_url');
    const url = m.phone_home_url.replace(/\/phone-home$/, '') + '/events';
    const body = error
      ? { state: 'failed', message: `[${stage}] Ignition error: ${error.message}` }
      : { state: 'running', message: `[${stage}] Ignition status: finished successfully` };
    await ctx.http(ctx.env.metadataBase ? endpoint(ctx.env, url) : url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: '*/*' },
      body: JSON.stringify(body),
      maxAttempts: 1,
      httpTotal: ctx.httpTotal,
      signal: ctx.signal,
    });
  },
  async metadata(ctx): Promise<PlatformMetadata> {
    const m = await getJson<{ hostname?: string; id?: string; ssh_keys?: string[]; facility?: string }>(ctx, `${BASE}/metadata`, { Accept: '*/*' });
    return {
      hostname: m?.hostname,
      instanceId: m?.id,
      sshKeys: (m?.ssh_keys ?? []).map((k) => k.trim()).filter(Boolean),
      attributes: m?.facility ? { PACKET_FACILITY: m.facility } : {},
    };
  },
};

export const equinixmetal: Provider = { ...packet, name: 'equinixmetal' };
