// Platform metadata for what Flatcar runs after Ignition (coreos-metadata / afterburn): hostname,
// SSH keys, instance id, and a few attributes, fetched from the same metadata service the provider
// uses. formatMetadataEnv renders them as afterburn's /run/metadata/flatcar environment file
// (KEY=value lines), which flatcar-metadata-hostname.service and friends read.
import { KindlingError } from '../errors.js';
import type { AcquireEnv } from './env.js';
import { makeHttpClient } from './http.js';
import { getProvider } from './providers/index.js';
import type { PlatformMetadata } from './providers/types.js';

/** Platforms with a metadata() reader: aws, gcp, azure, openstack (brightbox), digitalocean, packet. */
export async function fetchPlatformMetadata(platform: string, env: AcquireEnv, timeoutMs = 30_000): Promise<PlatformMetadata> {
  const p = getProvider(platform);
  if (!p?.metadata) throw new KindlingError('platform', `no metadata reader for the ${platform} platform`);
  return p.metadata({ env, offline: false, signal: AbortSignal.timeout(timeoutMs), httpTotal: timeoutMs / 1000, http: makeHttpClient(false) });
}

const PREFIX: Record<string, string> = { aws: 'AWS', gcp: 'GCE', azure: 'AZURE', openstack: 'OPENSTACK', brightbox: 'OPENSTACK', digitalocean: 'DIGITALOCEAN', packet: 'PACKET', equinixmetal: 'PACKET' };

export function formatMetadataEnv(platform: string, m: PlatformMetadata): string {
  const pre = PREFIX[platform] ?? platform.toUpperCase();
  const lines: Record<string, string> = { ...(m.attributes ?? {}) };
  if (m.hostname) lines[`${pre}_HOSTNAME`] = m.hostname;
  if (m.instanceId) lines[`${pre}_INSTANCE_ID`] = m.instanceId;
  return Object.entries(lines)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
    .concat(Object.keys(lines).length ? '\n' : '');
}
