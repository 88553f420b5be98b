// Placeholder until the stage is written; it fails closed rather than pretending to work.
import { KindlingError } from '../src/errors.js';
import type { Stage } from './types.js';

export const umountStage: Stage = {
  name: 'umount',
  async plan() {
    throw new KindlingError('usage', 'the umount stage is not implemented yet');
  },
  async apply() {
    throw new KindlingError('usage', 'the umount stage is not implemented yet');
  },
};
