// Spec 1.x/2.x → 3.1.0 translation: realistic old configs and the exact spec 3 documents Flatcar's
// translation produces for them, plus the configs that cannot be translated and where the error
// points.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { KindlingError } from '../../src/errors.js';
import { translateLegacy, translateLegacyWithReport } from '../../src/config/legacy/index.js';

const SHA = 'sha512-' + 'ab'.repeat(64);

function failure(doc: unknown, version: string): KindlingError {
  try {
    translateLegacy(doc, version);
  } catch (e) {
    if (e instanceof KindlingError) return e;
    throw e;
  }
  throw new Error('expected the translation to fail');
}

describe('spec 1 (ignitionVersion 1)', () => {
  const v1 = {
    ignitionVersion: 1,
    storage: {
      filesystems: [
        {
          device: '/dev/disk/by-partlabel/DATA',
          format: 'ext4',
          create: { force: true, options: ['-L', 'DATA'] },
          files: [{ path: '/motd', contents: 'Hello, world!\n', mode: 420, uid: 500 }],
        },
      ],
      arrays: [{ name: 'md0', level: 'raid1', devices: ['/dev/sdb', '/dev/sdc'] }],
    },
    systemd: {
      units: [
        { name: 'etcd2.service', enable: true },
        { name: 'locksmithd.service', mask: true },
        { name: 'docker.service', dropins: [{ name: '50-opts.conf', contents: '[Service]\nEnvironment=DOCKER_OPTS=--debug\n' }] },
      ],
    },
    networkd: { units: [{ name: '10-static.network', contents: '[Match]\nName=eth0\n[Network]\nAddress=10.0.0.5/24\n' }] },
    passwd: {
      users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3 me@host'] }, { name: 'ops', create: { uid: 1001, groups: ['sudo', 'docker'], shell: '/bin/bash' } }],
      groups: [{ name: 'ops', gid: 1001 }],
    },
  };

  test('files move to their filesystem, mounted at a generated /tmp path', () => {
    expect(translateLegacy(v1, '1')).toEqual({
      ignition: { version: '3.1.0' },
      storage: {
        raid: [{ name: 'md0', level: 'raid1', devices: ['/dev/sdb', '/dev/sdc'] }],
        filesystems: [
          {
            device: '/dev/disk/by-partlabel/DATA',
            format: 'ext4',
            wipeFilesystem: true,
            options: ['-L', 'DATA'],
            path: '/tmp/_translate-filesystem-0-ign1',
          },
        ],
        files: [
          {
            path: '/tmp/_translate-filesystem-0-ign1/motd',
            user: { id: 500 },
            group: { id: 0 },
            overwrite: true,
            mode: 420,
            contents: { source: 'data:,Hello%2C%20world%21%0A' },
          },
          {
            path: '/etc/systemd/network/10-static.network',
            overwrite: true,
            contents: { source: 'data:,%5BMatch%5D%0AName=eth0%0A%5BNetwork%5D%0AAddress=10.0.0.5%2F24%0A' },
            mode: 420,
          },
        ],
      },
      systemd: {
        units: [
          { name: 'etcd2.service', enabled: true },
          { name: 'locksmithd.service', mask: true },
          { name: 'docker.service', dropins: [{ name: '50-opts.conf', contents: '[Service]\nEnvironment=DOCKER_OPTS=--debug\n' }] },
        ],
      },
      passwd: {
        users: [
          { name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3 me@host'] },
          { name: 'ops', uid: 1001, groups: ['sudo', 'docker'], shell: '/bin/bash' },
        ],
        groups: [{ name: 'ops', gid: 1001 }],
      },
    });
  });

  test('errors point into the spec 1 text, not the intermediate 2.0 document', () => {
    const bad = structuredClone(v1);
    bad.storage.filesystems[0].files[0].path = 'motd';
    const err = failure(bad, '1');
    expect(err.kind).toBe('config-invalid');
    expect(err.location?.pointer).toBe('/storage/filesystems/0/files/0/path');
    expect(err.message).toContain('path not absolute');

    const raid = structuredClone(v1);
    raid.storage.arrays[0].level = 'raid7';
    expect(failure(raid, '1').location?.pointer).toBe('/storage/arrays/0/level');

    const fmt = structuredClone(v1);
    fmt.storage.filesystems[0].format = 'ntfs';
    expect(failure(fmt, '1').location?.pointer).toBe('/storage/filesystems/0/format');

    // Ignition's own v1 test: a relative filesystem device is "path not absolute" at the device.
    const dev = failure({ ignitionVersion: 1, storage: { filesystems: [{ device: 'this/is/a/relative/path', format: 'ext4' }] } }, '1');
    expect(dev.location?.pointer).toBe('/storage/filesystems/0/device');
    expect(dev.message).toContain('path not absolute');

    const unit = structuredClone(v1);
    unit.systemd.units[0].name = 'etcd2';
    expect(failure(unit, '1').location?.pointer).toBe('/systemd/units/0/name');
  });

  test('a spec 1 filesystem created without force cannot be translated', () => {
    const bad = structuredClone(v1);
    bad.storage.filesystems[0].create.force = false;
    const err = failure(bad, '1');
    expect(err.location?.pointer).toBe('/storage/filesystems/0/create');
    expect(err.message).toMatch(/force/);
  });

  test('other ignitionVersion values are refused as a version error', () => {
    const err = failure({ ignitionVersion: 2 }, '2');
    expect(err.kind).toBe('config-version');
    expect(err.location?.pointer).toBe('/ignitionVersion');
  });
});

describe('spec 2.0.0', () => {
  test('a classic Container Linux config', () => {
    const doc = {
      ignition: { version: '2.0.0', config: { replace: { source: 'https://example.com/real.ign', verification: { hash: SHA } } } },
      storage: {
        files: [
          { filesystem: 'root', path: '/etc/hostname', mode: 420, contents: { source: 'data:,node-1' } },
          { filesystem: 'root', path: '/opt/bin/tool', mode: 493, user: { id: 500 }, contents: { source: 'https://example.com/tool.gz', compression: 'gzip', verification: { hash: SHA } } },
        ],
      },
      systemd: { units: [{ name: 'etcd-member.service', enable: true, dropins: [{ name: '20-clct-etcd-member.conf', contents: '[Service]\nEnvironment="ETCD_IMAGE_TAG=v3.2"\n' }] }] },
      passwd: { users: [{ name: 'core', passwordHash: '$6$rounds=4096$x', sshAuthorizedKeys: ['ssh-rsa AAAAB3 a@b'] }] },
    };
    expect(translateLegacy(doc, '2.0.0')).toEqual({
      ignition: { version: '3.1.0', config: { replace: { source: 'https://example.com/real.ign', verification: { hash: SHA } } } },
      storage: {
        files: [
          { path: '/etc/hostname', overwrite: true, mode: 420, contents: { source: 'data:,node-1' } },
          {
            path: '/opt/bin/tool',
            user: { id: 500 },
            overwrite: true,
            mode: 493,
            contents: { compression: 'gzip', source: 'https://example.com/tool.gz', verification: { hash: SHA } },
          },
        ],
      },
      systemd: { units: [{ name: 'etcd-member.service', enabled: true, dropins: [{ name: '20-clct-etcd-member.conf', contents: '[Service]\nEnvironment="ETCD_IMAGE_TAG=v3.2"\n' }] }] },
      passwd: { users: [{ name: 'core', passwordHash: '$6$rounds=4096$x', sshAuthorizedKeys: ['ssh-rsa AAAAB3 a@b'] }] },
    });
  });

  test('fields a later 2.x version added are dropped with a warning, as the 2.0 parser ignored them', () => {
    const doc = {
      ignition: { version: '2.0.0' },
      storage: { directories: [{ filesystem: 'root', path: '/var/x' }], files: [{ filesystem: 'root', path: '/a', append: true, contents: { source: 'data:,x' } }] },
    };
    const { config, warnings } = translateLegacyWithReport(doc, '2.0.0');
    expect(config).toEqual({ ignition: { version: '3.1.0' }, storage: { files: [{ path: '/a', overwrite: true, contents: { source: 'data:,x' } }] } });
    expect(warnings.map((w) => w.location?.pointer)).toEqual(['/storage/directories', '/storage/files/0/append']);
  });

  test('partitions: zero sector sizes translate, real sector sizes cannot', () => {
    const ok = { ignition: { version: '2.0.0' }, storage: { disks: [{ device: '/dev/vda', wipeTable: true, partitions: [{ label: 'ROOT', number: 1, size: 0, start: 0, typeGuid: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709' }] }] } };
    expect(translateLegacy(ok, '2.0.0')).toEqual({
      ignition: { version: '3.1.0' },
      storage: { disks: [{ device: '/dev/vda', wipeTable: true, partitions: [{ label: 'ROOT', number: 1, typeGuid: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709' }] }] },
    });
    const bad = structuredClone(ok);
    bad.storage.disks[0].partitions[0].size = 2097152;
    const err = failure(bad, '2.0.0');
    expect(err.location?.pointer).toBe('/storage/disks/0/partitions/0/size');
    expect(err.message).toContain('sizeMiB');
  });
});

describe('spec 2.1.0 – 2.4.0', () => {
  test('2.1: directories, links, user-level fields, enabled false wins over enable', () => {
    const doc = {
      ignition: { version: '2.1.0', timeouts: { httpTotal: 30 } },
      storage: {
        directories: [{ filesystem: 'root', path: '/home/core/.kube', mode: 448, user: { name: 'core' }, group: { name: 'core' } }],
        links: [{ filesystem: 'root', path: '/etc/localtime', target: '/usr/share/zoneinfo/Europe/Berlin' }, { filesystem: 'root', path: '/opt/hard', target: '/opt/bin/tool', hard: true }],
      },
      systemd: { units: [{ name: 'update-engine.service', enable: true, enabled: false }, { name: 'docker.socket', enabled: true }] },
      passwd: { users: [{ name: 'deploy', uid: 2000, gecos: 'Deploy user', homeDir: '/var/deploy', noCreateHome: false, groups: ['docker'], shell: '/bin/sh', system: true }] },
    };
    expect(translateLegacy(doc, '2.1.0')).toEqual({
      ignition: { version: '3.1.0', timeouts: { httpTotal: 30 } },
      storage: {
        directories: [{ path: '/home/core/.kube', user: { name: 'core' }, group: { name: 'core' }, mode: 448 }],
        links: [
          { path: '/etc/localtime', target: '/usr/share/zoneinfo/Europe/Berlin' },
          { path: '/opt/hard', hard: true, target: '/opt/bin/tool' },
        ],
      },
      systemd: { units: [{ name: 'update-engine.service', enabled: false }, { name: 'docker.socket', enabled: true }] },
      passwd: { users: [{ name: 'deploy', uid: 2000, gecos: 'Deploy user', homeDir: '/var/deploy', groups: ['docker'], shell: '/bin/sh', system: true }] },
    });
  });

  test('2.2: append, overwrite, CAs, raid options, networkd drop-ins, named filesystems', () => {
    const doc = {
      ignition: { version: '2.2.0', security: { tls: { certificateAuthorities: [{ source: 'data:,-----BEGIN%20CERTIFICATE-----' }] } }, config: { append: [{ source: 's3://bucket/extra.ign' }] } },
      storage: {
        raid: [{ name: 'data', level: 'raid5', devices: ['/dev/sdb', '/dev/sdc', '/dev/sdd'], spares: 1, options: ['--assume-clean'] }],
        filesystems: [
          { name: 'root', path: '/sysroot' },
          { name: 'data', mount: { device: '/dev/md/data', format: 'xfs', wipeFilesystem: true, label: 'DATA' } },
          { name: 'oem', mount: { device: '/dev/disk/by-label/OEM', format: 'btrfs' } },
        ],
        files: [
          { filesystem: 'root', path: '/etc/hosts', append: true, mode: 420, contents: { source: 'data:,10.0.0.2%20db' } },
          { filesystem: 'data', path: '/README', overwrite: false, contents: { source: 'data:,hi' } },
          { filesystem: 'oem', path: '/grub.cfg', contents: { source: 'data:,set%20linux_append=%22quiet%22' } },
        ],
        directories: [{ filesystem: 'data', path: '/srv', overwrite: true, mode: 493 }],
      },
      networkd: { units: [{ name: '00-eth0.network', dropins: [{ name: 'mtu.conf', contents: '[Link]\nMTUBytes=9000' }] }] },
    };
    expect(translateLegacy(doc, '2.2.0')).toEqual({
      ignition: {
        version: '3.1.0',
        config: { merge: [{ source: 's3://bucket/extra.ign' }] },
        security: { tls: { certificateAuthorities: [{ source: 'data:,-----BEGIN%20CERTIFICATE-----' }] } },
      },
      storage: {
        raid: [{ name: 'data', level: 'raid5', devices: ['/dev/sdb', '/dev/sdc', '/dev/sdd'], spares: 1, options: ['--assume-clean'] }],
        filesystems: [
          { device: '/dev/md/data', format: 'xfs', wipeFilesystem: true, label: 'DATA', path: '/tmp/data-ign1' },
          { device: '/dev/disk/by-label/OEM', format: 'btrfs', path: '/usr/share/oem' },
        ],
        files: [
          { path: '/etc/hosts', overwrite: false, mode: 420, append: [{ source: 'data:,10.0.0.2%20db' }] },
          { path: '/tmp/data-ign1/README', overwrite: false, contents: { source: 'data:,hi' } },
          { path: '/usr/share/oem/grub.cfg', overwrite: true, contents: { source: 'data:,set%20linux_append=%22quiet%22' } },
          { path: '/etc/systemd/network/00-eth0.network.d/mtu.conf', overwrite: true, contents: { source: 'data:,%5BLink%5D%0AMTUBytes=9000' }, mode: 420 },
        ],
        directories: [{ path: '/tmp/data-ign1/srv', overwrite: true, mode: 493 }],
      },
    });
  });

  test('2.2: the oem filesystem not wiped is forced to btrfs; counters follow config order', () => {
    const doc = {
      ignition: { version: '2.2.0' },
      storage: {
        filesystems: [
          { name: 'oem', mount: { device: '/dev/disk/by-label/OEM', format: 'ext4' } },
          { name: 'var', mount: { device: '/dev/sdb1', format: 'ext4', create: { force: true, options: ['-m0'] } } },
          { name: 'logs', mount: { device: '/dev/sdb2', format: 'ext4', wipeFilesystem: true } },
        ],
      },
    };
    expect(translateLegacy(doc, '2.2.0')).toEqual({
      ignition: { version: '3.1.0' },
      storage: {
        filesystems: [
          { device: '/dev/disk/by-label/OEM', format: 'btrfs', path: '/usr/share/oem' },
          { device: '/dev/sdb1', format: 'ext4', wipeFilesystem: true, options: ['-m0'], path: '/tmp/var-ign2' },
          { device: '/dev/sdb2', format: 'ext4', wipeFilesystem: true, path: '/tmp/logs-ign3' },
        ],
      },
    });
  });

  test('2.3: partitions in MiB, shouldExist false, wipePartitionEntry', () => {
    const doc = {
      ignition: { version: '2.3.0' },
      storage: {
        disks: [
          {
            device: '/dev/disk/by-id/nvme-0',
            partitions: [
              { number: 9, label: 'ROOT', sizeMiB: 0, startMiB: 0, wipePartitionEntry: true, guid: '3A4E9A3C-3F0B-4C5F-8C0E-6B4E0C5A1B2C' },
              { number: 10, label: 'DATA', sizeMiB: 10240 },
              { number: 11, shouldExist: false },
            ],
          },
        ],
      },
    };
    expect(translateLegacy(doc, '2.3.0')).toEqual({
      ignition: { version: '3.1.0' },
      storage: {
        disks: [
          {
            device: '/dev/disk/by-id/nvme-0',
            partitions: [
              { label: 'ROOT', number: 9, sizeMiB: 0, startMiB: 0, guid: '3A4E9A3C-3F0B-4C5F-8C0E-6B4E0C5A1B2C', wipePartitionEntry: true },
              { label: 'DATA', number: 10, sizeMiB: 10240 },
              { number: 11, shouldExist: false },
            ],
          },
        ],
      },
    });
  });

  test('2.4: HTTP headers and proxy', () => {
    const doc = {
      ignition: {
        version: '2.4.0',
        config: { append: [{ source: 'https://cfg.example/node.ign', httpHeaders: [{ name: 'Authorization', value: 'Bearer t' }] }] },
        proxy: { httpProxy: 'http://proxy:3128', httpsProxy: '', noProxy: ['10.0.0.0/8', '.internal'] },
      },
      storage: { files: [{ filesystem: 'root', path: '/etc/app.conf', contents: { source: 'https://cfg.example/app.conf', httpHeaders: [{ name: 'X-Token', value: 'abc' }] } }] },
    };
    expect(translateLegacy(doc, '2.4.0')).toEqual({
      ignition: {
        version: '3.1.0',
        config: { merge: [{ source: 'https://cfg.example/node.ign', httpHeaders: [{ name: 'Authorization', value: 'Bearer t' }] }] },
        proxy: { httpProxy: 'http://proxy:3128', noProxy: ['10.0.0.0/8', '.internal'] },
      },
      storage: { files: [{ path: '/etc/app.conf', overwrite: true, contents: { source: 'https://cfg.example/app.conf', httpHeaders: [{ name: 'X-Token', value: 'abc' }] } }] },
    });
  });

  test('an empty 2.x config is an empty 3.1.0 config', () => {
    for (const v of ['2.0.0', '2.1.0', '2.2.0', '2.3.0', '2.4.0']) {
      expect(translateLegacy({ ignition: { version: v } }, v)).toEqual({ ignition: { version: '3.1.0' } });
    }
  });
});

describe('what spec 2.x itself rejects', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['mode given as a string', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/a', mode: '0644' }] } }, '/storage/files/0/mode', /expected an integer/],
    ['mode out of range', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/a', mode: 4096 * 2 }] } }, '/storage/files/0/mode', /illegal file mode/],
    ['file without filesystem', { ignition: { version: '2.1.0' }, storage: { files: [{ path: '/a' }] } }, '/storage/files/0/filesystem', /no filesystem specified/],
    ['relative path', { ignition: { version: '2.1.0' }, storage: { directories: [{ filesystem: 'root', path: 'var/x' }] } }, '/storage/directories/0/path', /path not absolute/],
    ['append and overwrite', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/a', append: true, overwrite: true }] } }, '/storage/files/0/append', /append and overwrite/],
    ['bad unit suffix', { ignition: { version: '2.2.0' }, systemd: { units: [{ name: 'etcd', enable: true }] } }, '/systemd/units/0/name', /invalid systemd unit extension/],
    ['bad drop-in suffix', { ignition: { version: '2.2.0' }, systemd: { units: [{ name: 'a.service', dropins: [{ name: 'x.txt' }] }] } }, '/systemd/units/0/dropins/0/name', /drop-in extension/],
    ['bad networkd suffix', { ignition: { version: '2.0.0' }, networkd: { units: [{ name: 'eth0.conf', contents: 'x' }] } }, '/networkd/units/0/name', /networkd unit extension/],
    ['bad URL scheme', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/a', contents: { source: 'ftp://x/y' } }] } }, '/storage/files/0/contents/source', /invalid url scheme/],
    ['bad hash', { ignition: { version: '2.2.0' }, ignition2: 1, storage: { files: [{ filesystem: 'root', path: '/a', contents: { source: 'data:,x', verification: { hash: 'sha256-abcd' } } }] } }, '/storage/files/0/contents/verification/hash', /unrecognized hash function/],
    ['short hash', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/a', contents: { source: 'data:,x', verification: { hash: 'sha512-abcd' } } }] } }, '/storage/files/0/contents/verification/hash', /incorrect size/],
    ['bad compression', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/a', contents: { source: 'data:,x', compression: 'xz' } }] } }, '/storage/files/0/contents/compression', /compression/],
    ['filesystem with mount and path', { ignition: { version: '2.2.0' }, storage: { filesystems: [{ name: 'x', path: '/x', mount: { device: '/dev/sdb', format: 'ext4' } }] } }, '/storage/filesystems/0', /both mount and path/],
    ['ext4 label too long', { ignition: { version: '2.2.0' }, storage: { filesystems: [{ name: 'x', mount: { device: '/dev/sdb', format: 'ext4', label: 'a-very-long-label-here' } }] } }, '/storage/filesystems/0/mount/label', /16 characters/],
    ['vfat in 2.0', { ignition: { version: '2.0.0' }, storage: { filesystems: [{ name: 'x', mount: { device: '/dev/sdb', format: 'vfat' } }] } }, '/storage/filesystems/0/mount/format', /invalid filesystem format/],
    ['partition label with a colon', { ignition: { version: '2.3.0' }, storage: { disks: [{ device: '/dev/sda', partitions: [{ label: 'a:b' }] }] } }, '/storage/disks/0/partitions/0/label', /colon/],
    ['partition numbers collide', { ignition: { version: '2.3.0' }, storage: { disks: [{ device: '/dev/sda', partitions: [{ number: 1 }, { number: 1 }] }] } }, '/storage/disks/0/partitions/1/number', /collide/],
    ['mixing sectors and MiB', { ignition: { version: '2.3.0' }, storage: { disks: [{ device: '/dev/sda', partitions: [{ number: 1, size: 10, sizeMiB: 10 }] }] } }, '/storage/disks/0/partitions/0', /mix/],
    ['disk without device', { ignition: { version: '2.2.0' }, storage: { disks: [{ wipeTable: true }] } }, '/storage/disks/0/device', /device is required/],
    ['raid spares on raid0', { ignition: { version: '2.2.0' }, storage: { raid: [{ name: 'r', level: 'raid0', devices: ['/dev/a'], spares: 1 }] } }, '/storage/raid/0/spares', /spares/],
    ['create and user-level uid', { ignition: { version: '2.1.0' }, passwd: { users: [{ name: 'a', uid: 5, create: {} }] } }, '/passwd/users/0/uid', /create object and the user-level uid/],
    ['node user id and name', { ignition: { version: '2.1.0' }, storage: { files: [{ filesystem: 'root', path: '/a', user: { id: 1, name: 'core' } }] } }, '/storage/files/0/user', /both id and name/],
    ['headers on a data URL', { ignition: { version: '2.4.0' }, storage: { files: [{ filesystem: 'root', path: '/a', contents: { source: 'data:,x', httpHeaders: [{ name: 'A', value: 'b' }] } }] } }, '/storage/files/0/contents/httpHeaders', /HTTP headers/],
    ['bad base64 data URL', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/a', contents: { source: 'data:;base64,!!!' } }] } }, '/storage/files/0/contents/source', /base64/],
  ];
  test.each(cases)('%s', (_name, doc, pointer, message) => {
    const version = (doc as { ignition: { version: string } }).ignition.version;
    const err = failure(doc, version);
    expect(err.kind).toBe('config-invalid');
    expect(err.location?.pointer).toBe(pointer);
    expect(err.message).toMatch(message);
    expect(err.entries.some((e) => e.kind === 'error' && e.location?.pointer === pointer)).toBe(true);
  });

  test('every error is reported, not only the first', () => {
    const err = failure({ ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: 'a' }, { path: '/b', mode: -1 }] } }, '2.2.0');
    expect(err.entries.filter((e) => e.kind === 'error').map((e) => e.location?.pointer)).toEqual([
      '/storage/files/0/path',
      '/storage/files/1/filesystem',
      '/storage/files/1/mode',
    ]);
    expect(err.message).toMatch(/and 2 more errors/);
  });

  test('unsupported 2.x versions are a version error', () => {
    for (const v of ['2.5.0-experimental', '2.4.0-experimental', '2.1.0-experimental', '2.3', '2.3.1']) {
      const err = failure({ ignition: { version: v } }, v);
      expect(err.kind).toBe('config-version');
      expect(err.location?.pointer).toBe('/ignition/version');
    }
  });

  test('a non-object document is refused', () => {
    expect(failure([], '2.2.0').kind).toBe('config-invalid');
    expect(failure('x', '2.2.0').kind).toBe('config-invalid');
  });
});

describe('what spec 3 cannot express', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['a file on an undefined filesystem', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'data', path: '/a' }] } }, '/storage/files/0/filesystem', /"data" is not defined/],
    ['a non-root filesystem given only by path', { ignition: { version: '2.2.0' }, storage: { filesystems: [{ name: 'var', path: '/sysroot/var' }] } }, '/storage/filesystems/0/path', /only a path/],
    ['create without force', { ignition: { version: '2.2.0' }, storage: { filesystems: [{ name: 'd', mount: { device: '/dev/sdb', format: 'ext4', create: { options: ['-F'] } } }] } }, '/storage/filesystems/0/mount/create', /force/],
    ['an oem:// source', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/a', contents: { source: 'oem:///grub.cfg' } }] } }, '/storage/files/0/contents/source', /oem:\/\//],
    ['an oem:// config', { ignition: { version: '2.1.0', config: { append: [{ source: 'oem:///base.ign' }] } } }, '/ignition/config/append/0/source', /oem:\/\//],
    ['two nodes on one path', { ignition: { version: '2.2.0' }, storage: { files: [{ filesystem: 'root', path: '/etc/a' }], directories: [{ filesystem: 'root', path: '/etc/a/' }] } }, '/storage/directories/0/path', /already used by \/storage\/files\/0/],
    ['a path through a link of the config', { ignition: { version: '2.2.0' }, storage: { links: [{ filesystem: 'root', path: '/opt', target: '/var/opt' }], files: [{ filesystem: 'root', path: '/opt/x' }] } }, '/storage/files/0/path', /link \/opt/],
    ['a duplicate unit', { ignition: { version: '2.2.0' }, systemd: { units: [{ name: 'a.service' }, { name: 'a.service', mask: true }] } }, '/systemd/units/1/name', /listed twice/],
    ['a duplicate drop-in', { ignition: { version: '2.2.0' }, systemd: { units: [{ name: 'a.service', dropins: [{ name: 'x.conf' }, { name: 'x.conf' }] }] } }, '/systemd/units/0/dropins/1/name', /listed twice/],
    ['a partition start in sectors', { ignition: { version: '2.3.0' }, storage: { disks: [{ device: '/dev/sda', partitions: [{ number: 1, start: 2048 }] }] } }, '/storage/disks/0/partitions/0/start', /startMiB/],
  ];
  test.each(cases)('%s', (_name, doc, pointer, message) => {
    const version = (doc as { ignition: { version: string } }).ignition.version;
    const err = failure(doc, version);
    expect(err.kind).toBe('config-invalid');
    expect(err.message).toMatch(/cannot be translated to spec 3/);
    expect(err.location?.pointer).toBe(pointer);
    expect(err.message).toMatch(message);
  });
});

describe('the translated documents are valid spec 3.1.0 for Ignition itself', () => {
  const hasOracle = existsSync('/usr/bin/ignition-validate');
  test.skipIf(!hasOracle)('ignition-validate accepts every translation of a realistic 2.x config', () => {
    const configs: Array<[unknown, string]> = [
      [{ ignitionVersion: 1, storage: { filesystems: [{ device: '/dev/sdb1', format: 'ext4', files: [{ path: '/a', contents: 'x y', mode: 420 }] }] }, systemd: { units: [{ name: 'a.service', enable: true, contents: '[Unit]\nDescription=a\n[Install]\nWantedBy=multi-user.target\n' }] }, networkd: { units: [{ name: '00-eth0.network', contents: '[Match]\nName=eth0\n' }] } }, '1'],
      [{ ignition: { version: '2.2.0' }, storage: { filesystems: [{ name: 'oem', mount: { device: '/dev/disk/by-label/OEM', format: 'ext4' } }], files: [{ filesystem: 'oem', path: '/grub.cfg', append: true, contents: { source: 'data:,x' } }, { filesystem: 'root', path: '/etc/hostname', mode: 420, contents: { source: 'data:,n1' } }] }, networkd: { units: [{ name: '00-eth0.network', contents: '[Match]\nName=eth0', dropins: [{ name: 'a.conf', contents: '[Link]\nMTUBytes=9000' }] }] }, passwd: { users: [{ name: 'core', create: { uid: 1000, groups: ['docker'] } }] } }, '2.2.0'],
      [{ ignition: { version: '2.3.0' }, storage: { disks: [{ device: '/dev/sda', partitions: [{ number: 9, label: 'ROOT', sizeMiB: 0 }, { number: 3, shouldExist: false }] }], raid: [{ name: 'md', level: 'raid1', devices: ['/dev/sdb', '/dev/sdc'], spares: 0 }] } }, '2.3.0'],
      [{ ignition: { version: '2.4.0', proxy: { httpProxy: 'http://p:3128', noProxy: ['a'] } }, storage: { files: [{ filesystem: 'root', path: '/etc/x', contents: { source: 'https://h/x', httpHeaders: [{ name: 'A', value: 'b' }] } }], links: [{ filesystem: 'root', path: '/etc/l', target: '/etc/x' }], directories: [{ filesystem: 'root', path: '/var/d', mode: 493 }] } }, '2.4.0'],
    ];
    const dir = mkdtempSync(join(tmpdir(), 'legacy-'));
    try {
      configs.forEach(([doc, v], i) => writeFileSync(join(dir, `${i}.ign`), JSON.stringify(translateLegacy(doc, v))));
      configs.forEach((_c, i) => {
        const run = spawnSync('/usr/bin/ignition-validate', [join(dir, `${i}.ign`)], { encoding: 'utf8' });
        expect({ i, status: run.status, out: run.stdout + run.stderr }).toEqual({ i, status: 0, out: '' });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
