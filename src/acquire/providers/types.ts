// The one interface every platform provider implements.
//
// fetch() returns the raw user data (bytes, possibly empty), and the caller parses it; it throws
//  - NoProviderError when the platform has nothing to offer here (Ignition's ErrNoProvider),
//  - NeedNetError when ctx.offline and the source needs the network (fetch-offline then signals
//    neednet),
//  - KindlingError('platform' | 'fetch') with a readable sentence for anything else.
// A provider decides "no config" (null or empty bytes) exactly where Ignition does: e.g. AWS, GCP
// and the others that ignore ErrNotFound treat a 404 as no config; DigitalOcean and Packet do not.
import type { AcquireEnv } from '../env.js';
import type { HttpClient } from '../http.js';
import type { IgnitionState } from '../state.js';

export interface ProviderContext {
  env: AcquireEnv;
  /** fetch-offline: do not touch the network. */
  offline: boolean;
  /** Ends every wait: the fetch stage's -fetch-timeout. */
  signal: AbortSignal;
  /** Seconds: Ignition applies -fetch-timeout as timeouts.httpTotal of the provider's fetches. */
  httpTotal?: number;
  http: HttpClient;
  /** The stage's state (saved to -state-file): a provider may hand files to the files stage there. */
  state?: IgnitionState;
}

/** What Flatcar's afterburn-like consumers read from a metadata service. */
export interface PlatformMetadata {
  hostname?: string;
  sshKeys?: string[];
  instanceId?: string;
  /** Other facts by the names coreos-metadata (afterburn) writes to /run/metadata/flatcar. */
  attributes?: Record<string, string>;
}

export interface Provider {
  /** The -platform name. */
  name: string;
  /** One sentence for the README: where the config comes from. */
  source: string;
  /** Whether fetching may need the network (true: fetch-offline signals neednet at once). */
  network: boolean;
  fetch(ctx: ProviderContext): Promise<Buffer | null>;
  /** Reports a stage's outcome to the platform after it ran (Ignition's Status; Equinix Metal's timeline). */
  status?(ctx: ProviderContext, stage: string, error?: Error): Promise<void>;
  /** Hostname and SSH keys, where Flatcar consumes them. */
  metadata?(ctx: ProviderContext): Promise<PlatformMetadata>;
}
