/**
 * Versions: mybuild's own (package.json) and the Engine API version the daemon speaks and the
 * client asks for.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The Engine API version the daemon speaks (Docker 26). Clients negotiate down to it. */
export const API_VERSION = '1.45';
/** The oldest API version accepted in a `/v1.NN/` prefix. */
export const MIN_API_VERSION = '1.24';

/** The package version, read from package.json next to the compiled tree. */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version as string;
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return 'unknown';
      dir = up;
    }
  }
}
