// Akamai Connected Cloud (Linode): a token first (PUT http://169.254.169.254/v1/token with
// "Metadata-Token-Expiry-Seconds: 300", "Accept: text/plain"), then GET /v1/user-data with
// "Metadata-Token" and "Accept: */*"; the body is base64. fetch-offline signals neednet at once,
// as Ignition does. Errors (404 included) fail the fetch.
import { KindlingError } from '../../errors.js';
import { NeedNetError } from '../errors.js';
import { endpoint } from '../env.js';
import { decodeBase64Strict, getUserData } from './common.js';
import type { Provider } from './types.js';

export const akamai: Provider = {
  name: 'akamai',
  source: 'metadata service: PUT http://169.254.169.254/v1/token, then /v1/user-data (base64)',
  network: true,
  async fetch(ctx) {
    if (ctx.offline) throw new NeedNetError('the Akamai provider');
    const t = await ctx.http(endpoint(ctx.env, 'http://169.254.169.254/v1/token'), {
      method: 'PUT',
      headers: { Accept: 'text/plain', 'Metadata-Token-Expiry-Seconds': '300' },
      httpTotal: ctx.httpTotal,
      signal: ctx.signal,
      backoff: ctx.env.backoff,
    });
    const token = t?.body.toString('utf8').trim();
    if (!token) throw new KindlingError('platform', 'the Akamai metadata service returned an empty token');
    const data = await getUserData(ctx, 'http://169.254.169.254/v1/user-data', {
      headers: { Accept: '*/*', 'Metadata-Token': token },
      notFoundIsEmpty: false,
    });
    return data === null ? null : decodeBase64Strict(data, 'the Akamai user data');
  },
};
