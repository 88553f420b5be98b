// DigitalOcean: http://169.254.169.254/metadata/v1/user-data. Unlike most providers Ignition does
// not forgive a 404 here: every error, 404 included, fails the fetch. Metadata from
// /metadata/v1.json (hostname, droplet_id, public_keys), which Flatcar's coreos-metadata reads.
import { getJson, getUserData } from './common.js';
import type { PlatformMetadata, Provider } from './types.js';

const BASE = 'http://169.254.169.254/metadata/v1';

export const digitalocean: Provider = {
  name: 'digitalocean',
  source: 'metadata service: http://169.254.169.254/metadata/v1/user-data (404 is an error)',
  network: true,
  fetch: (ctx) => getUserData(ctx, `${BASE}/user-data`, { notFoundIsEmpty: false }),
  async metadata(ctx): Promise<PlatformMetadata> {
    const m = await getJson<{ hostname?: string; droplet_id?: number; public_keys?: string[]; region?: string }>(ctx, `${BASE}.json`);
    return {
      hostname: m?.hostname,
      instanceId: m?.droplet_id !== undefined ? String(m.droplet_id) : undefined,
      sshKeys: (m?.public_keys ?? []).map((k) => k.trim()).filter(Boolean),
      attributes: m?.region ? { DIGITALOCEAN_REGION: m.region } : {},
    };
  },
};
