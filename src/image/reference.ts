/**
 * The throwing form of src/oci/reference.ts: the reference grammar lives on the ground floor,
 * which cannot make BuildErrors; these make its `Invalid` the user error INVALID_ARGUMENT, with
 * the same message and hint. Everything else about references (the `Reference` type,
 * `familiarName`, `registryHost`, the Docker Hub names) is imported from src/oci directly.
 */
import { BuildError } from '../errors.js';
import { isInvalid, readReference, readRegistry, retag, type Invalid, type Reference } from '../oci/reference.js';

function valid<T>(r: T | Invalid): T {
  if (isInvalid(r)) throw new BuildError('INVALID_ARGUMENT', r.invalid, r.hint ? { hint: r.hint } : {});
  return r;
}

/** `readReference`, throwing BuildError INVALID_ARGUMENT for an invalid reference. */
export function parseReference(input: string): Reference {
  return valid(readReference(input));
}

/** `readRegistry`, throwing BuildError INVALID_ARGUMENT for a bad host. */
export function normalizeRegistry(input: string): string {
  return valid(readRegistry(input));
}

/** `retag`, throwing BuildError INVALID_ARGUMENT for a bad tag. */
export function withTag(ref: Reference, tag: string): Reference {
  return valid(retag(ref, tag));
}
