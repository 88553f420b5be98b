// Placeholder until the stage is written; it fails closed rather than pretending to work.
import { KindlingError } from '../src/errors.js';
import type { Stage } from './types.js';

export const kargsStage: Stage = {
  name: 'kargs',
  async plan() {
    throw new KindlingError('usage', 'the kargs stage is not implemented yet');
  },
  async apply() {
    throw new KindlingError('usage', 'the kargs stage is not implemented yet');
  },
};
