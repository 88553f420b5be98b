// dracut-module/ignition-kargs-helper on the host (no boot): the kargs stage's distro helper
// edits the OEM partition's grub.cfg, puts the first_boot stamp back and reboots, only when the
// arguments change. The OEM and ESP mounts and the reboot are replaced through its environment.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO } from './harness.js';

const helper = join(REPO, 'dracut-module', 'ignition-kargs-helper');

describe('ignition-kargs-helper', () => {
  let dir: string;
  let oem: string;
  let esp: string;
  const run = (...args: string[]) =>
    execFileSync(helper, args, {
      encoding: 'utf8',
      env: { ...process.env, KINDLING_LIB: join(REPO, 'dracut-module', 'kindling-lib.sh'), KINDLING_OEM_DIR: oem, KINDLING_ESP_DIR: esp, KINDLING_REBOOT: 'echo REBOOT' },
    });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kargs-'));
    oem = join(dir, 'oem');
    esp = join(dir, 'esp');
    mkdirSync(oem);
    mkdirSync(esp);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('adds and removes arguments in one linux_append line, re-arms first boot, reboots', () => {
    writeFileSync(join(oem, 'grub.cfg'), 'set linux_console="console=ttyS0"\nset linux_append="$linux_append flatcar.autologin"\nset linux_append="$linux_append a=1"\n');
    const out = run('--should-exist', 'b=2', '--should-not-exist', 'flatcar.autologin', '--should-exist', 'a=1');
    expect(readFileSync(join(oem, 'grub.cfg'), 'utf8')).toBe('set linux_console="console=ttyS0"\nset linux_append="$linux_append a=1 b=2"\n');
    expect(existsSync(join(esp, 'flatcar', 'first_boot'))).toBe(true);
    expect(out).toMatch(/REBOOT/);
  });

  it('does nothing, and does not reboot, when the arguments are already as asked', () => {
    writeFileSync(join(oem, 'grub.cfg'), 'set linux_append="$linux_append a=1"\n');
    const out = run('--should-exist', 'a=1', '--should-not-exist', 'gone');
    expect(readFileSync(join(oem, 'grub.cfg'), 'utf8')).toBe('set linux_append="$linux_append a=1"\n');
    expect(existsSync(join(esp, 'flatcar', 'first_boot'))).toBe(false);
    expect(out).not.toMatch(/REBOOT/);
  });

  // A disk without an OEM partition (kindling-oem wrote "none"): Flatcar's helper fails there (its
  // mount of /dev/disk/by-label/OEM errors out under set -e before it looks at the arguments), so
  // this one fails too, at once, with one line and nothing written, whatever the arguments are.
  describe.skipIf(existsSync('/dev/disk/by-label/OEM') || readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === '/oem'))(
    'on a disk without an OEM partition',
    () => {
      const runNoOem = (...args: string[]) => {
        const state = join(dir, 'oem-state');
        writeFileSync(state, 'none\n');
        return spawnSync(helper, args, {
          encoding: 'utf8',
          env: { ...process.env, KINDLING_LIB: join(REPO, 'dracut-module', 'kindling-lib.sh'), KINDLING_OEM_STATE: state, KINDLING_ESP_DIR: esp, KINDLING_REBOOT: 'echo REBOOT' },
        });
      };
      for (const args of [
        ['--should-exist', 'console=ttyS1', '--should-not-exist', 'quiet'],
        ['--should-not-exist', 'quiet'],
      ]) {
        it(`fails closed with one readable line: ${args.join(' ')}`, () => {
          const r = runNoOem(...args);
          expect(r.status).toBe(1);
          expect(r.stdout).not.toMatch(/REBOOT/);
          const lines = r.stderr.trim().split('\n');
          expect(lines).toHaveLength(1);
          expect(lines[0]).toMatch(/^kernel arguments cannot be changed \(.*\): there is no OEM partition \(no filesystem labelled OEM\) to hold the grub\.cfg/);
          for (const a of args.filter((x) => !x.startsWith('--'))) expect(lines[0]).toContain(a);
          expect(existsSync(join(esp, 'flatcar')), 'first boot not re-armed').toBe(false);
          expect(existsSync(join(dir, 'oem', 'grub.cfg'))).toBe(false);
        });
      }
    },
  );

  it('creates grub.cfg when the OEM partition has none', () => {
    run('--should-exist', 'console=ttyS1');
    expect(readFileSync(join(oem, 'grub.cfg'), 'utf8')).toBe('set linux_append="$linux_append console=ttyS1"\n');
  });
});
