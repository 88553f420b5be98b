// The platform registry: one provider per -platform name, the names Ignition 2.14 accepts plus the
// ones newer Ignition and Flatcar added. Each provider module is loaded only when its platform is
// the one asked for: an eager import() keeps the module inside the one bundle file, but its code
// runs only when the import is reached (docs/startup.md). Names are known without loading anything.
import type { Provider } from './types.js';

type Loader = () => Promise<Provider>;

const LOADERS: Record<string, Loader> = {
  akamai: async () => (await import(/* webpackMode: "eager" */ './akamai.js')).akamai,
  aliyun: async () => (await import(/* webpackMode: "eager" */ './simple.js')).aliyun,
  aws: async () => (await import(/* webpackMode: "eager" */ './aws.js')).aws,
  azure: async () => (await import(/* webpackMode: "eager" */ './azure.js')).azure,
  azurestack: async () => (await import(/* webpackMode: "eager" */ './azure.js')).azurestack,
  brightbox: async () => (await import(/* webpackMode: "eager" */ './openstack.js')).brightbox,
  cloudstack: async () => (await import(/* webpackMode: "eager" */ './cloudstack.js')).cloudstack,
  digitalocean: async () => (await import(/* webpackMode: "eager" */ './digitalocean.js')).digitalocean,
  equinixmetal: async () => (await import(/* webpackMode: "eager" */ './packet.js')).equinixmetal,
  exoscale: async () => (await import(/* webpackMode: "eager" */ './simple.js')).exoscale,
  file: async () => (await import(/* webpackMode: "eager" */ './file.js')).file,
  gcp: async () => (await import(/* webpackMode: "eager" */ './gcp.js')).gcp,
  hetzner: async () => (await import(/* webpackMode: "eager" */ './simple.js')).hetzner,
  hyperv: async () => (await import(/* webpackMode: "eager" */ './hyperv.js')).hyperv,
  ibmcloud: async () => (await import(/* webpackMode: "eager" */ './drives.js')).ibmcloud,
  kubevirt: async () => (await import(/* webpackMode: "eager" */ './drives.js')).kubevirt,
  metal: async () => (await import(/* webpackMode: "eager" */ './noop.js')).metal,
  nutanix: async () => (await import(/* webpackMode: "eager" */ './drives.js')).nutanix,
  openstack: async () => (await import(/* webpackMode: "eager" */ './openstack.js')).openstack,
  oraclecloud: async () => (await import(/* webpackMode: "eager" */ './oraclecloud.js')).oraclecloud,
  packet: async () => (await import(/* webpackMode: "eager" */ './packet.js')).packet,
  powervs: async () => (await import(/* webpackMode: "eager" */ './drives.js')).powervs,
  proxmoxve: async () => (await import(/* webpackMode: "eager" */ './drives.js')).proxmoxve,
  qemu: async () => (await import(/* webpackMode: "eager" */ './qemu.js')).qemu,
  scaleway: async () => (await import(/* webpackMode: "eager" */ './scaleway.js')).scaleway,
  upcloud: async () => (await import(/* webpackMode: "eager" */ './simple.js')).upcloud,
  virtualbox: async () => (await import(/* webpackMode: "eager" */ './virtualbox.js')).virtualbox,
  vmware: async () => (await import(/* webpackMode: "eager" */ './vmware.js')).vmware,
  vultr: async () => (await import(/* webpackMode: "eager" */ './simple.js')).vultr,
  zvm: async () => (await import(/* webpackMode: "eager" */ './zvm.js')).zvm,
};

const NAMES = Object.keys(LOADERS).sort();

/** Every -platform name (nothing is loaded). */
export function providerNames(): string[] {
  return [...NAMES];
}

export function isProviderName(name: string): boolean {
  return Object.hasOwn(LOADERS, name);
}

/** The provider of one platform, its module loaded on first use; undefined for an unknown name. */
export async function loadProvider(name: string): Promise<Provider | undefined> {
  return isProviderName(name) ? LOADERS[name]!() : undefined;
}

export type { Provider, ProviderContext, PlatformMetadata } from './types.js';
