// Platform metadata readers (hostname, SSH keys, instance id, a few attributes) from the same
// metadata service the provider uses. No stage calls them: Ignition does not read metadata, and
// /run/metadata/flatcar is written in the booted system by Flatcar's coreos-metadata.service
// (afterburn --attributes=/run/metadata/flatcar), not by Ignition, so Kindling writes no such
// file either (docs/acquire.md). They remain a library for tools built on Kindling.
import { KindlingError } from '../errors.js';
import type { AcquireEnv } from './env.js';
import { makeHttpClient } from './http.js';
import { loadProvider } from './providers/index.js';
import type { PlatformMetadata } from './providers/types.js';

/** Platforms with a metadata() reader: aws, gcp, azure, openstack (brightbox), digitalocean, packet. */
export async function fetchPlatformMetadata(platform: string, env: AcquireEnv, timeoutMs = 30_000): Promise<PlatformMetadata> {
  const p = await loadProvider(platform);
  if (!p?.metadata) throw new KindlingError('platform', `no metadata reader for the ${platform} platform`);
  return p.metadata({ env, offline: false, signal: AbortSignal.timeout(timeoutMs), httpTotal: timeoutMs / 1000, http: makeHttpClient(false) });
}
