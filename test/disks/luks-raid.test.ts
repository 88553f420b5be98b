// LUKS and RAID. This build machine's kernel has neither device-mapper nor md, so what can run for
// real runs for real (luksFormat with the config's options and key file, then the reuse decision
// on the resulting header) and the rest is checked at the plan level (the exact mdadm arguments,
// the refusals). Where the kernel lacks a driver the test asserts the error names it.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { disksStage } from '../../stages/disks/index.js';
import { localContext } from '../../src/engine/context.js';
import { parseConfig } from '../../src/config/index.js';
import { writeGptFd } from '../../src/disk/gpt.js';
import { mdadmCreateArgs } from '../../stages/disks/raid.js';
import { clevisConfig } from '../../stages/disks/luks.js';
import { LoopLab, sh, blkid, partNode } from './loopdisk.js';
import { openSync, closeSync, symlinkSync } from 'node:fs';

const lab = new LoopLab('kindling-luks-');
afterAll(() => lab.cleanup());
const dmWorks = spawnSync('dmsetup', ['version']).status === 0;

function twoPartitionDisk(tag: string): string {
  const img = lab.image(`${tag}.img`, 80 * 1024 ** 2);
  const fd = openSync(img, 'r+');
  writeGptFd(fd, 512, (80 * 1024 ** 2) / 512, {
    diskGuid: '0B0E5B0E-0000-4000-8000-0000000000AA',
    partitions: [
      { number: 1, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: '0B0E5B0E-0000-4000-8000-0000000000A1', startLba: 2048, endLba: 2048 + 65536 - 1, label: 'a' },
      { number: 2, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', guid: '0B0E5B0E-0000-4000-8000-0000000000A2', startLba: 67584, endLba: 67584 + 65536 - 1, label: 'b' },
    ],
  });
  closeSync(fd);
  return lab.attach(img);
}

const FAST_KDF = ['--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000'];

describe('LUKS', () => {
  it('formats with the fetched key file, label and UUID; the next plan reuses it; a mismatching UUID is refused', async () => {
    const dev = twoPartitionDisk('luks');
    sh('mkfs.ext4', ['-q', '-F', partNode(dev, 1)]);
    const state = join(lab.dir, 'st-luks');
    const uuid = '2c7f0a4e-1d3b-4f6a-9b8c-7d6e5f4a3b2c';
    const cfg = (u: string, wipe: boolean): string =>
      JSON.stringify({ ignition: { version: '3.4.0' }, storage: { luks: [{ name: 'kindling-test-vol', device: partNode(dev, 1), label: 'vault', uuid: u, wipeVolume: wipe, keyFile: { source: 'data:,correct%20horse' }, options: FAST_KDF }] } });
    lab.trackMapper('kindling-test-vol');
    const ctx = localContext({ config: parseConfig(cfg(uuid, true)).config, root: lab.dir, options: { stateDir: state, candidateDisks: [dev] } });
    const plan = await disksStage.plan(ctx);
    expect(plan.ops.map((o) => o.kind)).toEqual(['luks.format']);
    const err = await disksStage.apply(ctx, plan).catch((e) => e);
    if (dmWorks) expect(err).toBeUndefined();
    else expect(String(err?.message)).toMatch(/device-mapper|dm_mod|still in use/);
    // The header is there with the config's label and UUID, and the fetched key opens it.
    expect(blkid(partNode(dev, 1))).toMatchObject({ TYPE: 'crypto_LUKS', LABEL: 'vault', UUID: uuid });
    const key = join(state, 'luks-keyfiles', 'kindling-test-vol');
    expect(readFileSync(key, 'utf8')).toBe('correct horse');
    expect(spawnSync('cryptsetup', ['luksOpen', '--test-passphrase', '--key-file', key, partNode(dev, 1)]).status).toBe(0);
    // Rerun without wipeVolume: reuse (open), never format again.
    const again = await disksStage.plan(localContext({ config: parseConfig(cfg(uuid, false)).config, root: lab.dir, options: { stateDir: state, candidateDisks: [dev] } }));
    expect(again.ops.map((o) => o.kind)).toEqual(['luks.open']);
    // Another UUID without wipeVolume: refused, pointer named.
    const refused = await disksStage.plan(localContext({ config: parseConfig(cfg('11111111-2222-4333-8444-555555555555', false)).config, root: lab.dir, options: { stateDir: state, candidateDisks: [dev] } })).catch((e) => e);
    expect(refused.location.pointer).toBe('/storage/luks/0/wipeVolume');
  }, 60_000);

  it('asks for clevis only where the tool exists', async () => {
    const dev = twoPartitionDisk('clevis');
    const has = spawnSync('sh', ['-c', 'command -v clevis']).status === 0;
    const cfg = JSON.stringify({ ignition: { version: '3.4.0' }, storage: { luks: [{ name: 'c', device: partNode(dev, 2), clevis: { tpm2: true } }] } });
    const r = await disksStage.plan(localContext({ config: parseConfig(cfg).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st-c'), candidateDisks: [dev] } })).catch((e) => e);
    if (has) expect(r.ops[0].details.clevis).toBe('sss');
    else expect(r.location.pointer).toBe('/storage/luks/0/clevis');
    expect(clevisConfig({ name: 'x', clevis: { tang: [{ url: 'http://t', thumbprint: 'abc' }], tpm2: true, threshold: 2 } })).toEqual({ pin: 'sss', config: '{"t":2,"pins":{"tang":[{"url":"http://t","thp":"abc"}],"tpm2":{}}}' });
  });
});

describe('RAID', () => {
  it('plans mdadm --create as Ignition runs it, with partitions resolved by label', async () => {
    const dev = twoPartitionDisk('raid');
    const cfg = JSON.stringify({
      ignition: { version: '3.4.0' },
      storage: {
        raid: [{ name: 'data', level: 'raid1', devices: ['/dev/disk/by-partlabel/a', '/dev/disk/by-partlabel/b'], options: ['--metadata=1.2'] }],
        filesystems: [{ device: '/dev/md/data', format: 'ext4', label: 'DATA', path: '/var/data' }],
      },
    });
    const plan = await disksStage.plan(localContext({ config: parseConfig(cfg).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st-r'), candidateDisks: [dev] } }));
    expect(plan.ops.map((o) => o.kind)).toEqual(['raid.create', 'filesystem.decide']);
    const raid = plan.ops[0]!;
    expect(raid.details.devices).toEqual([partNode(dev, 1), partNode(dev, 2)]);
    expect(mdadmCreateArgs({ name: 'data', level: 'raid1', options: ['--metadata=1.2'] }, raid.details.devices as string[])).toEqual([
      '--create', '/dev/md/data', '--force', '--run', '--homehost', 'any', '--level', 'raid1', '--raid-devices', '2', '--metadata=1.2', partNode(dev, 1), partNode(dev, 2),
    ]);
    expect(mdadmCreateArgs({ name: 'd', level: 'raid5', spares: 1 }, ['/a', '/b', '/c', '/d'])).toEqual(['--create', '/dev/md/d', '--force', '--run', '--homehost', 'any', '--level', 'raid5', '--raid-devices', '3', '--spare-devices', '1', '/a', '/b', '/c', '/d']);
  });

  it('waits for a disk that appears late (as udev would make it), and refuses one that never does', async () => {
    const dev = twoPartitionDisk('late');
    const link = join(lab.dir, 'late-disk');
    const cfg = JSON.stringify({ ignition: { version: '3.4.0' }, storage: { disks: [{ device: link, partitions: [{ number: 1, label: 'a' }] }] } });
    const ctx = (timeout: number) => localContext({ config: parseConfig(cfg).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st-late'), candidateDisks: [dev], deviceTimeoutMs: timeout } });
    const never = await disksStage.plan(ctx(0)).catch((e) => e);
    expect(never.location.pointer).toBe('/storage/disks/0');
    setTimeout(() => symlinkSync(dev, link), 600);
    const t0 = Date.now();
    const plan = await disksStage.plan(ctx(5000));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(plan.ops.map((o) => o.kind)).toEqual(['partition.keep', 'partition.commit']);
  });

  it('refuses a filesystem on a device nothing creates', async () => {
    const cfg = JSON.stringify({ ignition: { version: '3.4.0' }, storage: { filesystems: [{ device: '/dev/md/nothing', format: 'ext4' }] } });
    const err = await disksStage.plan(localContext({ config: parseConfig(cfg).config, root: lab.dir, options: { stateDir: join(lab.dir, 'st-n'), candidateDisks: [], deviceTimeoutMs: 0 } })).catch((e) => e);
    expect(err.location.pointer).toBe('/storage/filesystems/0/device');
  });
});
