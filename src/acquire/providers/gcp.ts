// Google Compute Engine (Ignition's "gcp"; Flatcar's oem id "gce"). The metadata server answers
// only requests carrying "Metadata-Flavor: Google". User data is the instance attribute
// "user-data"; 404 = no config. Hostname and SSH keys as afterburn reads them: instance/hostname
// and the "ssh-keys" attributes of the instance and the project ("user:key" per line).
import { getText, getUserData } from './common.js';
import type { PlatformMetadata, Provider } from './types.js';

const BASE = 'http://metadata.google.internal/computeMetadata/v1';
const H = { 'Metadata-Flavor': 'Google' };

export const gcp: Provider = {
  name: 'gcp',
  source: 'GCE metadata server: http://metadata.google.internal/computeMetadata/v1/instance/attributes/user-data (Metadata-Flavor: Google)',
  network: true,
  fetch(ctx) {
    return getUserData(ctx, `${BASE}/instance/attributes/user-data`, { headers: H, notFoundIsEmpty: true });
  },
  async metadata(ctx): Promise<PlatformMetadata> {
    const hostname = await getText(ctx, `${BASE}/instance/hostname`, H);
    const keys: string[] = [];
    const block = await getText(ctx, `${BASE}/instance/attributes/block-project-ssh-keys`, H);
    const sources = [`${BASE}/instance/attributes/ssh-keys`];
    if (block !== 'true') sources.push(`${BASE}/project/attributes/ssh-keys`);
    for (const u of sources) {
      for (const line of ((await getText(ctx, u, H)) ?? '').split('\n')) {
        const colon = line.indexOf(':');
        const key = colon === -1 ? line.trim() : line.slice(colon + 1).trim();
        if (key) keys.push(key);
      }
    }
    const id = await getText(ctx, `${BASE}/instance/id`, H);
    return { hostname, sshKeys: keys, instanceId: id, attributes: hostname ? { GCE_HOSTNAME: hostname } : {} };
  },
};
