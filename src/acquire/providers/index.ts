// The platform registry: one provider per -platform name, the names Ignition 2.14 accepts plus the
// ones newer Ignition and Flatcar added.
import { akamai } from './akamai.js';
import { aws } from './aws.js';
import { azure, azurestack } from './azure.js';
import { cloudstack } from './cloudstack.js';
import { digitalocean } from './digitalocean.js';
import { ibmcloud, kubevirt, nutanix, proxmoxve } from './drives.js';
import { file } from './file.js';
import { gcp } from './gcp.js';
import { metal } from './noop.js';
import { brightbox, openstack } from './openstack.js';
import { oraclecloud } from './oraclecloud.js';
import { equinixmetal, packet } from './packet.js';
import { qemu } from './qemu.js';
import { aliyun, exoscale, hetzner, upcloud, vultr } from './simple.js';
import type { Provider } from './types.js';
import { scaleway } from './scaleway.js';
import { hyperv, powervs, virtualbox, zvm } from './unsupported.js';
import { vmware } from './vmware.js';

const ALL: Provider[] = [
  akamai, aliyun, aws, azure, azurestack, brightbox, cloudstack, digitalocean, equinixmetal, exoscale, file, gcp, hetzner,
  hyperv, ibmcloud, kubevirt, metal, nutanix, openstack, oraclecloud, packet, powervs, proxmoxve, qemu, scaleway,
  upcloud, virtualbox, vmware, vultr, zvm,
];

const BY_NAME = new Map(ALL.map((p) => [p.name, p]));

export function getProvider(name: string): Provider | undefined {
  return BY_NAME.get(name);
}

export function providerNames(): string[] {
  return [...BY_NAME.keys()].sort();
}

export type { Provider, ProviderContext, PlatformMetadata } from './types.js';
