// storage.raid and storage.luks for real: the build machine's kernel has neither md nor a usable
// device-mapper, the guest's (Debian 6.1) has both. Two boots of one machine with four virtio
// disks (vda: Flatcar layout; vdb, vdc: RAID1 members, whole disks; vdd: two partitions, each a
// LUKS2 volume):
//   (h) first boot (test/qemu/fixtures/raid-luks.ign): the disks stage partitions vdd, creates the
//       array "data" with mdadm, formats and opens LUKS2 "secret" (key file from a data: URL,
//       label and UUID set) and "vault" (generated key), makes ext4 on /dev/md/data and
//       /dev/mapper/secret; mount puts them on /sysroot/var/lib/data and /sysroot/srv/secret; files
//       writes one file into each.
//   (i) the stamp put back and a rerun config (raid-luks-again.ign: the same array, "secret" and
//       filesystems with nothing wiped; "vault" no longer named): the array is assembled, "secret"
//       opened with its key, both filesystems reused with their data, one more file written into
//       each; "vault" left alone. (Not reformatting "vault" here on purpose: its generated key is
//       persisted in /etc/luks/vault by (h), and a new key cannot replace it — Ignition would not
//       overwrite that file either.)
// Checked from both sides: inside the guest the test root runs fixtures/raid-luks-check.sh after
// switch-root (kernel state survives it), which prints /proc/mdstat, the dm tables' names and
// UUIDs, and mounts both filesystems read-only to print the files; on the host `mdadm --examine`
// reads the member images and `cryptsetup luksDump` a copy of each LUKS header (no md or dm needed
// for either), and the LUKS key from the config is checked to open the keyslot.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInitramfs, cleanWork, FIXTURES, inspect, missingPrerequisite, parseConsole, QEMU, run, type Snapshot, WORK } from './harness.js';

const skip = missingPrerequisite() ?? (['/usr/sbin/mdadm', '/usr/sbin/cryptsetup', '/usr/bin/busybox'].find((t) => !existsSync(t)) ? 'mdadm, cryptsetup and busybox are needed (scripts/setup.sh --test)' : undefined);
// A boot: up to 540 s waiting for the lock, then boot.sh's own 300 s limit; the test's limit above both.
const LOCK_WAIT_SEC = 540;
const BOOT_TEST_MS = (LOCK_WAIT_SEC + 300 + 60) * 1000;
// Another engineer or test may be booting QEMU too: one boot at a time on this machine's 2 cores.
const LOCK = '/tmp/kindling-qemu.lock';
const EMERGENCY = 'Press Enter for maintenance|Give root password|Entering emergency mode';
const KEY = 'kindling raid-luks test key'; // the data: URL of /storage/luks/0/keyFile, decoded
const SECRET_UUID = '6d1e5c1a-4b8f-4c2e-9a57-3f0b2d8e7c41';

