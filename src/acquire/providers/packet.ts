// Equinix Metal (formerly Packet; Ignition's platform name is still "packet"). User data at
// https://metadata.packet.net/userdata; the service answers 406 Not Acceptable to Ignition's
// config Accept header, so "Accept: */*" is sent. Every error, 404 included, fails the fetch.
// Metadata (hostname, ssh_keys, id, phone_home_url) at https://metadata.packet.net/metadata.
import { getJson, getUserData } from './common.js';
import type { PlatformMetadata, Provider } from './types.js';

const BASE = 'https://metadata.packet.net';

export const packet: Provider = {
  name: 'packet',
  source: 'metadata service: https://metadata.packet.net/userdata (Accept: */*)',
  network: true,
  fetch: (ctx) => getUserData(ctx, `${BASE}/userdata`, { notFoundIsEmpty: false, headers: { Accept: '*/*' } }),
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
