// Types of the precompiled validator (generated-validators.js, made by scripts/build-validators.mjs).
import type { ErrorObject } from 'ajv';

export interface TypeValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** JSON types of a decoded config document of any 3.x version (the newest schema, which is a superset). */
export declare const validateTypes: TypeValidator;