interface Boot {
  code: number | null;
  /** boot.sh's own wall time (QEMU start to power-off), without the wait for the lock. */
  ms: number;
  /** boot.sh's last words (or flock's: nothing when the lock wait timed out). */
  stderr: string;
  console: string;
  checks: string[];
  switchRootSec?: number;
  stageMs: Record<string, number>;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** `mdadm --examine --export` of a member image: MD_LEVEL, MD_DEVICES, MD_NAME, MD_UUID, ... */
function examine(image: string): Record<string, string> {
  return Object.fromEntries(
    sh('mdadm', ['--examine', '--export', image])
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** Copies the first 16 MiB (LUKS2's default header: metadata and keyslots) of a partition of an image. */
function luksHeader(image: string, partLabel: string): string {
  const table = JSON.parse(sh('sfdisk', ['--json', image])) as { partitiontable: { sectorsize: number; partitions: { start: number; name?: string }[] } };
  const p = table.partitiontable.partitions.find((x) => x.name === partLabel);
  if (!p) throw new Error(`no partition labelled ${partLabel} on ${image}`);
  const out = join(WORK, `${partLabel}.luks-header`);
  const buf = Buffer.alloc(16 * 1024 * 1024);
  const fd = openSync(image, 'r');
  try {
    readSync(fd, buf, 0, buf.length, p.start * table.partitiontable.sectorsize);
  } finally {
    closeSync(fd);
  }
  const ofd = openSync(out, 'w');
  try {
    writeSync(ofd, buf);
  } finally {
    closeSync(ofd);
  }
  return out;
}

function opensWith(header: string, key: string): boolean {
  const k = join(WORK, 'try.key');
  writeFileSync(k, key, { mode: 0o600 });
  try {
    return spawnSync('cryptsetup', ['open', '--test-passphrase', '--key-file', k, header]).status === 0;
  } finally {
    rmSync(k, { force: true });
  }
}

describe.skipIf(skip !== undefined)(`QEMU boot: RAID1 and LUKS2 in the guest${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let initrd: string;
  const root = join(WORK, 'raid-luks-root.img');
  const members = [join(WORK, 'raid-luks-vdb.img'), join(WORK, 'raid-luks-vdc.img')];
  const luksDisk = join(WORK, 'raid-luks-vdd.img');
  let firstArray: Record<string, string> | undefined;
  let firstSecretDump: string | undefined;
  let firstVaultUuid: string | undefined;
  let firstRoot: Snapshot | undefined;

  async function bootWith(config: string, name: string): Promise<Boot> {
    const serial = join(WORK, `${name}.console`);
    const args = ['-w', String(LOCK_WAIT_SEC), LOCK, join(QEMU, 'boot.sh'), '--initrd', initrd, '--disk', root, '--serial', serial, '--timeout', '300', '--until', EMERGENCY, '--config', join(FIXTURES, config)];
    for (const d of [...members, luksDisk]) args.push('--extra-disk', d);
    const r = await run('flock', args, (LOCK_WAIT_SEC + 330) * 1000);
    const text = existsSync(serial) ? readFileSync(serial, 'utf8') : '';
    const checks = [...text.matchAll(/^CHECK: (.*?)\r?$/gm)].map((m) => m[1]!);
    const wall = /wall (\d+\.\d+)s/.exec(r.stderr);
    return { code: r.code, ms: wall ? Number(wall[1]) * 1000 : r.ms, stderr: r.stderr.slice(-600), console: text, checks, ...parseConsole(text) };
  }

  beforeAll(async () => {
    const k = await buildInitramfs('kindling');
    initrd = k.path;
    console.log(`initramfs (kindling): ${k.bytes} bytes, built in ${(k.ms / 1000).toFixed(1)} s`);
    const r = await run(join(QEMU, 'make-image.sh'), [root, '--init-hook', join(FIXTURES, 'raid-luks-check.sh')], 120_000);
    if (r.code !== 0) throw new Error(`make-image.sh failed: ${r.stderr}`);
    for (const [f, mib] of [...members.map((m) => [m, 256] as const), [luksDisk, 128] as const]) {
      rmSync(f, { force: true });
      writeFileSync(f, '');
      sh('truncate', ['-s', `${mib}M`, f]);
    }
  }, 900_000);
  afterAll(() => cleanWork());

  it(
    '(h) first boot: mdadm creates RAID1 "data", cryptsetup formats and opens LUKS2 "secret" and "vault", filesystems mounted, files written into both',
    async () => {
      const b = await bootWith('raid-luks.ign', 'h-raid-luks');
      console.log(`(h) switch-root at ${b.switchRootSec} s kernel time, wall ${(b.ms / 1000).toFixed(1)} s, stages ${JSON.stringify(b.stageMs)}`);
      expect(b.console, 'the failure message, if any').not.toMatch(/KINDLING: first-boot provisioning FAILED/);
      expect(b.switchRootSec, `reached the provisioned root (exit ${b.code}; ${b.stderr || 'no output: lock not taken?'})`).toBeDefined();
      for (const stage of ['fetch-offline', 'kargs', 'disks', 'mount', 'files', 'umount']) expect(b.stageMs, `stage ${stage} ran and succeeded`).toHaveProperty(stage);
      const c = b.checks;

      // What the disks stage did, from its own log (kept in /run, which switch-root carries over).
      const done = c.filter((l) => l.startsWith('disks log: '));
      expect(done.some((l) => /create RAID raid1 data from \/dev\/vdb, \/dev\/vdc/.test(l)), done.join('\n')).toBe(true);
      expect(done.some((l) => /format \/dev\/disk\/by-partlabel\/secret as LUKS2 secret/.test(l)), done.join('\n')).toBe(true);
      expect(done.some((l) => /format \/dev\/disk\/by-partlabel\/vault as LUKS2 vault/.test(l)), done.join('\n')).toBe(true);

      // The kernel's view in the booted system.
      const mdstat = b.console.slice(b.console.indexOf('CHECK: mdstat begin'), b.console.indexOf('CHECK: mdstat end'));
      expect(mdstat).toMatch(/^md\d+ : active raid1 (vd[bc]\[\d\] ?){2}/m);
      expect(mdstat).toMatch(/\[2\/2\] \[UU\]/);
      expect(c).toContainEqual(expect.stringMatching(/^array md\d+ level=raid1 raid_disks=2 members=vdb vdc $/));
      expect(c).toContain('/dev/md: data ');
      expect(c).toContain('/dev/mapper: control secret vault ');
      expect(c).toContainEqual(`dm dm-0 name=secret uuid=CRYPT-LUKS2-${SECRET_UUID.replace(/-/g, '')}-secret on=vdd1 `);
      expect(c).toContainEqual(expect.stringMatching(/^dm dm-1 name=vault uuid=CRYPT-LUKS2-[0-9a-f]{32}-vault on=vdd2 $/));
      // The files stage wrote into the array and into the encrypted volume (mounted over ROOT).
      expect(c).toContain('mounted /dev/md/data on /var/lib/data');
      expect(c).toContain('file /var/lib/data/hello.txt mode=644: written on the RAID1 array');
      expect(c).toContain('mounted /dev/mapper/secret on /srv/secret');
      expect(c).toContain('file /srv/secret/hello.txt mode=600: written inside the LUKS2 volume');
      // The files stage copied the keys to /etc/luks and, as Ignition's, deleted the disks stage's
      // copies: nothing of them is left in the /run the booted system inherits.
      expect(c.filter((l) => l.startsWith('key file ')), 'no key left in /run after the files stage').toEqual([]);

      // The host reads the members: one array, raid1, two devices, Ignition's "any" homehost.
      const a = examine(members[0]!);
      const b2 = examine(members[1]!);
      expect(a).toMatchObject({ MD_LEVEL: 'raid1', MD_DEVICES: '2', MD_NAME: 'any:data' });
      expect(b2.MD_UUID).toBe(a.MD_UUID);
      expect(b2.MD_DEV_UUID).not.toBe(a.MD_DEV_UUID);
      const roles = [sh('mdadm', ['--examine', members[0]!]), sh('mdadm', ['--examine', members[1]!])].map((t) => /Device Role : (.*)/.exec(t)?.[1]);
      expect(roles.sort()).toEqual(['Active device 0', 'Active device 1']);
      firstArray = a;

      // And the LUKS headers: LUKS2 with the config's label and UUID; the config's key opens it.
      const secret = luksHeader(luksDisk, 'secret');
      const dump = sh('cryptsetup', ['luksDump', secret]);
      expect(dump).toMatch(/^Version:\s+2$/m);
      expect(dump).toMatch(new RegExp(`^UUID:\\s+${SECRET_UUID}$`, 'm'));
      expect(dump).toMatch(/^Label:\s+kindling-secret$/m);
      expect(dump).toMatch(/cipher: aes-xts-plain64/);
      expect(dump).toMatch(/PBKDF:\s+argon2id/); // the config's options reached luksFormat
      expect(opensWith(secret, KEY), 'the key from the config opens the keyslot').toBe(true);
      expect(opensWith(secret, 'not the key'), 'a wrong key does not').toBe(false);
      firstSecretDump = dump;
      const vault = sh('cryptsetup', ['luksDump', luksHeader(luksDisk, 'vault')]);
      expect(vault).toMatch(/^Version:\s+2$/m);
      expect(vault).toMatch(/PBKDF:\s+pbkdf2/);
      firstVaultUuid = /^UUID:\s+(\S+)$/m.exec(vault)?.[1];
      expect(firstVaultUuid).toMatch(/^[0-9a-f-]{36}$/);

      firstRoot = await inspect(root, ['/srv', '/etc/luks', '/etc/crypttab']);
      expect(firstRoot.firstBootStamp, 'flatcar/first_boot removed').toBe(false);
    },
    BOOT_TEST_MS,
  );

  it(
    '(h) the files stage persisted the LUKS keys and /etc/crypttab as Ignition does',
    () => {
      expect(firstRoot, 'needs the root of (h)').toBeDefined();
      const s = firstRoot!;
      // Ignition (files stage, createCrypttabEntries): "NAME UUID=<luksUUID> /etc/luks/NAME luks",
      // crypttab 0600, /etc/luks 0700, each key 0600; a generated key is randHex(4096): 8192 hex
      // characters. (Key contents are compared as booleans: no key bytes in the test log.)
      const crypttab = s.files['/etc/crypttab'];
      expect(crypttab).toMatchObject({ type: 'file', mode: '0600' });
      expect(crypttab!.content).toContain(`secret UUID=${SECRET_UUID} /etc/luks/secret luks\n`);
      expect(crypttab!.content).toMatch(new RegExp(`^vault UUID=${firstVaultUuid} /etc/luks/vault luks$`, 'm'));
      expect(s.files['/etc/luks']).toMatchObject({ type: 'dir', mode: '0700' });
      const meta = (p: string) => ({ type: s.files[p]?.type, mode: s.files[p]?.mode, uid: s.files[p]?.uid });
      expect(meta('/etc/luks/secret')).toEqual({ type: 'file', mode: '0600', uid: 0 });
      expect(s.files['/etc/luks/secret']!.content === KEY, '/etc/luks/secret holds the key of the config').toBe(true);
      const vault = s.files['/etc/luks/vault'];
      expect(meta('/etc/luks/vault')).toEqual({ type: 'file', mode: '0600', uid: 0 });
      expect(/^[0-9a-f]{8192}$/.test(vault!.content ?? ''), `/etc/luks/vault is 8192 hex characters (it has ${vault!.content?.length})`).toBe(true);
    },
  );

  it(
    '(i) a rerun assembles the array, opens "secret" with its key, reuses both filesystems and their files, leaves "vault" alone',
    async () => {
      expect(firstArray, 'needs the disks of (h)').toBeDefined();
      // Put flatcar/first_boot back on EFI-SYSTEM, as after a boot that failed before quench.
      const esp = Number(/First sector: (\d+)/.exec(sh('sgdisk', ['-i', '1', root]))?.[1]);
      const stamp = join(WORK, 'first_boot');
      writeFileSync(stamp, '');
      const m = spawnSync('mcopy', ['-o', '-i', `${root}@@${esp * 512}`, stamp, '::/flatcar/first_boot'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' }, encoding: 'utf8' });
      expect(m.status, m.stderr).toBe(0);

      const b = await bootWith('raid-luks-again.ign', 'i-raid-luks-again');
      console.log(`(i) switch-root at ${b.switchRootSec} s kernel time, wall ${(b.ms / 1000).toFixed(1)} s, stages ${JSON.stringify(b.stageMs)}`);
      expect(b.console, 'the failure message, if any').not.toMatch(/KINDLING: first-boot provisioning FAILED/);
      expect(b.switchRootSec, `reached the provisioned root (exit ${b.code}; ${b.stderr || 'no output: lock not taken?'})`).toBeDefined();
      const c = b.checks;
      const done = c.filter((l) => l.startsWith('disks log: '));
      expect(done.some((l) => /assemble \(or keep running\) RAID data from \/dev\/vdb, \/dev\/vdc/.test(l)), done.join('\n')).toBe(true);
      expect(done.some((l) => /open the existing LUKS volume on \/dev\/disk\/by-partlabel\/secret as \/dev\/mapper\/secret/.test(l)), done.join('\n')).toBe(true);
      expect(done.some((l) => /create RAID|as LUKS2|mapper\/vault/.test(l)), 'nothing recreated, vault untouched').toBe(false);
      expect(c).toContainEqual(expect.stringMatching(/^array md\d+ level=raid1 raid_disks=2 members=vdb vdc $/));
      expect(c).toContain('/dev/mapper: control secret ');
      // Both generations of files: the filesystems were reused, not recreated.
      expect(c).toContain('file /var/lib/data/hello.txt mode=644: written on the RAID1 array');
      expect(c).toContain('file /var/lib/data/again.txt mode=644: second run, same array');
      expect(c).toContain('file /srv/secret/hello.txt mode=600: written inside the LUKS2 volume');
      expect(c).toContain('file /srv/secret/again.txt mode=600: second run, same volume');

      // On the host: the same array (same UUID, same member roles), the same "secret" header in
      // all luksDump shows (same salts and digests: not reformatted) but its epoch — luksOpen
      // --persistent (as Ignition >= 2.15) rewrites the flags at every open —, "vault" as (h)
      // left it.
      const a = examine(members[0]!);
      expect(a.MD_UUID).toBe(firstArray!.MD_UUID);
      expect(a.MD_DEV_UUID).toBe(firstArray!.MD_DEV_UUID);
      const noEpoch = (d: string): string => d.replace(/^Epoch:.*$/m, '');
      expect(noEpoch(sh('cryptsetup', ['luksDump', luksHeader(luksDisk, 'secret')]))).toBe(noEpoch(firstSecretDump!));
      const vaultUuid = /^UUID:\s+(\S+)$/m.exec(sh('cryptsetup', ['luksDump', luksHeader(luksDisk, 'vault')]))?.[1];
      expect(vaultUuid).toBe(firstVaultUuid);
      // Kindling's documented deviation: a rerun keeps /etc/luks/secret (same key) and does not
      // append its crypttab line twice (Ignition fails on the existing key file).
      const s = await inspect(root, ['/etc/luks', '/etc/crypttab']);
      const lines = (s.files['/etc/crypttab']?.content ?? '').split('\n').filter((l) => l.trim());
      expect(lines.filter((l) => l.startsWith('secret ')), lines.join('\n')).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith('vault ')), lines.join('\n')).toHaveLength(1);
      expect(s.files['/etc/luks/secret']!.content === KEY, '/etc/luks/secret still holds the key of the config').toBe(true);
    },
    BOOT_TEST_MS,
  );
});
