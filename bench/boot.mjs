#!/usr/bin/env node
// Kernel-start-to-switch-root time of Kindling's initramfs and of Debian's Ignition 2.14 one,
// each on a fresh disk with Flatcar's layout and the same config (test/qemu/fixtures/
// first-boot.ign in fw_cfg), under QEMU TCG; plus each stage's time as systemd saw it (PID 1
// logs to the kernel log with systemd.log_target=kmsg, so both engines are timed the same way)
// and as Kindling's stage wrapper reported it.
// Usage: node bench/boot.mjs [--reuse] [--config FILE] [--work DIR] [--only kindling|ignition]
//   --reuse: keep initramfs images already in the work directory (from bench/initramfs.mjs or a previous run)
//   --work: where images, disks and consoles go (default .cache/bench; another one keeps runs of
//     several people on one tree apart)
//   --only: boot one engine (the other is the reference; without it a figure has no yardstick)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const opt = (name) => {
  const i = process.argv.indexOf(name);
  return i !== -1 ? process.argv[i + 1] : undefined;
};
const work = opt('--work') ?? join(repo, '.cache', 'bench');
mkdirSync(work, { recursive: true });
const reuse = process.argv.includes('--reuse');
const config = opt('--config') ?? join(repo, 'test', 'qemu', 'fixtures', 'first-boot.ign');
const only = opt('--only');
const q = (s) => join(repo, 'qemu', s);

function initramfs(flavour) {
  const out = join(work, `${flavour}.initramfs.img`);
  if (!(reuse && existsSync(out))) {
    const args = [flavour, out];
    if (flavour === 'kindling' && process.env.KINDLING_BIN) args.push('--kindling-bin', process.env.KINDLING_BIN);
    execFileSync(q('initramfs.sh'), args, { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return out;
}

function bootOnce(flavour, engineArgs) {
  const disk = join(work, `bench-${flavour}.img`);
  const serial = join(work, `bench-${flavour}.console`);
  execFileSync(q('make-image.sh'), [disk], { stdio: 'ignore' });
  const initrd = initramfs(flavour); // built before the clock starts: wall is the boot alone
  const t0 = Date.now();
  const r = spawnSync(
    q('boot.sh'),
    ['--initrd', initrd, '--disk', disk, '--config', config, '--serial', serial, '--timeout', '300',
     '--until', 'Press Enter for maintenance|Give root password',
     '--append', `${engineArgs} systemd.log_target=kmsg printk.devkmsg=on`],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const wall = (Date.now() - t0) / 1000;
  const text = readFileSync(serial, 'utf8');
  const sw = /KINDLING-TEST-ROOT: switched root at uptime=([\d.]+)s/.exec(text);
  // systemd[1] lines: "[  12.345678] systemd[1]: Starting kindling-files.service - ..."
  const units = {};
  // "Started" for a long-running service (kindling-server: its ExecStartPost saw it ready).
  for (const m of text.matchAll(/\[\s*([\d.]+)\] systemd\[1\]: (Starting|Finished|Started) ((?:kindling|ignition)-[\w-]+)\.service/g)) {
    const u = (units[m[3]] ??= {});
    u[m[2] === 'Starting' ? 'start' : 'end'] = Number(m[1]);
  }
  const wrapper = {};
  for (const m of text.matchAll(/kindling: stage (\S+) ok in (\d+) ms/g)) wrapper[m[1]] = Number(m[2]);
  // CPU time of the server's unit: node plus whatever its ExecStartPre/Post started.
  const serverCpu = /kindling-server\.service: Consumed ([\d.]+)s CPU time/.exec(text);
  const kernelStart = /\[\s*([\d.]+)\] .*Run \/init as init process/.exec(text);
  return { ok: r.status === 0 && !!sw, status: r.status, wall, switchRoot: sw ? Number(sw[1]) : undefined, initStart: kernelStart ? Number(kernelStart[1]) : undefined, units, wrapper, serverCpu: serverCpu ? Number(serverCpu[1]) : undefined };
}

const results = {};
if (only !== 'ignition') results.kindling = bootOnce('kindling', '');
if (only !== 'kindling') results.ignition = bootOnce('ignition', 'ignition.firstboot ignition.platform.id=qemu');

console.log(`\nfirst boot under QEMU TCG, config ${config}`);
console.log('engine     switch-root (kernel uptime)   /init started   wall (QEMU start to power off)');
for (const [e, r] of Object.entries(results)) {
  console.log(`${e.padEnd(9)}  ${(r.switchRoot !== undefined ? r.switchRoot.toFixed(2) + ' s' : 'not reached (status ' + r.status + ')').padStart(24)}   ${String(r.initStart ?? '?').padStart(12)} s   ${r.wall.toFixed(1)} s`);
}
if (results.kindling?.switchRoot && results.ignition?.switchRoot) {
  console.log(`kindling - ignition: ${(results.kindling.switchRoot - results.ignition.switchRoot).toFixed(2)} s to switch-root`);
}
console.log('\nper stage, as systemd saw it (Starting -> Finished, seconds):');
for (const stage of ['server', 'fetch-offline', 'network', 'fetch', 'kargs', 'disks', 'mount', 'files', 'quench']) {
  const k = results.kindling?.units[`kindling-${stage}`];
  const i = results.ignition?.units[`ignition-${stage}`];
  const d = (u) => (u?.start !== undefined && u?.end !== undefined ? (u.end - u.start).toFixed(2).padStart(6) : '     -');
  console.log(`  ${stage.padEnd(14)} kindling ${d(k)}   ignition ${d(i)}`);
}
if (results.kindling) {
  const srv = results.kindling.units['kindling-server'];
  if (srv?.end !== undefined) console.log(`\nstage server ready (Started) at ${srv.end.toFixed(2)} s of kernel time; its unit used ${results.kindling.serverCpu ?? '?'} s of CPU`);
  console.log(`Kindling's own per-stage times (kindling-stage wrapper, ms): ${JSON.stringify(results.kindling.wrapper)}`);
}
