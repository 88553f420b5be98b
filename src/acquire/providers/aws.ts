// Amazon EC2 (Ignition's "aws"; Flatcar's oem id "ec2"). The instance metadata service at
// 169.254.169.254: IMDSv2 first (PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds,
// then the token in X-aws-ec2-metadata-token), falling back to IMDSv1 (no token) when the token
// PUT is refused or not answered, as the AWS SDK Ignition uses does. User data at
// /2019-10-01/user-data (the path in Ignition's aws provider); 404 = no user data = empty config.
import { KindlingError } from '../../errors.js';
import { FetchError } from '../../resources/errors.js';
import { endpoint } from '../env.js';
import { NeedNetError } from '../errors.js';
import { getText, getUserData } from './common.js';
import type { PlatformMetadata, Provider, ProviderContext } from './types.js';

const BASE = 'http://169.254.169.254';
export const AWS_TOKEN_PATH = '/latest/api/token';
export const AWS_USERDATA_PATH = '/2019-10-01/user-data';

async function imdsToken(ctx: ProviderContext): Promise<string | undefined> {
  try {
    const r = await ctx.http(endpoint(ctx.env, BASE + AWS_TOKEN_PATH), {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' },
      // A host that only speaks IMDSv1 answers 403/404/405 at once; one with IMDS blocked for PUT
      // never answers: a few attempts, then IMDSv1.
      maxAttempts: 3,
      httpResponseHeaders: 2,
      httpTotal: ctx.httpTotal,
      signal: ctx.signal,
      backoff: ctx.env.backoff,
    });
    const t = r?.body.toString('utf8').trim();
    return t ? t : undefined;
  } catch (err) {
    if (ctx.signal.aborted || err instanceof NeedNetError) throw err;
    if (err instanceof FetchError || err instanceof KindlingError) {
      ctx.env.log.info(`IMDSv2 token not available (${err.message}); falling back to IMDSv1`);
      return undefined;
    }
    throw err;
  }
}

function tokenHeaders(token: string | undefined): Record<string, string> | undefined {
  return token ? { 'X-aws-ec2-metadata-token': token } : undefined;
}

export const aws: Provider = {
  name: 'aws',
  source: 'EC2 instance metadata service (IMDSv2, IMDSv1 fallback): http://169.254.169.254/2019-10-01/user-data',
  network: true,
  async fetch(ctx) {
    const token = await imdsToken(ctx);
    return getUserData(ctx, BASE + AWS_USERDATA_PATH, { headers: tokenHeaders(token), notFoundIsEmpty: true });
  },
  async metadata(ctx): Promise<PlatformMetadata> {
    const token = await imdsToken(ctx);
    const h = tokenHeaders(token);
    const md = `${BASE}/2019-10-01/meta-data`;
    const keys: string[] = [];
    const list = await getText(ctx, `${md}/public-keys`, h);
    for (const line of (list ?? '').split('\n')) {
      const idx = line.split('=')[0]?.trim();
      if (!idx) continue;
      const k = await getText(ctx, `${md}/public-keys/${idx}/openssh-key`, h);
      if (k) keys.push(k);
    }
    const attributes: Record<string, string> = {};
    for (const [name, path] of [
      ['AWS_INSTANCE_ID', 'instance-id'],
      ['AWS_INSTANCE_TYPE', 'instance-type'],
      ['AWS_IPV4_LOCAL', 'local-ipv4'],
      ['AWS_IPV4_PUBLIC', 'public-ipv4'],
      ['AWS_AVAILABILITY_ZONE', 'placement/availability-zone'],
      ['AWS_HOSTNAME', 'hostname'],
      ['AWS_PUBLIC_HOSTNAME', 'public-hostname'],
    ] as const) {
      const v = await getText(ctx, `${md}/${path}`, h);
      if (v) attributes[name] = v;
    }
    return { hostname: attributes.AWS_HOSTNAME, instanceId: attributes.AWS_INSTANCE_ID, sshKeys: keys, attributes };
  },
};
