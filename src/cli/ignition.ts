// Placeholder until the command is written; it fails rather than pretending to work.
import { KindlingError } from '../errors.js';

export async function runIgnition(_argv: string[]): Promise<number> {
  throw new KindlingError('usage', 'this command is not implemented yet');
}
