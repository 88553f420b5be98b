// Three Flatcar boot paths under QEMU (TCG), four boots in all:
//   (f) the config is only config.ign on the OEM partition (no fw_cfg, no URL): the initrd mounts
//       the partition on /oem, its config.ign is the user config and base/base.ign a base config;
//       the config names a remote file, so fetch-offline raises the neednet flag and the network
//       comes up, configured statically by ip= on the kernel command line (no DHCP), and the files
//       stage fetches the file from a server on the host's loopback (restricted user networking,
//       one guestfwd rule).
//   (g) kernelArguments: the first boot's kargs stage hands them to ignition-kargs-helper, which
//       rewrites linux_append in the OEM partition's grub.cfg, re-arms first boot and reboots
//       (QEMU runs with -no-reboot, so it exits); boot.sh then plays GRUB and boots the disk again
//       with the arguments from grub.cfg; the second boot finds them satisfied, does not reboot,
//       and provisions.
//       The second boot also has rd.neednet=1 on the command line and a NIC: the config is in
//       fw_cfg (no neednet flag), yet the network comes up (DHCP), as dracut does for rd.neednet=1,
//       and provisioning completes.
//   (j) a disk with no OEM partition at all, and the config only at ignition.config.url on the
//       LAN with ip=dhcp: kindling-oem finds nothing and stays out of the way; fetch-offline raises
//       the neednet flag for the URL, the network comes up with a DHCP lease from QEMU's user
//       network (the .network file systemd-network-generator made from ip=dhcp, networkd's own
//       DHCP client), and the fetch stage gets the config from a server on the host's loopback.
//   (k) a disk with no OEM partition and a config with kernelArguments: there is no grub.cfg to
//       keep them in, so the kargs helper fails closed with one line, as Flatcar's does (its
//       mount of the OEM label fails); no reboot, nothing written, the stamp stays.
// Skipped (with the reason) when not root or QEMU/dracut are missing; KINDLING_SKIP_QEMU=1 skips.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boot, buildInitramfs, cleanWork, FIXTURES, type GuestServer, inspect, makeImage, missingPrerequisite, readOemFile, run, serveToGuest, WORK } from './harness.js';

const skip = missingPrerequisite();
const BOOT_TEST_MS = 420_000;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMPZbAA4Wv76kTQiboTiGVkfyHM6ZZceFPEGBqxpbQOe test@kindling';
// Stop a boot as soon as the guest is in the emergency shell (nobody will type there).
const EMERGENCY = 'Press Enter for maintenance|Give root password|Entering emergency mode';
// The guest's interface (virtio-net in the slot boot.sh gives it) and a static address in the
// user network boot.sh sets up for --metadata-port (169.254.169.0/24, host at .2, DHCP from .15).
const STATIC_IP = 'ip=169.254.169.20::169.254.169.2:255.255.255.0::ens3:off';
const REMOTE_BODY = 'fetched over the static ip= network\n';

/** A Flatcar-layout disk without its OEM partition: partition 6 deleted and where its btrfs was
 *  (the superblock at 64 KiB) zeroed, so that no OEM label is left anywhere on the disk. */
async function makeNoOemImage(name: string): Promise<string> {
  const disk = await makeImage(name);
  const del = await run('bash', ['-c', `set -euo pipefail
first=$(sgdisk -i 6 "$1" | sed -n 's/^First sector: \\([0-9]*\\).*/\\1/p')
[[ -n $first ]]
sgdisk -d 6 "$1" >/dev/null
dd if=/dev/zero of="$1" bs=512 seek="$first" count=2048 conv=notrunc status=none`, 'no-oem', disk], 60_000);
  expect(del.code, del.stderr).toBe(0);
  return disk;
}

/** The kernel command line the test root's init printed after switch-root. */
function rootCmdline(consoleText: string): string | undefined {
  return /KINDLING-TEST-ROOT: cmdline: ([^\r\n]*)/.exec(consoleText)?.[1];
}
/** The kernel command line the kernel printed at start. */
function kernelCmdline(consoleText: string): string {
  return /Kernel command line: ([^\r\n]*)/.exec(consoleText)?.[1] ?? '';
}

