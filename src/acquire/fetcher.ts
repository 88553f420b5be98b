// What a platform adds to every fetch, as Ignition's platform NewFetcher/Init do for each stage:
//  - aws: the S3 client signs with the instance's IAM role credentials (from IMDS, IMDSv2 token
//    first) and asks IMDS for the instance's region as the bucket-region hint (us-east-1 with a
//    warning when IMDS does not say); when the role cannot be had, S3 is tried anonymously;
//  - every other platform: S3 is anonymous (Ignition builds an anonymous AWS config there).
// The credentials and the region are looked up on the first s3:// or arn: fetch only (a stage
// that fetches nothing from S3 does not ask IMDS), then reused for the process.
// Test and debugging knobs: KINDLING_METADATA_BASE (the IMDS origin, as for the provider) and
// KINDLING_S3_ENDPOINT (a base URL replacing AWS's S3 hosts, path-style).
import type { FetchOptions } from '../resources/index.js';

/** metadataBase: the acquisition environment's (default: KINDLING_METADATA_BASE from vars). */
export function platformFetchOptions(platform: string, vars: NodeJS.ProcessEnv = process.env, metadataBase = vars.KINDLING_METADATA_BASE): FetchOptions {
  const endpoint = vars.KINDLING_S3_ENDPOINT || undefined;
  if (platform === 'aws') {
    return { s3: { instanceCredentials: true, imdsBase: metadataBase ? new URL(metadataBase).origin : undefined, endpoint } };
  }
  return endpoint ? { s3: { endpoint } } : {};
}
