// The JSON-type check of decoded config documents: ajv code generated at build time
// (scripts/build-validators.mjs) from the newest schema, so no schema compiler runs at start-up.
// One validator serves every 3.x version (see that script for why).
import { validateTypes, type TypeValidator } from './generated-validators.js';

export function schemaValidator(_version: string): TypeValidator {
  return validateTypes;
}
