#!/usr/bin/env node
// Benchmark: the disks stage on a 16 GiB sparse Flatcar-layout image on a loop device — ROOT
// resized to 6 GiB, three new 2 GiB partitions with ext4, xfs and btrfs — Kindling (the bundled
// Ignition-compatible CLI: `kindling -platform file -stage disks`) against Debian's Ignition 2.14
// running the same config cache. Each run gets a fresh image. Prints per-run wall times, the
// medians and the ratio. Needs root (loop devices). usage: node bench/disks.mjs [RUNS]
import { execFileSync, spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.argv[2] ?? 3);
const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';
const root = process.cwd();
const dir = mkdtempSync(join(tmpdir(), 'kindling-bench-disks-'));
const loops = [];
let shim;

// Async: the shim answering Ignition runs in this process and must not be blocked.
function timed(cmd, args, env) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }).toString();
}

try {
  // Kindling's bundle, and a bundle of the image builder (TypeScript) for this script.
  sh('node', ['scripts/build.mjs', '--out', join(dir, 'kindling')], { cwd: root });
  sh('npx', ['rolldown', 'src/disk/flatcar-layout.ts', 'test/conformance/blackbox/systemd-shim.ts', '--platform', 'node', '--format', 'esm', '--dir', join(dir, 'lib')], { cwd: root });
  writeFileSync(join(dir, 'lib', 'package.json'), '{"type":"module"}');
  const { createFlatcarImage } = await import(join(dir, 'lib', 'flatcar-layout.js'));
  // Ignition 2.14 waits for block devices through systemd's D-Bus socket; with no systemd here the
  // blackbox harness's shim answers (only if nothing listens there already). Kindling ignores it.
  const { startSystemdShim } = await import(join(dir, 'lib', 'systemd-shim.js'));
  shim = await startSystemdShim();

  const config = (dev) => ({
    ignition: { version: '3.3.0' },
    storage: {
      disks: [
        {
          device: dev,
          partitions: [
            { number: 9, label: 'ROOT', resize: true, sizeMiB: 4096 },
            { number: 10, label: 'DATA-EXT4', sizeMiB: 1536 },
            { number: 11, label: 'DATA-XFS', sizeMiB: 1536 },
            { number: 12, label: 'DATA-BTRFS', sizeMiB: 1536 },
          ],
        },
      ],
      filesystems: [
        { device: `${dev}p10`, format: 'ext4', label: 'data-ext4', wipeFilesystem: true },
        { device: `${dev}p11`, format: 'xfs', label: 'data-xfs', wipeFilesystem: true },
        { device: `${dev}p12`, format: 'btrfs', label: 'data-btrfs', wipeFilesystem: true },
      ],
    },
  });

  async function freshDisk(tag) {
    const img = join(dir, `${tag}.img`);
    await createFlatcarImage(img, 16 * 1024 ** 3, { filesystems: ['ext4'] });
    const dev = sh('losetup', ['--find', '--show', img]).trim();
    loops.push(dev);
    spawnSync('partx', ['-d', dev]);
    spawnSync('partx', ['-a', dev]);
    return { img, dev };
  }

  function detach(dev, img) {
    spawnSync('partx', ['-d', dev]);
    spawnSync('losetup', ['-d', dev]);
    loops.splice(loops.indexOf(dev), 1);
    rmSync(img, { force: true });
  }

  function check(dev) {
    const t = JSON.parse(sh('sfdisk', ['--json', dev])).partitiontable.partitions;
    const names = t.map((p) => p.name).join(',');
    if (!names.includes('DATA-EXT4,DATA-XFS,DATA-BTRFS')) throw new Error(`unexpected table: ${names}`);
    const types = [10, 11, 12].map((n) => sh('blkid', ['-p', '-o', 'value', '-s', 'TYPE', `${dev}p${n}`]).trim()).join(',');
    if (types !== 'ext4,xfs,btrfs') throw new Error(`unexpected filesystems: ${types}`);
  }

  async function runKindling(dev, tag, writer = 'kindling', growRoot = '1') {
    const cache = join(dir, `${tag}.json`);
    writeFileSync(cache, JSON.stringify(config(dev)));
    const state = join(dir, `${tag}.state`);
    const r = await timed(join(dir, 'kindling'), ['-platform', 'file', '-stage', 'disks', '-config-cache', cache, '-state-file', state], { ...process.env, KINDLING_DISKS_STATE_DIR: join(dir, `${tag}.kst`), KINDLING_GPT_WRITER: writer, KINDLING_GROW_ROOT: growRoot });
    if (r.code !== 0) throw new Error(`kindling failed: ${r.out.slice(-2000)}`);
    return r.ms;
  }

  async function runIgnition(dev, tag) {
    const cfg = join(dir, `${tag}.ign`);
    writeFileSync(cfg, JSON.stringify(config(dev)));
    const cache = join(dir, `${tag}.cache`);
    const state = join(dir, `${tag}.istate`);
    const common = ['-platform', 'file', '-config-cache', cache, '-state-file', state, '-log-to-stdout'];
    const f = await timed(IGNITION, ['-stage', 'fetch', ...common], { ...process.env, IGNITION_CONFIG_FILE: cfg });
    if (f.code !== 0) throw new Error(`ignition fetch failed: ${f.out}`);
    const r = await timed(IGNITION, ['-stage', 'disks', ...common], process.env);
    if (r.code !== 0) throw new Error(`ignition disks failed: ${r.out.slice(-2000)}`);
    return r.ms;
  }

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const k = [];
  const ks = [];
  const kn = [];
  const ig = [];
  const haveIgnition = existsSync(IGNITION);
  for (let i = 0; i < RUNS; i++) {
    {
      const { img, dev } = await freshDisk(`k${i}`);
      k.push(await runKindling(dev, `k${i}`));
      check(dev);
      detach(dev, img);
    }
    {
      // Like for like with Ignition, which does not grow ROOT's filesystem.
      const { img, dev } = await freshDisk(`n${i}`);
      kn.push(await runKindling(dev, `n${i}`, 'kindling', '0'));
      check(dev);
      detach(dev, img);
    }
    {
      // The same with sgdisk writing the table, to show what our own GPT writer saves.
      const { img, dev } = await freshDisk(`s${i}`);
      ks.push(await runKindling(dev, `s${i}`, 'sgdisk'));
      check(dev);
      detach(dev, img);
    }
    if (haveIgnition) {
      const { img, dev } = await freshDisk(`i${i}`);
      ig.push(await runIgnition(dev, `i${i}`));
      check(dev);
      detach(dev, img);
    }
  }
  const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(`disks stage, 16 GiB Flatcar-layout image: ROOT resize + 3 partitions + ext4/xfs/btrfs (${RUNS} runs each)`);
  console.log(`  kindling: ${fmt(k)} ms  (median ${median(k).toFixed(0)} ms)`);
  console.log(`  kindling, ROOT's filesystem not grown (like Ignition): ${fmt(kn)} ms  (median ${median(kn).toFixed(0)} ms)`);
  console.log(`  kindling, tables written by sgdisk: ${fmt(ks)} ms  (median ${median(ks).toFixed(0)} ms)`);
  if (haveIgnition) {
    console.log(`  ignition: ${fmt(ig)} ms  (median ${median(ig).toFixed(0)} ms)`);
    console.log(`  ratio ignition/kindling: ${(median(ig) / median(k)).toFixed(2)}x; like for like (no ROOT fs growth): ${(median(ig) / median(kn)).toFixed(2)}x`);
  } else console.log('  ignition: not installed here');
} finally {
  await shim?.close();
  for (const l of loops) {
    spawnSync('partx', ['-d', l]);
    spawnSync('losetup', ['-d', l]);
  }
  rmSync(dir, { recursive: true, force: true });
}
