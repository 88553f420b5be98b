// A scratch "system" for running the binary outside an initrd: the kernel command line file, the
// three system config directories and the OEM directory all point into one directory. Shared by
// the build's code-cache warm-up (scripts/build.mjs), the benches and the tests, which all run
// fetch stages this way.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The small config whose start-up the benches measure and the build's code-cache warm-up runs:
 * a user with an SSH key, a file, a unit (the common shape of a first-boot config).
 */
export const STARTUP_CONFIG = JSON.stringify({
  ignition: { version: '3.3.0' },
  passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench bench'] }] },
  storage: { files: [{ path: '/etc/hostname', mode: 420, contents: { source: 'data:,node1' } }] },
  systemd: { units: [{ name: 'docker.service', enabled: true }] },
});

/** The environment pointing every system path into `dir`; `extra` adds or overrides variables. */
export function sandboxEnv(dir, extra = {}) {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    IGNITION_KERNEL_CMDLINE_PATH: join(dir, 'cmdline'),
    IGNITION_SYSTEM_CONFIG_DIR: join(dir, 'usr'),
    IGNITION_SYSTEM_RUNTIME_CONFIG_DIR: join(dir, 'run'),
    IGNITION_SYSTEM_LOCAL_CONFIG_DIR: join(dir, 'etc'),
    KINDLING_OEM_DIRS: join(dir, 'oem'),
    ...extra,
  };
}

/** The ignition flags of a fetch stage whose cache, state and neednet files live in `dir`. */
export function stageArgs(dir, platform, stage) {
  return ['-platform', platform, '-stage', stage, '-config-cache', join(dir, 'config.json'), '-state-file', join(dir, 'state'), '-neednet', join(dir, 'neednet'), '-log-to-stdout'];
}

/**
 * A sandbox in `dir` for the qemu platform: a fw_cfg directory holding `config` (standing in for
 * /sys/firmware/qemu_fw_cfg) and a one-word command line. Returns its environment (no modprobe,
 * plus `extra`), the config cache path and the fetch-offline flags.
 */
export function fwCfgSandbox(dir, config, extra = {}) {
  const key = join(dir, 'fw_cfg/by_name/opt/org.flatcar-linux/config');
  mkdirSync(key, { recursive: true });
  writeFileSync(join(key, 'raw'), config);
  writeFileSync(join(key, 'size'), String(Buffer.byteLength(config)));
  writeFileSync(join(dir, 'cmdline'), 'console=ttyS0\n');
  const env = sandboxEnv(dir, { KINDLING_NO_MODPROBE: '1', KINDLING_FW_CFG_DIR: join(dir, 'fw_cfg'), ...extra });
  return { d: dir, env, cache: join(dir, 'config.json'), args: stageArgs(dir, 'qemu', 'fetch-offline') };
}
