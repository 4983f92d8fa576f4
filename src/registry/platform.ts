/**
 * The platform functions of `src/oci/platform.ts`, with `parsePlatform` turning a malformed
 * platform into a BuildError INVALID_ARGUMENT.
 */
import { BuildError } from '../errors.js';
import { PLATFORM_SYNTAX, parsePlatform as parseOciPlatform } from '../oci/platform.js';
import type { Platform } from '../oci/types.js';

export { formatPlatform, hostPlatform, pickManifest, platformMatches } from '../oci/platform.js';

/** Parses `linux/amd64`, `linux/arm64/v8`, `amd64` (os linux). Throws BuildError INVALID_ARGUMENT. */
export function parsePlatform(s: string): Platform {
  const p = parseOciPlatform(s);
  if (!p) throw new BuildError('INVALID_ARGUMENT', `invalid platform "${s}": expected ${PLATFORM_SYNTAX}`);
  return p;
}
