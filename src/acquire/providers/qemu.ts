// QEMU: the config in the firmware configuration device, exposed by the qemu_fw_cfg module under
// /sys/firmware/qemu_fw_cfg/by_name/<key>/raw. Flatcar's Ignition looks for
// opt/org.flatcar-linux/config first, then upstream's opt/com.coreos/config. Both are read in one
// pass: the sysfs file is read with a single read() of its advertised size (qemu_fw_cfg costs
// O(offset) per read, so many small reads are quadratic), plus one guard byte to detect a size
// that lies. No config in either key is an empty config (upstream's "QEMU firmware config was not
// found. Ignoring..."); Flatcar's older fork failed instead, which the README notes.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { KindlingError } from '../../errors.js';
import { run } from '../../system/exec.js';
import type { Provider, ProviderContext } from './types.js';

export const FW_CFG_KEYS = ['opt/org.flatcar-linux/config', 'opt/com.coreos/config'];

function readBlob(dir: string): Buffer {
  let size: number;
  try {
    size = parseInt(readFileSync(join(dir, 'size'), 'utf8').trim(), 10);
  } catch {
    size = NaN;
  }
  const fd = openSync(join(dir, 'raw'), 'r');
  try {
    if (!Number.isFinite(size) || size < 0) {
      // No usable size file: read to EOF in large chunks.
      return readFileSync(fd);
    }
    const buf = Buffer.alloc(size + 1);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got > size) throw new KindlingError('platform', `QEMU firmware config ${dir}: more data than its size (${size} bytes) says; missing EOF`);
    if (got < size) throw new KindlingError('platform', `QEMU firmware config ${dir}: read ${got} of ${size} bytes`);
    return buf.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

async function ensureModule(ctx: ProviderContext): Promise<void> {
  if (existsSync(join(ctx.env.fwCfgDir, 'by_name')) || !ctx.env.modprobe) return;
  // Ignition runs `modprobe qemu_fw_cfg` every time; only when the interface is missing here, and a
  // failure is logged rather than fatal, since a kernel with the driver built in has no module.
  const r = await run('modprobe', ['qemu_fw_cfg'], { allowFailure: true, timeout: 30_000 });
  if (r.exitCode !== 0) ctx.env.log.info(`modprobe qemu_fw_cfg failed (${r.stderr.trim() || `exit ${r.exitCode}`}); continuing`);
}

export const qemu: Provider = {
  name: 'qemu',
  source: 'QEMU fw_cfg: opt/org.flatcar-linux/config, then opt/com.coreos/config (/sys/firmware/qemu_fw_cfg/by_name/KEY/raw)',
  network: false,
  async fetch(ctx) {
    await ensureModule(ctx);
    for (const key of FW_CFG_KEYS) {
      const dir = join(ctx.env.fwCfgDir, 'by_name', key);
      if (!existsSync(join(dir, 'raw'))) continue;
      ctx.env.log.info(`reading QEMU firmware config ${key}`);
      return readBlob(dir);
    }
    ctx.env.log.info('QEMU firmware config was not found. Ignoring...');
    return null;
  },
};
