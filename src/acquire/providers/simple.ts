// The providers that are one GET of a user-data URL on a link-local metadata service. Endpoints and
// the "404 = no config" rule are those of Ignition's providers of the same name.
import { getUserData } from './common.js';
import type { Provider } from './types.js';

function simple(name: string, url: string, notFoundIsEmpty: boolean, extra: Partial<Provider> = {}): Provider {
  return {
    name,
    source: `metadata service: ${url}${notFoundIsEmpty ? ' (404 = no config)' : ''}`,
    network: true,
    fetch: (ctx) => getUserData(ctx, url, { notFoundIsEmpty }),
    ...extra,
  };
}

export const aliyun = simple('aliyun', 'http://100.100.100.200/latest/user-data', true);
export const exoscale = simple('exoscale', 'http://169.254.169.254/1.0/user-data', true);
export const vultr = simple('vultr', 'http://169.254.169.254/user-data/user-data', true);
export const hetzner = simple('hetzner', 'http://169.254.169.254/hetzner/v1/userdata', true);
export const upcloud = simple('upcloud', 'http://169.254.169.254/metadata/v1/user_data', true);