describe.skipIf(skip !== undefined)(`QEMU boots: OEM partition, ip=, kernelArguments${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let initrd: string;

  beforeAll(async () => {
    const k = await buildInitramfs('kindling');
    initrd = k.path;
    console.log(`initramfs (kindling): ${k.bytes} bytes, built in ${(k.ms / 1000).toFixed(1)} s`);
  }, 700_000);
  afterAll(() => cleanWork());

  describe('(f) with a file server on the host loopback', () => {
    let server: GuestServer;
    beforeAll(async () => {
      server = await serveToGuest('/kindling/remote.txt', 'text/plain', REMOTE_BODY);
    });
    afterAll(async () => {
      await server?.close();
    });

    it(
      '(f) config.ign on the OEM partition only; its remote file is fetched over a static ip= network',
      async () => {
        const disk = await makeImage('oem-net.img', { oemDir: join(FIXTURES, 'oem') });
        const r = await boot({
          initrd,
          disk,
          // No --config: fw_cfg has nothing, the platform (qemu) finds no user data.
          metadataPort: server.port,
          append: STATIC_IP,
          serial: join(WORK, 'f-oem-ip.console'),
          until: EMERGENCY,
        });
        console.log(`(f) switch-root at ${r.switchRootSec} s kernel time, wall ${(r.ms / 1000).toFixed(1)} s, stages ${JSON.stringify(r.stageMs)}, requests ${JSON.stringify(server.requests)}`);
        expect(r.console).not.toMatch(/KINDLING: first-boot provisioning FAILED/);
        expect(r.console).toMatch(/kindling-oem: OEM partition mounted on \/oem \(with config\.ign base\/base\.ign\)/);
        expect(r.stageMs, 'the config was found offline').toHaveProperty('fetch-offline');
        expect(r.stageMs).not.toHaveProperty('fetch');
        // The network came up because the config needs it, configured from ip= (not DHCP).
        expect(r.console).toMatch(/kindling-network: starting systemd-networkd \(configured by \/run\/systemd\/network\/[^ )]*ens3\.network\)/);
        expect(server.requests).toEqual(['GET /kindling/remote.txt']);
        expect(r.switchRootSec, 'reached the provisioned root').toBeDefined();
        // What the stages used (networkd deconfigures the link when the initrd ends).
        const addrs = /kindling-network: online: ([^\r\n]*)/.exec(r.console)?.[1] ?? '';
        console.log(`(f) addresses in the initrd: ${addrs}`);
        expect(addrs).toContain('ens3=169.254.169.20/24');
        expect(addrs, 'no DHCP lease').not.toContain('169.254.169.15');

        const s = await inspect(disk, ['/etc/oem-config', '/etc/oem-base', '/etc/remote.txt']);
        expect(s.files['/etc/oem-config']).toMatchObject({ type: 'file', content: 'from the OEM partition\n', mode: '0644' });
        expect(s.files['/etc/oem-base'], 'base/base.ign was merged').toMatchObject({ type: 'file', content: 'from the OEM base config\n' });
        expect(s.files['/etc/remote.txt']).toMatchObject({ type: 'file', content: REMOTE_BODY });
        const keys = Object.entries(s.files).filter(([p, f]) => p.startsWith('/home/core/.ssh/') && f.type === 'file' && f.content?.includes(KEY));
        expect(keys.length, "core's SSH key").toBeGreaterThan(0);
        expect(s.firstBootStamp).toBe(false);
      },
      BOOT_TEST_MS,
    );
  });

  it(
    '(g) kernelArguments: the first boot rewrites grub.cfg and reboots; the second boots with them and provisions',
    async () => {
      // The OEM partition starts with grub.cfg adding kindling.old=1, which the config removes.
      const disk = await makeImage('kargs.img', { oemDir: join(FIXTURES, 'oem-kargs') });
      const config = join(FIXTURES, 'kargs.ign');

      const first = await boot({ initrd, disk, config, serial: join(WORK, 'g-kargs-1.console'), until: `${EMERGENCY}|KINDLING-TEST-ROOT` });
      console.log(`(g) first boot: wall ${(first.ms / 1000).toFixed(1)} s, stages ${JSON.stringify(first.stageMs)}`);
      expect(first.console).not.toMatch(/KINDLING: first-boot provisioning FAILED/);
      expect(kernelCmdline(first.console), 'boot.sh played GRUB: linux_append from grub.cfg').toMatch(/\bkindling\.old=1\b/);
      expect(first.switchRootSec, 'the first boot must not switch root').toBeUndefined();
      expect(first.console, 'the helper rebooted the machine').toMatch(/reboot: Restarting system/);
      expect(first.stageMs, 'fetch-offline ran').toHaveProperty('fetch-offline');
      // The helper waits for the reboot: the kargs stage never returns, so nothing after it starts.
      expect(first.stageMs, 'kargs did not return').not.toHaveProperty('kargs');
      expect(first.stageMs, 'nothing after kargs ran').not.toHaveProperty('disks');
      const grub = await readOemFile(disk, 'grub.cfg');
      console.log(`(g) grub.cfg after the first boot:\n${grub}`);
      const appends = (grub ?? '').split('\n').filter((l) => l.startsWith('set linux_append='));
      expect(appends).toEqual(['set linux_append="$linux_append kindling.karg=1"']);
      let s = await inspect(disk, ['/etc/kargs-provisioned']);
      expect(s.firstBootStamp, 'the stamp is there for the second boot').toBe(true);
      expect(s.files['/etc/kargs-provisioned']).toEqual({ type: 'missing' });

      // The second boot also has rd.neednet=1 and a NIC on QEMU's user network (its guestfwd
      // leads to a server that must see no request): the config is in fw_cfg, so fetch-offline
      // raises no neednet flag, and the network comes up anyway, for rd.neednet=1.
      const lan = await serveToGuest('/kindling/unused', 'text/plain', 'unused\n');
      let second;
      try {
        second = await boot({ initrd, disk, config, lanPort: lan.port, append: 'rd.neednet=1', serial: join(WORK, 'g-kargs-2.console'), until: EMERGENCY });
      } finally {
        await lan.close();
      }
      console.log(`(g) second boot: switch-root at ${second.switchRootSec} s kernel time, wall ${(second.ms / 1000).toFixed(1)} s, stages ${JSON.stringify(second.stageMs)}`);
      expect(second.console).not.toMatch(/KINDLING: first-boot provisioning FAILED/);
      expect(second.console).not.toMatch(/reboot: Restarting system/);
      expect(second.switchRootSec, 'reached the provisioned root').toBeDefined();
      for (const stage of ['fetch-offline', 'kargs', 'disks', 'mount', 'files', 'umount']) {
        expect(second.stageMs, `stage ${stage} ran and succeeded`).toHaveProperty(stage);
      }
      expect(second.stageMs, 'config found offline: no fetch').not.toHaveProperty('fetch');
      const cmdline = rootCmdline(second.console) ?? '';
      expect(cmdline).toMatch(/\bkindling\.karg=1\b/);
      expect(cmdline).not.toMatch(/\bkindling\.old=1\b/);
      expect(cmdline).toMatch(/\brd\.neednet=1\b/);
      // rd.neednet=1: kindling-network ran without the flag, with its DHCP fallback (no ip=), and
      // the link got QEMU's lease before the stages went on.
      const how = /kindling-network: starting systemd-networkd([^(\r\n]*)\(([^)]*)\)/.exec(second.console);
      const addrs = /kindling-network: online: ([^\r\n]*)/.exec(second.console)?.[1] ?? '';
      console.log(`(g) second boot, rd.neednet=1: ${how?.[0]}; addresses in the initrd: ${addrs}`);
      expect(how?.[1], 'the network came up for rd.neednet=1, not for a flag').toBe(' for rd.neednet=1 ');
      expect(how?.[2]).toBe('DHCP');
      expect(addrs).toMatch(/=10\.0\.2\.15\/24/);
      expect(second.console).not.toMatch(/no network link came online/);
      expect(lan.requests).toEqual([]);
      s = await inspect(disk, ['/etc/kargs-provisioned']);
      expect(s.files['/etc/kargs-provisioned']).toMatchObject({ type: 'file', content: 'provisioned after the kargs reboot\n' });
      expect(s.root!.end, 'ROOT grown').toBe(s.lastUsable);
      expect(s.firstBootStamp, 'stamp removed once provisioned').toBe(false);
      expect(await readOemFile(disk, 'grub.cfg'), 'grub.cfg left as the first boot wrote it').toBe(grub);
    },
    2 * BOOT_TEST_MS,
  );

  it(
    '(k) no OEM partition; kernelArguments: the kargs stage fails closed, no reboot, nothing written',
    async () => {
      const disk = await makeNoOemImage('no-oem-kargs.img');
      const before = await inspect(disk, ['/etc/kargs-provisioned']);
      expect(before.partitions.map((p) => p.label)).not.toContain('OEM');
      expect(before.firstBootStamp).toBe(true);

      const r = await boot({ initrd, disk, config: join(FIXTURES, 'kargs.ign'), serial: join(WORK, 'k-no-oem-kargs.console'), until: `${EMERGENCY}|KINDLING-TEST-ROOT` });
      const block = /KINDLING: first-boot provisioning FAILED[^\n]*\n(?:[^\n]*\n){0,6}/.exec(r.console)?.[0] ?? '';
      console.log(`(k) wall ${(r.ms / 1000).toFixed(1)} s, stages ${JSON.stringify(r.stageMs)}\n${block}`);
      expect(r.console).toMatch(/kindling-oem: no OEM partition; no OEM config/);
      expect(r.stageMs, 'fetch-offline ran').toHaveProperty('fetch-offline');
      // One failure block, naming the kargs stage and why, in one line.
      expect(r.console.match(/KINDLING: first-boot provisioning FAILED/g) ?? []).toHaveLength(1);
      expect(block).toMatch(/FAILED in stage "kargs"/);
      expect(block).toMatch(/kernel arguments cannot be changed \(should exist: kindling\.karg=1; should not exist: kindling\.old=1\): there is no OEM partition \(no filesystem labelled OEM\)/);
      expect(r.stageMs, 'kargs failed').not.toHaveProperty('kargs');
      expect(r.stageMs, 'nothing after kargs ran').not.toHaveProperty('disks');
      expect(r.console, 'no reboot').not.toMatch(/reboot: Restarting system|rebooting to apply/);
      expect(r.switchRootSec, 'no switch-root').toBeUndefined();

      const s = await inspect(disk, ['/etc/kargs-provisioned']);
      expect(s.files['/etc/kargs-provisioned']).toEqual({ type: 'missing' });
      expect(s.root!.end, 'ROOT untouched').toBe(before.root!.end);
      expect(s.partitions.map((p) => p.label)).not.toContain('OEM');
      expect(s.firstBootStamp, 'the stamp stays: the next boot tries again').toBe(true);
    },
    BOOT_TEST_MS,
  );

  describe('(j) with a config server on the LAN', () => {
    let server: GuestServer;
    beforeAll(async () => {
      server = await serveToGuest('/kindling/config.ign', 'application/json', readFileSync(join(FIXTURES, 'over-dhcp.ign')));
    });
    afterAll(async () => {
      await server?.close();
    });

    it(
      '(j) no OEM partition; ip=dhcp and ignition.config.url: DHCP in the initrd, the config fetched, provisioned',
      async () => {
        const disk = await makeNoOemImage('no-oem-dhcp.img');
        let s = await inspect(disk);
        expect(s.partitions.map((p) => p.label)).not.toContain('OEM');

        const url = `http://10.0.2.100:${server.port}/kindling/config.ign`;
        const r = await boot({
          initrd,
          disk,
          // No fw_cfg config; the metal platform reads ignition.config.url.
          lanPort: server.port,
          append: `ignition.platform.id=metal ip=dhcp ignition.config.url=${url}`,
          serial: join(WORK, 'j-no-oem-dhcp.console'),
          until: EMERGENCY,
        });
        const oemLines = r.console.match(/kindling-oem: [^\r\n]*/g) ?? [];
        console.log(`(j) switch-root at ${r.switchRootSec} s kernel time, wall ${(r.ms / 1000).toFixed(1)} s, stages ${JSON.stringify(r.stageMs)}, requests ${JSON.stringify(server.requests)}, kindling-oem said ${JSON.stringify(oemLines)}`);
        expect(r.console).not.toMatch(/KINDLING: first-boot provisioning FAILED/);
        // kindling-oem: one informational line, no error, its unit did not fail.
        expect(oemLines).toEqual(['kindling-oem: no OEM partition; no OEM config']);
        expect(r.console).not.toMatch(/Failed to start kindling-oem|kindling-oem\.service: (Main process exited|Failed)/);
        // The URL is known offline but needs the network: fetch-offline raised the flag, fetch ran.
        for (const stage of ['fetch-offline', 'fetch', 'kargs', 'disks', 'mount', 'files', 'umount']) {
          expect(r.stageMs, `stage ${stage} ran and succeeded`).toHaveProperty(stage);
        }
        // The network as ip=dhcp configured it (systemd-network-generator's file, not Kindling's
        // fallback), with a lease from QEMU's DHCP server.
        const how = /kindling-network: starting systemd-networkd \(([^)]*)\)/.exec(r.console)?.[1] ?? '';
        const addrs = /kindling-network: online: ([^\r\n]*)/.exec(r.console)?.[1] ?? '';
        console.log(`(j) network: ${how}; addresses in the initrd: ${addrs}`);
        expect(how).toMatch(/^configured by \/run\/systemd\/network\/\S+\.network/);
        expect(how).not.toContain('zz-kindling-dhcp');
        expect(addrs).toMatch(/=10\.0\.2\.15\/24/);
        expect(server.requests).toEqual(['GET /kindling/config.ign']);
        expect(r.switchRootSec, 'reached the provisioned root').toBeDefined();

        s = await inspect(disk, ['/etc/fetched-over-dhcp']);
        expect(s.files['/etc/fetched-over-dhcp']).toMatchObject({ type: 'file', content: 'fetched with a DHCP lease\n', mode: '0644' });
        const keys = Object.entries(s.files).filter(([p, f]) => p.startsWith('/home/core/.ssh/') && f.type === 'file' && f.content?.includes(KEY));
        expect(keys.length, "core's SSH key").toBeGreaterThan(0);
        expect(s.root!.end, 'ROOT grown').toBe(s.lastUsable);
        expect(s.partitions.map((p) => p.label)).not.toContain('OEM');
        expect(s.firstBootStamp).toBe(false);
      },
      BOOT_TEST_MS,
    );
  });
});
