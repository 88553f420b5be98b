// Provisioning a sparse disk image as a first boot would: create it with Flatcar's layout when it
// does not exist, attach it to a loop device, then run disks → mount ROOT → mount → files → umount,
// each stage planning first and applying that plan. Whatever happens, ROOT is unmounted and the
// loop device detached before this returns.
import { existsSync, mkdtempSync, openSync, closeSync, ftruncateSync, fstatSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getStage } from '../../stages/index.js';
import type { Plan, StageName } from '../../stages/types.js';
import { createFlatcarImage, FLATCAR_IMAGE_BYTES } from '../disk/flatcar-layout.js';
import { attachImage } from '../disk/loop.js';
import { findByName } from '../disk/resolve.js';
import { KindlingError } from '../errors.js';
import { run } from '../system/exec.js';
import { localContext } from './context.js';
import { parseSize } from './disk-args.js';
import { seedBaseAccounts } from './base-root.js';
import type { LoadedConfig } from './load-config.js';
import { formatPlanText, planDocument, type StagePlanResult } from './plan-format.js';

/**
 * Create a stock-sized Flatcar image when the file is missing, then grow the file when --size asks
 * for more: exactly what writing the stock image onto a bigger disk gives a first boot (the backup
 * GPT header is then misplaced, and the disks stage moves it).
 */
async function prepareImage(image: string, size: string | undefined): Promise<void> {
  const bytes = size === undefined ? undefined : parseSize(size);
  if (size !== undefined && bytes === undefined) throw new KindlingError('usage', `--size takes a size such as 8G or 16GiB, got "${size}"`);
  if (!existsSync(image)) await createFlatcarImage(image, Math.min(bytes ?? FLATCAR_IMAGE_BYTES, FLATCAR_IMAGE_BYTES));
  if (bytes === undefined) return;
  const fd = openSync(image, 'r+');
  try {
    const have = fstatSync(fd).size;
    if (bytes < have) throw new KindlingError('usage', `--size ${size} is smaller than ${image} (${have} bytes); an image is never shrunk`);
    if (bytes > have) ftruncateSync(fd, bytes); // sparse: the new space costs nothing until written
  } finally {
    closeSync(fd);
  }
}

/** Every disk the config names, mapped onto the one loop device (the image is "the" disk). */
function deviceMapFor(loaded: LoadedConfig, loop: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const d of loaded.config.storage?.disks ?? []) map[d.device] = loop;
  return map;
}

export async function applyToImage(loaded: LoadedConfig, image: string, size: string | undefined, json: boolean): Promise<number> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new KindlingError('usage', 'kindling apply --image needs root: it attaches the image to a loop device and mounts it');
  }
  if ((loaded.config.storage?.disks ?? []).length > 1) {
    throw new KindlingError('disk', 'the config names more than one disk; kindling apply --image provisions exactly one', { location: { pointer: '/storage/disks' } });
  }
  await prepareImage(image, size);

  const attached = await attachImage(image);
  const loop = attached.device;
  const mountDir = mkdtempSync(join(tmpdir(), 'kindling-image-root-'));
  // This run's own state (disks journal, mount points created): never shared with another run.
  const stateDir = mkdtempSync(join(tmpdir(), 'kindling-image-state-'));
  let rootMounted = false;
  const results: StagePlanResult[] = [];
  const options = { deviceMap: deviceMapFor(loaded, loop), candidateDisks: [loop], rootDisk: loop, stateDir };
  const step = async (name: StageName, root: string): Promise<Plan> => {
    const stage = getStage(name);
    const ctx = localContext({ config: loaded.config, root, options });
    const plan = await stage.plan(ctx);
    results.push({ stage: name, plan });
    await stage.apply(ctx, plan);
    return plan;
  };
  try {
    await step('disks', mountDir);
    const rootDev = await findByName('partlabel', 'ROOT', [loop]);
    if (!rootDev) throw new KindlingError('disk', `${image} has no partition labelled ROOT to provision`);
    await run('mount', [rootDev, mountDir]);
    rootMounted = true;
    seedBaseAccounts(mountDir);
    try {
      await step('mount', mountDir);
      await step('files', mountDir);
    } finally {
      // umount runs even when mount or files failed, as it does in the initrd.
      await step('umount', mountDir);
    }
  } finally {
    if (rootMounted) await run('umount', [mountDir], { allowFailure: true });
    rmSync(mountDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
    await attached.detach();
  }
  const doc = planDocument(loaded.origin, loaded.sourceVersion, loaded.report, results);
  process.stdout.write(json ? JSON.stringify(doc, null, 2) + '\n' : formatPlanText(doc));
  process.stdout.write(`provisioned ${image}\n`);
  return 0;
}
