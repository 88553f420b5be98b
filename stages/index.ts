// The order of the stages and how a stage is found by name. The engine knows nothing else of them.
// Stage modules must stay cheap to import: heavy dependencies (the HTTP stack) load lazily.
import { KindlingError } from '../src/errors.js';
import { disksStage } from './disks/index.js';
import { fetchOfflineStage } from './fetch-offline.js';
import { fetchStage } from './fetch.js';
import { filesStage } from './files/index.js';
import { kargsStage } from './kargs.js';
import { mountStage } from './mount.js';
import type { Stage, StageName } from './types.js';
import { STAGE_NAMES } from './types.js';
import { umountStage } from './umount.js';

const REGISTRY: Record<StageName, Stage> = {
  'fetch-offline': fetchOfflineStage,
  fetch: fetchStage,
  kargs: kargsStage,
  disks: disksStage,
  mount: mountStage,
  files: filesStage,
  umount: umountStage,
};

export function getStage(name: string): Stage {
  if (!(STAGE_NAMES as readonly string[]).includes(name)) {
    throw new KindlingError('usage', `unknown stage "${name}"; stages are ${STAGE_NAMES.join(', ')}`);
  }
  return REGISTRY[name as StageName];
}

/** The stages after fetching, in boot order: what `kindling plan` and `kindling apply` walk. */
export const CONFIG_STAGES: StageName[] = ['kargs', 'disks', 'mount', 'files', 'umount'];
export { STAGE_NAMES };
