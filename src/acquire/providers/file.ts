// The file platform (tests, and Ignition's blackbox suite): the file named by IGNITION_CONFIG_FILE,
// default "config.ign" in the working directory. A missing file is "no provider", which fails the
// fetch as in Ignition ("config provider not available").
import { readFileSync } from 'node:fs';
import { KindlingError } from '../../errors.js';
import { NoProviderError } from '../errors.js';
import type { Provider } from './types.js';

export const file: Provider = {
  name: 'file',
  source: 'the file named by IGNITION_CONFIG_FILE (default config.ign)',
  network: false,
  async fetch(ctx) {
    const path = ctx.env.configFile;
    ctx.env.log.info(`using config file at "${path}"`);
    try {
      return readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NoProviderError(`config file "${path}" does not exist (file platform)`);
      throw new KindlingError('platform', `couldn't read config "${path}": ${(err as Error).message}`);
    }
  },
};
