// Every address and root the acquisition code touches, in one object, so that tests (and people
// debugging a boot on a laptop) can point each at a directory or a local server. The defaults are
// Ignition's and Flatcar's; the environment variables named here override them.
//
//   IGNITION_KERNEL_CMDLINE_PATH        /proc/cmdline              (Ignition's own override)
//   IGNITION_SYSTEM_RUNTIME_CONFIG_DIR  /run/ignition              (Ignition's own overrides:
//   IGNITION_SYSTEM_LOCAL_CONFIG_DIR    /etc/ignition               highest priority first)
//   IGNITION_SYSTEM_CONFIG_DIR          /usr/lib/ignition
//   IGNITION_CONFIG_FILE                config.ign                 (the file platform)
//   KINDLING_OEM_DIRS                   /oem:/usr/share/oem        (':'-separated, see system.ts)
//   KINDLING_FW_CFG_DIR                 /sys/firmware/qemu_fw_cfg
//   KINDLING_DISK_BY_LABEL_DIR          /dev/disk/by-label
//   KINDLING_DISK_BY_ID_DIR             /dev/disk/by-id
//   KINDLING_METADATA_BASE              (unset) replaces scheme://host:port of every metadata URL
//   KINDLING_MOUNTED_MEDIA              (unset) LABEL=DIR,... already-mounted config drives
//   KINDLING_VMWARE_GUESTINFO           (unset) a JSON object standing in for the guestinfo keys
//   KINDLING_HYPERV_KVP_DEVICE          /dev/vmbus/hv_kvp
//   KINDLING_S3_ENDPOINT                (unset) a base URL replacing AWS's S3 hosts (fetcher.ts)
import type { Logger } from '../log/logger.js';
import { getLogger } from '../log/logger.js';
import { cmdlinePath } from './cmdline.js';

export interface AcquireEnv {
  cmdlinePath: string;
  /** The system config directories, highest priority first: runtime, local, vendor. */
  systemConfigDirs: string[];
  /** The file platform's config file. */
  configFile: string;
  /** Directories where a Flatcar OEM partition's contents may be found (config.ign, base/base.ign). */
  oemDirs: string[];
  fwCfgDir: string;
  /** The hv_utils KVP character device (hyperv). */
  kvpDevice: string;
  diskByLabelDir: string;
  diskByIdDir: string;
  /** When set, metadata URLs keep their path and query but go to this origin. */
  metadataBase?: string;
  /** Config drives already mounted, by filesystem label (tests; systems that mount them early). */
  mountedMedia: Record<string, string>;
  /** Stand-in for VMware's guestinfo keys (no backdoor port outside a VMware VM). */
  vmwareGuestinfo?: Record<string, string>;
  /** Whether to run `modprobe` (qemu_fw_cfg) when the interface is missing. */
  modprobe: boolean;
  /** How long to wait for a config drive to show up (Ignition: 30 s for cidata/device, forever for kubevirt). */
  deviceWaitMs: number;
  /** Retry backoff for metadata services (tests shorten it; default Ignition's 200 ms..5 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Environment for anything else (e.g. IGNITION_* knobs). */
  vars: NodeJS.ProcessEnv;
  log: Logger;
}

function parseMedia(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const part of s.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function acquireEnvFrom(vars: NodeJS.ProcessEnv = process.env, overrides: Partial<AcquireEnv> = {}): AcquireEnv {
  let vmware: Record<string, string> | undefined;
  if (vars.KINDLING_VMWARE_GUESTINFO) {
    try {
      vmware = JSON.parse(vars.KINDLING_VMWARE_GUESTINFO) as Record<string, string>;
    } catch {
      vmware = undefined;
    }
  }
  const base: AcquireEnv = {
    cmdlinePath: cmdlinePath(vars),
    systemConfigDirs: [
      vars.IGNITION_SYSTEM_RUNTIME_CONFIG_DIR || '/run/ignition',
      vars.IGNITION_SYSTEM_LOCAL_CONFIG_DIR || '/etc/ignition',
      vars.IGNITION_SYSTEM_CONFIG_DIR || '/usr/lib/ignition',
    ],
    configFile: vars.IGNITION_CONFIG_FILE || 'config.ign',
    oemDirs: (vars.KINDLING_OEM_DIRS ?? '/oem:/usr/share/oem').split(':').filter(Boolean),
    fwCfgDir: vars.KINDLING_FW_CFG_DIR || '/sys/firmware/qemu_fw_cfg',
    kvpDevice: vars.KINDLING_HYPERV_KVP_DEVICE || '/dev/vmbus/hv_kvp',
    diskByLabelDir: vars.KINDLING_DISK_BY_LABEL_DIR || '/dev/disk/by-label',
    diskByIdDir: vars.KINDLING_DISK_BY_ID_DIR || '/dev/disk/by-id',
    metadataBase: vars.KINDLING_METADATA_BASE || undefined,
    mountedMedia: parseMedia(vars.KINDLING_MOUNTED_MEDIA),
    vmwareGuestinfo: vmware,
    modprobe: vars.KINDLING_NO_MODPROBE !== '1',
    deviceWaitMs: 30_000,
    vars,
    log: getLogger(),
  };
  return { ...base, ...overrides };
}

/** A metadata URL, redirected to env.metadataBase when one is set. */
export function endpoint(env: AcquireEnv, url: string): string {
  if (!env.metadataBase) return url;
  const u = new URL(url);
  const b = new URL(env.metadataBase);
  u.protocol = b.protocol;
  u.host = b.host;
  return u.href;
}
