// Spec 1.x and 2.0–2.3 configs translated to 3.x the way Flatcar's ignition-converter does.
// (Body filled in by the legacy-translation work; the signature is the contract.)
import { KindlingError } from '../../errors.js';

/**
 * Translate a parsed (JSON.parse'd) spec 1.x/2.x document into a spec 3.x JSON document (plain
 * object with ignition.version set to a 3.x version) that the 3.x parser then validates.
 * Throws KindlingError('config-invalid') naming the JSON pointer of what cannot be translated.
 */
export function translateLegacy(_doc: unknown, _declaredVersion: string): Record<string, unknown> {
  throw new KindlingError('config-version', 'spec 1.x/2.x configs are not supported yet');
}
