/**
 * The throwing form of `src/oci/platform.ts`'s parse: `parsePlatform` turns a malformed platform
 * into a BuildError INVALID_ARGUMENT. The other platform functions are imported from src/oci.
 */
import { BuildError } from '../errors.js';
import { isKnownPlatform, PLATFORM_SYNTAX, parsePlatform as parseOciPlatform } from '../oci/platform.js';
import type { Platform } from '../oci/types.js';

/**
 * Parses `linux/amd64`, `linux/arm64/v8`, `amd64` (os linux). Throws BuildError INVALID_ARGUMENT
 * for a malformed platform, an os or architecture containerd does not know (`bogus`, as
 * containerd's "unknown operating system or architecture"), and a list (`linux/amd64,linux/arm64`:
 * only a build takes several, src/builder/multi-platform.ts splits them first).
 */
export function parsePlatform(s: string): Platform {
  if (s.includes(',')) {
    throw new BuildError('INVALID_ARGUMENT', `--platform "${s}": give one platform here (a list of platforms is for mybuild build)`, { hint: 'e.g. --platform linux/amd64' });
  }
  const p = parseOciPlatform(s);
  if (!p) throw new BuildError('INVALID_ARGUMENT', `invalid platform "${s}": expected ${PLATFORM_SYNTAX}`);
  if (!isKnownPlatform(p)) throw new BuildError('INVALID_ARGUMENT', `invalid platform "${s}": unknown operating system or architecture`, { hint: `expected ${PLATFORM_SYNTAX}` });
  return p;
}
