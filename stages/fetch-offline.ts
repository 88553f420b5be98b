// Placeholder until the stage is written; it fails closed rather than pretending to work.
import { KindlingError } from '../src/errors.js';
import type { Stage } from './types.js';

export const fetchOfflineStage: Stage = {
  name: 'fetch-offline',
  async plan() {
    throw new KindlingError('usage', 'the fetch-offline stage is not implemented yet');
  },
  async apply() {
    throw new KindlingError('usage', 'the fetch-offline stage is not implemented yet');
  },
};
