// The order of the stages and how a stage is found by name. The engine knows nothing else of them.
// A run uses one stage (the initrd starts a process per stage) or a few (plan, apply), so each
// stage module is loaded when its plan() is first called, not when this registry is imported:
// `import()` with webpackMode "eager" keeps it inside the one bundle file but evaluates its module
// graph (disk probing, the files stage, the acquire layer...) only on that call.
// getStage() stays synchronous for its callers: it returns a facade whose plan() and apply()
// load the real stage and delegate to it.
import { KindlingError } from '../src/errors.js';
import type { Plan, Stage, StageContext, StageName } from './types.js';
import { STAGE_NAMES } from './types.js';

const LOADERS: Record<StageName, () => Promise<Stage>> = {
  'fetch-offline': async () => (await import(/* webpackMode: "eager" */ './fetch-offline.js')).fetchOfflineStage,
  fetch: async () => (await import(/* webpackMode: "eager" */ './fetch.js')).fetchStage,
  kargs: async () => (await import(/* webpackMode: "eager" */ './kargs.js')).kargsStage,
  disks: async () => (await import(/* webpackMode: "eager" */ './disks/index.js')).disksStage,
  mount: async () => (await import(/* webpackMode: "eager" */ './mount.js')).mountStage,
  files: async () => (await import(/* webpackMode: "eager" */ './files/index.js')).filesStage,
  umount: async () => (await import(/* webpackMode: "eager" */ './umount.js')).umountStage,
};

const FACADES = new Map<StageName, Stage>();
const LOADED = new Map<StageName, Promise<Stage>>();

function load(name: StageName): Promise<Stage> {
  let p = LOADED.get(name);
  if (!p) LOADED.set(name, (p = LOADERS[name]()));
  return p;
}

function facade(name: StageName): Stage {
  const real = (): Promise<Stage> => load(name);
  return {
    name,
    plan: async (ctx: StageContext) => (await real()).plan(ctx),
    apply: async (ctx: StageContext, plan: Plan) => (await real()).apply(ctx, plan),
  };
}

export function getStage(name: string): Stage {
  if (!(STAGE_NAMES as readonly string[]).includes(name)) {
    throw new KindlingError('usage', `unknown stage "${name}"; stages are ${STAGE_NAMES.join(', ')}`);
  }
  const n = name as StageName;
  let s = FACADES.get(n);
  if (!s) FACADES.set(n, (s = facade(n)));
  return s;
}

/** Loads every stage now, in boot order: the stage server does it while it waits for work. */
export async function preloadStages(): Promise<void> {
  for (const n of STAGE_NAMES) await load(n);
}

/** The stages after fetching, in boot order: what `kindling plan` and `kindling apply` walk. */
export const CONFIG_STAGES: StageName[] = ['kargs', 'disks', 'mount', 'files', 'umount'];
export { STAGE_NAMES };
