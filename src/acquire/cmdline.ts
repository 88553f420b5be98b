// The kernel command line, read the way Ignition and Flatcar's initrd read it.
//  - Ignition's cmdline provider (internal/providers/cmdline): ignition.config.url=URL, or the pair
//    ignition.config.device=LABEL + ignition.config.path=PATH (newer Ignition), last one wins,
//    empty values ignored. The path comes from IGNITION_KERNEL_CMDLINE_PATH when set (the blackbox
//    tests' "kernel-cmdline-file" cases) and /proc/cmdline otherwise.
//  - Flatcar and CoreOS Container Linux also accept flatcar.config.url= and coreos.config.url=
//    (the legacy names Container Linux documented); ignition.config.url wins over them.
//  - ignition.platform.id= (what dracut's ignition-generator turns into PLATFORM_ID), and Flatcar's
//    flatcar.oem.id= / coreos.oem.id= mapped to platform names the way ignition-setup-pre.sh maps
//    them (ec2 -> aws, gce -> gcp, pxe -> metal).
//  - first boot: ignition.firstboot (Fedora CoreOS) or flatcar.first_boot / coreos.first_boot,
//    which count as set unless empty, 0, no or off (bootengine's cmdline_bool).
import { readFileSync } from 'node:fs';
import { KindlingError } from '../errors.js';

export interface CmdlineFacts {
  /** The config URL (ignition.config.url, else flatcar.config.url, else coreos.config.url). */
  configUrl?: string;
  /** Which parameter named the URL. */
  configUrlKey?: string;
  /** ignition.config.device= (a filesystem label) */
  configDevice?: string;
  /** ignition.config.path= (a path on that filesystem) */
  configPath?: string;
  /** ignition.platform.id= */
  platformId?: string;
  /** flatcar.oem.id= (else coreos.oem.id=), raw */
  oemId?: string;
  /** true when this boot is a first boot by any of the first-boot parameters. */
  firstBoot: boolean;
  /** The raw flatcar.first_boot / coreos.first_boot value ("detected" when GRUB found the flag). */
  firstBootValue?: string;
  /** Every key=value (last wins) and bare flag (value ""), for anything else a caller wants. */
  params: Map<string, string>;
}

/** Splits like the kernel and Go's strings.Fields: on any run of white space. */
export function parseCmdline(text: string): CmdlineFacts {
  const params = new Map<string, string>();
  for (const arg of text.split(/\s+/)) {
    if (arg === '') continue;
    const eq = arg.indexOf('=');
    if (eq === -1) params.set(arg, '');
    else params.set(arg.slice(0, eq), arg.slice(eq + 1));
  }
  const nonEmpty = (k: string) => {
    const v = params.get(k);
    return v === undefined || v === '' ? undefined : v;
  };
  const facts: CmdlineFacts = { firstBoot: false, params };
  for (const key of ['ignition.config.url', 'flatcar.config.url', 'coreos.config.url']) {
    const v = nonEmpty(key);
    if (v !== undefined) {
      facts.configUrl = v;
      facts.configUrlKey = key;
      break;
    }
  }
  facts.configDevice = nonEmpty('ignition.config.device');
  facts.configPath = nonEmpty('ignition.config.path');
  facts.platformId = nonEmpty('ignition.platform.id');
  facts.oemId = nonEmpty('flatcar.oem.id') ?? nonEmpty('coreos.oem.id');
  const truthy = (v: string | undefined) => v !== undefined && !['', '0', 'no', 'off'].includes(v);
  facts.firstBootValue = params.get('flatcar.first_boot') ?? params.get('coreos.first_boot');
  facts.firstBoot =
    truthy(params.get('flatcar.first_boot')) || truthy(params.get('coreos.first_boot')) || params.has('ignition.firstboot');
  return facts;
}

/** Flatcar's OEM ids that differ from Ignition's platform names (ignition-setup-pre.sh). */
const OEM_TO_PLATFORM: Record<string, string> = { ec2: 'aws', gce: 'gcp', pxe: 'metal' };

export function oemIdToPlatform(oemId: string): string {
  return OEM_TO_PLATFORM[oemId] ?? oemId;
}

/** The platform the command line names: ignition.platform.id, else the mapped OEM id. */
export function platformFromCmdline(f: CmdlineFacts): string | undefined {
  if (f.platformId) return f.platformId;
  if (f.oemId) return oemIdToPlatform(f.oemId);
  return undefined;
}

export function cmdlinePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.IGNITION_KERNEL_CMDLINE_PATH || '/proc/cmdline';
}

export function readCmdline(path: string): CmdlineFacts {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KindlingError('platform', `couldn't read the kernel command line at ${path}: ${(err as Error).message}`);
  }
  return parseCmdline(text);
}
