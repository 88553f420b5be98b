// Writing a small file the files stage owns (a unit, a drop-in, the provisioning report, a file a
// provider handed over) as
// Ignition does: a temporary file beside the target, root-owned, the final mode, renamed over.
// Ownership that only root can set is reported, not fatal, in unprivileged runs.
import { randomBytes } from 'node:crypto';
import { chownSync } from 'node:fs';
import { chmod, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { toInRoot } from '../../src/root/resolve.js';
import type { StageContextConfig } from './context.js';
import { errno } from './util.js';

export async function writeRootOwnedFile(cfg: StageContextConfig, p: string, contents: string | Buffer, mode: number, fsync: boolean): Promise<void> {
  const dir = path.dirname(p);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = path.join(dir, `.kindling-${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(contents);
    if (fsync) await fh.sync();
    await fh.close();
    // Reported, not fatal, when not running as root (shown under its final name).
    try {
      chownSync(tmp, 0, 0);
    } catch (err) {
      if (!(cfg.unprivileged && errno(err) === 'EPERM')) throw err;
      cfg.unprivilegedReport.push(`${toInRoot(cfg.root, p)}: would be owned by root (needs root)`);
    }
    await chmod(tmp, mode);
    await rename(tmp, p);
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
