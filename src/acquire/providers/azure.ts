// Microsoft Azure and Azure Stack Hub.
// Azure: the instance metadata service's userData first (GET
// http://169.254.169.254/metadata/instance/compute/userData?api-version=2021-01-01&format=text with
// "Metadata: true", base64 in the body; IMDS answers 404/410/429 while it warms up, so those are
// retried like 5xx, as Azure documents and cloud-init does), then the custom data on the
// provisioning medium: the DVD /dev/disk/by-id/ata-Virtual_CD (UDF on Azure; UDF or ISO 9660 on
// Azure Stack), whose /CustomData.bin Ignition reads. When that file is absent the base64
// <CustomData> element of ovf-env.xml on the same medium is used (that is where the Azure fabric
// puts it). Nothing anywhere = no config.
import { KindlingError } from '../../errors.js';
import { endpoint } from '../env.js';
import { readMedia } from '../media.js';
import { decodeBase64Strict } from './common.js';
import type { PlatformMetadata, Provider, ProviderContext } from './types.js';

export const AZURE_IMDS_USERDATA = 'http://169.254.169.254/metadata/instance/compute/userData?api-version=2021-01-01&format=text';
const AZURE_IMDS_COMPUTE = 'http://169.254.169.254/metadata/instance/compute?api-version=2021-02-01';
export const AZURE_RETRY_CODES = [404, 410, 429];

/** The base64 text of <CustomData> (any namespace prefix) in an ovf-env.xml, decoded. */
export function customDataFromOvfEnv(xml: string): Buffer | undefined {
  const m = /<(?:[\w-]+:)?CustomData(?:\s[^>]*)?>([\s\S]*?)<\/(?:[\w-]+:)?CustomData>/.exec(xml);
  if (!m) return undefined;
  return decodeBase64Strict(Buffer.from(m[1]!.replace(/\s+/g, '')), 'the CustomData of ovf-env.xml');
}

async function fromMedia(ctx: ProviderContext, fsTypes: string[]): Promise<Buffer | null> {
  let lastErr: unknown;
  for (const fsType of fsTypes) {
    try {
      const r = await readMedia(ctx.env, {
        label: 'ata-Virtual_CD',
        byId: true,
        files: ['CustomData.bin', 'ovf-env.xml'],
        signal: ctx.signal,
        waitMs: undefined,
        fsType,
      });
      if (!r) return null;
      const bin = r.files['CustomData.bin'];
      if (bin) return bin;
      const xml = r.files['ovf-env.xml'];
      if (xml) return customDataFromOvfEnv(xml.toString('utf8')) ?? null;
      return null;
    } catch (err) {
      lastErr = err;
    }
  }
  throw new KindlingError('platform', `couldn't read the Azure provisioning medium: ${(lastErr as Error)?.message ?? 'unknown error'}`);
}

/** One IMDS GET: the Metadata header, Azure's retried statuses, -fetch-timeout. */
function imdsGet(ctx: ProviderContext, url: string) {
  return ctx.http(endpoint(ctx.env, url), {
    headers: { Metadata: 'true' },
    retryCodes: AZURE_RETRY_CODES,
    httpTotal: ctx.httpTotal,
    signal: ctx.signal,
    backoff: ctx.env.backoff,
  });
}

async function fromImds(ctx: ProviderContext): Promise<Buffer | null> {
  const r = await imdsGet(ctx, AZURE_IMDS_USERDATA);
  if (!r || r.body.length === 0) return null;
  return decodeBase64Strict(r.body, 'the IMDS userData');
}

async function azureMetadata(ctx: ProviderContext): Promise<PlatformMetadata> {
  const r = await imdsGet(ctx, AZURE_IMDS_COMPUTE);
  const c = JSON.parse(r!.body.toString('utf8')) as {
    name?: string;
    vmId?: string;
    osProfile?: { computerName?: string };
    publicKeys?: { keyData?: string }[];
  };
  return {
    hostname: c.osProfile?.computerName || c.name,
    instanceId: c.vmId,
    sshKeys: (c.publicKeys ?? []).map((k) => (k.keyData ?? '').trim()).filter(Boolean),
  };
}

export const azure: Provider = {
  name: 'azure',
  source: 'Azure IMDS userData (Metadata: true), then CustomData on the provisioning DVD (ata-Virtual_CD, UDF)',
  network: true,
  async fetch(ctx) {
    const imds = await fromImds(ctx);
    if (imds && imds.length > 0) return imds;
    ctx.env.log.info('no userData in Azure IMDS; reading custom data from the provisioning medium');
    return fromMedia(ctx, ['udf']);
  },
  metadata: azureMetadata,
};

export const azurestack: Provider = {
  name: 'azurestack',
  source: 'CustomData on the provisioning DVD (ata-Virtual_CD, UDF or ISO 9660)',
  network: false,
  fetch: (ctx) => fromMedia(ctx, ['udf', 'iso9660']),
};
