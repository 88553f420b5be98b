// A StageContext for the human subcommands (plan, apply). The initrd path builds its own from
// Ignition's flags (src/cli/ignition.ts); both feed the same stages.
import type { Config } from '../config/types.js';
import type { StageContext } from '../../stages/types.js';
import { getLogger } from '../log/logger.js';

export interface LocalContextOptions {
  config: Config;
  root: string;
  /** Passed through to the stages (disk maps, unprivileged mode, dry-run flags). */
  options?: Record<string, unknown>;
}

export function localContext(o: LocalContextOptions): StageContext {
  return {
    config: o.config,
    root: o.root,
    platform: 'file',
    log: getLogger(),
    configCache: '',
    stateFile: '',
    needNetFile: '',
    fetchTimeoutMs: 60_000,
    options: o.options ?? {},
  };
}
