// `kindling apply CONFIG --root DIR`: the files stage against a directory tree, as a developer
// would run it on a laptop (no root needed unless ownership must change; then it says what it
// could not chown). `kindling apply CONFIG --image FILE [--size 8G]`: every stage against a
// sparse disk image through a loop device (needs root).
import { mkdirSync } from 'node:fs';
import { getStage } from '../../stages/index.js';
import { localContext } from '../engine/context.js';
import { loadConfig } from '../engine/load-config.js';
import { formatPlanText, planDocument } from '../engine/plan-format.js';
import { KindlingError } from '../errors.js';
import { createLogger, setLogger } from '../log/logger.js';
import { parseFlags } from './flags.js';
import { applyToImage } from '../engine/apply-image.js';
import { seedBaseAccounts } from '../engine/base-root.js';

export async function runApply(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, { booleans: ['json', 'quiet'], strings: ['root', 'image', 'size'], interspersed: true });
  const origin = flags.rest[0];
  const { root, image } = flags.values;
  if (!origin || flags.rest.length > 1 || (!root && !image) || (root && image)) {
    throw new KindlingError('usage', 'usage: kindling apply CONFIG --root DIR | --image FILE [--size 8G]');
  }
  setLogger(createLogger({ level: flags.booleans.quiet ? 'warn' : 'info' }));
  const loaded = await loadConfig(origin);
  for (const w of loaded.report) process.stderr.write(`warning: ${w.message}${w.location ? ` at ${w.location.pointer || '/'}` : ''}\n`);

  if (image) return applyToImage(loaded, image, flags.values.size, flags.booleans.json ?? false);

  mkdirSync(root!, { recursive: true });
  for (const f of seedBaseAccounts(root!)) process.stderr.write(`note: ${root} had no accounts; seeded ${f} with Flatcar's base\n`);
  const unprivileged = typeof process.getuid === 'function' && process.getuid() !== 0;
  const ctx = localContext({ config: loaded.config, root: root!, options: { unprivileged } });
  const files = getStage('files');
  const plan = await files.plan(ctx);
  const doc = planDocument(origin, loaded.sourceVersion, [], [{ stage: 'files', plan }]);
  process.stdout.write(flags.booleans.json ? JSON.stringify(doc, null, 2) + '\n' : formatPlanText(doc));
  await files.apply(ctx, plan);
  process.stdout.write(`applied ${plan.ops.length} operations to ${root}\n`);
  return 0;
}
