// IBM z/VM (Ignition's "zvm"): the config is a spool file of type "ign" in the virtual machine's
// reader (virtual unit record device 000c), received with s390-tools, as Ignition's provider does:
//   modprobe vmur                                    (a failure is fatal)
//   chccwdev -e 000c; on failure cio_ignore -r 000c, then chccwdev -e 000c again
//   udevadm settle
//   vmur li                                          (the reader queue)
//   vmur re -f SPOOLID NAME.ign                      (the first file whose TYPE is "ign")
// then the file's bytes, NUL bytes trimmed from both ends, are the config; no "ign" file = no
// config. Unlike Ignition, which receives the file into its working directory and leaves it there,
// Kindling receives it into a private temporary directory and removes it afterwards.
// vmur li lines: ORIGINID FILE CLASS RECORDS CPY HOLD DATE TIME NAME TYPE DIST (Ignition reads
// fields 1 = spool id, 9 = name, 10 = type, and stops at the first line with one field or less).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KindlingError } from '../../errors.js';
import { run } from '../../system/exec.js';
import type { Provider, ProviderContext } from './types.js';

const READER = '000c';

async function tool(ctx: ProviderContext, what: string, cmd: string, args: string[], cwd?: string): Promise<void> {
  const r = await run(cmd, args, { allowFailure: true, timeout: 60_000, cwd });
  if (r.exitCode !== 0) throw new KindlingError('platform', `${what}: ${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
}

async function onlineReader(ctx: ProviderContext): Promise<void> {
  const first = await run('chccwdev', ['-e', READER], { allowFailure: true, timeout: 60_000 });
  if (first.exitCode !== 0) {
    ctx.env.log.info(`chccwdev -e ${READER} failed; exposing the reader device with cio_ignore`);
    await tool(ctx, `couldn't expose reader device "${READER}"`, 'cio_ignore', ['-r', READER]);
    await tool(ctx, "couldn't online reader device", 'chccwdev', ['-e', READER]);
  }
  await tool(ctx, 'settling udev', 'udevadm', ['settle']);
}

/** Spool files in the reader queue, as Ignition splits `vmur li`. */
export function parseReaderList(text: string): { spoolId: string; file: string; type: string }[] {
  const out: { spoolId: string; file: string; type: string }[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).filter(Boolean);
    if (f.length <= 1) break;
    if (f.length < 11) continue;
    out.push({ spoolId: f[1]!, file: `${f[9]}.${f[10]}`, type: f[10]! });
  }
  return out;
}

export const zvm: Provider = {
  name: 'zvm',
  source: 'z/VM reader (vmur): the first spool file of type "ign"',
  network: false,
  async fetch(ctx) {
    if (ctx.env.modprobe) await tool(ctx, "couldn't install vmur module", 'modprobe', ['vmur']);
    await onlineReader(ctx);
    const li = await run('vmur', ['li'], { allowFailure: true, timeout: 60_000 });
    if (li.exitCode !== 0) throw new KindlingError('platform', `can not get reader device: vmur li: ${li.stderr.trim() || `exit ${li.exitCode}`}`);
    const ign = parseReaderList(li.stdout).find((e) => e.type === 'ign');
    if (!ign) {
      ctx.env.log.info('no spool file of type "ign" in the z/VM reader');
      return null;
    }
    if (/[/\0]/.test(ign.file)) throw new KindlingError('platform', `refusing the spool file name ${JSON.stringify(ign.file)}`);
    const dir = mkdtempSync(join(tmpdir(), 'kindling-zvm-'));
    try {
      await tool(ctx, 'receiving the spool file', 'vmur', ['re', '-f', ign.spoolId, ign.file], dir);
      ctx.env.log.info(`using config file at "${ign.file}" (spool file ${ign.spoolId})`);
      const raw = readFileSync(join(dir, ign.file));
      let a = 0;
      let b = raw.length;
      while (a < b && raw[a] === 0) a++;
      while (b > a && raw[b - 1] === 0) b--;
      return raw.subarray(a, b);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
