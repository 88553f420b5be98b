// A child process that runs the disks stage (plan, then apply) on a config, for the tests that
// kill it with SIGKILL midway and for the benchmark. Bundled by the tests with rolldown.
// usage: node runner.js CONFIG.json OPTIONS.json   (CONFIG is Ignition JSON of any spec version)
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/config/index.js';
import { disksStage } from '../../stages/disks/index.js';
import { localContext } from '../../src/engine/context.js';
import { KindlingError } from '../../src/errors.js';

async function main(): Promise<number> {
  const { config } = parseConfig(readFileSync(process.argv[2]!));
  const options = JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as Record<string, unknown>;
  const ctx = localContext({ config, root: '/nonexistent', options });
  const plan = await disksStage.plan(ctx);
  if (process.env.KINDLING_PRINT_PLAN) process.stdout.write(JSON.stringify(plan) + '\n');
  await disksStage.apply(ctx, plan);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    const where = err instanceof KindlingError && err.location ? ` at ${err.location.pointer}` : '';
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}${where}\n`);
    process.exit(1);
  },
);
