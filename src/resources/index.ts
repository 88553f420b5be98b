// Fetching a resource named by URL: data:, http(s):, tftp:, s3:, arn:, gs:, oem://.
// Verification and decompression happen while streaming. The HTTP stack loads lazily, only when a
// URL needs it. (Bodies are filled in by the resources work; signatures are the contract.)
import type { Readable } from 'node:stream';
import { KindlingError } from '../errors.js';
import type { HttpHeader, Proxy, Resource } from '../config/types.js';

export interface FetchOptions {
  /** Seconds, from ignition.timeouts. Defaults: headers 10, total 0 (none). */
  httpResponseHeaders?: number;
  httpTotal?: number;
  proxy?: Proxy;
  /** PEM bundles from security.tls.certificateAuthorities, already fetched. */
  caCertificates?: string[];
  /** Extra headers (the resource's own httpHeaders are applied too). */
  headers?: HttpHeader[];
  /** Where oem:// URLs resolve (the mounted OEM partition). */
  oemRoot?: string;
  /** Abort everything (e.g. the fetch stage's -fetch-timeout). */
  signal?: AbortSignal;
  /** The Accept header's spec version for config fetches (Ignition sends it for configs only). */
  acceptConfigVersion?: string;
}

/** Does fetching this URL need the network? (fetch-offline uses this to decide on neednet.) */
export function needsNetwork(_source: string): boolean {
  throw new KindlingError('fetch', 'resource fetching is not implemented yet');
}

/**
 * Fetch a whole resource into memory (configs, CA bundles, key files: small things), decompressed
 * and verified against resource.verification.hash (the hash of the decompressed contents).
 */
export async function fetchResource(_resource: Resource, _opts: FetchOptions = {}): Promise<Buffer> {
  throw new KindlingError('fetch', 'resource fetching is not implemented yet');
}

/**
 * Open a resource as a stream (file contents: possibly large), decompressed on the fly; the
 * stream errors (KindlingError kind "fetch") at its end when the verification hash does not match,
 * so a caller writing to a temporary file must only rename it after the stream ended cleanly.
 */
export async function openResource(_resource: Resource, _opts: FetchOptions = {}): Promise<Readable> {
  throw new KindlingError('fetch', 'resource fetching is not implemented yet');
}
