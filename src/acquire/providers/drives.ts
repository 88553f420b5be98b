// Providers whose user data sits on a config drive found by filesystem label.
//  - ibmcloud (VPC): label "cidata", file /user-data; waits up to 30 s, then no config.
//  - proxmoxve: label "cidata", /user-data then /vendor-data; a cloud-config is skipped and only
//    valid JSON is taken (Ignition's proxmoxve provider); waits up to 30 s, then no config.
//  - kubevirt, nutanix and powervs (IBM Power Virtual Server): label "config-2",
//    /openstack/latest/user_data, mounted read-only (-t auto); a missing file is no config; Ignition
//    waits for the drive without limit (it is always attached there); here the wait ends with
//    -fetch-timeout.
import { KindlingError } from '../../errors.js';
import { readMedia } from '../media.js';
import type { Provider, ProviderContext } from './types.js';

async function drive(ctx: ProviderContext, label: string, files: string[], waitMs: number | undefined): Promise<Record<string, Buffer | undefined> | null> {
  const r = await readMedia(ctx.env, { label, files, waitMs, signal: ctx.signal });
  if (!r) {
    ctx.env.log.info(`${label} drive was not available in time. Continuing without a config...`);
    return null;
  }
  return r.files;
}

export const ibmcloud: Provider = {
  name: 'ibmcloud',
  source: 'config drive labelled cidata: /user-data (30 s wait)',
  network: false,
  async fetch(ctx) {
    const f = await drive(ctx, 'cidata', ['user-data'], ctx.env.deviceWaitMs);
    return f?.['user-data'] ?? null;
  },
};

export const proxmoxve: Provider = {
  name: 'proxmoxve',
  source: 'config drive labelled cidata: /user-data, else /vendor-data (JSON only; cloud-config skipped)',
  network: false,
  async fetch(ctx) {
    const f = await drive(ctx, 'cidata', ['user-data', 'vendor-data'], ctx.env.deviceWaitMs);
    for (const name of ['user-data', 'vendor-data']) {
      const b = f?.[name];
      if (!b) continue;
      if (b.subarray(0, 14).toString('latin1') === '#cloud-config\n') {
        ctx.env.log.info(`config drive file ${name} is a cloud-config; ignoring it`);
        continue;
      }
      try {
        JSON.parse(b.toString('utf8'));
        return b;
      } catch {
        ctx.env.log.info(`config drive file ${name} is not JSON; ignoring it`);
      }
    }
    return null;
  },
};

function configTwo(name: string): Provider {
  return {
    name,
    source: 'config drive labelled config-2: /openstack/latest/user_data (waits for the drive)',
    network: false,
    async fetch(ctx) {
      const f = await drive(ctx, 'config-2', ['openstack/latest/user_data'], undefined).catch((err) => {
        if (ctx.signal.aborted) throw new KindlingError('platform', `config drive config-2 did not appear before the fetch timeout`);
        throw err;
      });
      return f?.['openstack/latest/user_data'] ?? null;
    },
  };
}

export const kubevirt = configTwo('kubevirt');
export const nutanix = configTwo('nutanix');
export const powervs = configTwo('powervs');
