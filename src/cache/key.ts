/**
 * Cache keys. A step's key is a digest over readable parts (kaniko's composite key, BuildKit's
 * CacheMap): the parent filesystem's key, the operation and its expanded arguments, the env and
 * build args it depends on, and the content digests of the files it reads. The parts are kept
 * beside the digest so a miss can be explained by diffing them with the last build's parts.
 *
 * Parts are `name=value` strings. Their order is fixed by the caller (parent first, then the
 * operation, then sorted inputs), so the same inputs always give the same digest. Nothing in a
 * part depends on the machine: no absolute paths, no times, no secrets.
 */
import { createHash } from 'node:crypto';
import type { Digest } from '../oci/types.js';

export interface CacheKey {
  digest: Digest;
  parts: string[];
}

/** Version of the key scheme: bump when what goes into keys changes, so old records miss. */
export const CACHE_KEY_VERSION = 'mybuild.cache.v1';

/** The key over `parts` (in the given order). */
export function cacheKey(parts: string[]): CacheKey {
  const h = createHash('sha256');
  h.update(CACHE_KEY_VERSION);
  for (const p of parts) {
    // Length-prefix every part so no two part lists hash alike.
    h.update(`\n${p.length}:`);
    h.update(p);
  }
  return { digest: `sha256:${h.digest('hex')}`, parts: [...parts] };
}

/** A `name=value` part. */
export function part(name: string, value: string): string {
  return `${name}=${value}`;
}

/** Parts for an environment, sorted by name so order of declaration does not matter. */
export function envParts(prefix: string, env: Iterable<[string, string]>): string[] {
  return [...env].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${prefix}:${k}=${v}`);
}

export interface KeyChange {
  kind: 'added' | 'removed' | 'changed';
  name: string;
  before?: string;
  after?: string;
}

/**
 * What differs between two part lists, by part name (`file:src/a.ts`, `env:PATH`, `cmd`, …).
 * Used to explain a cache miss: "file src/app.ts changed", "build arg X changed".
 */
export function diffParts(before: string[], after: string[]): KeyChange[] {
  const toMap = (ps: string[]) => {
    const m = new Map<string, string>();
    for (const p of ps) {
      const i = p.indexOf('=');
      m.set(i < 0 ? p : p.slice(0, i), i < 0 ? '' : p.slice(i + 1));
    }
    return m;
  };
  const a = toMap(before);
  const b = toMap(after);
  const out: KeyChange[] = [];
  for (const [k, v] of b) {
    if (!a.has(k)) out.push({ kind: 'added', name: k, after: v });
    else if (a.get(k) !== v) out.push({ kind: 'changed', name: k, before: a.get(k), after: v });
  }
  for (const [k, v] of a) if (!b.has(k)) out.push({ kind: 'removed', name: k, before: v });
  return out;
}

/**
 * One sentence for a list of changes, e.g. `file src/app.ts changed; build arg VERSION changed`.
 * The `sources` part (digest over all copied files) is left out when per-file parts changed.
 */
export function describeChanges(changes: KeyChange[]): string {
  if (changes.length === 0) return 'no previous build of this step';
  // `sources=` is the digest over all copied files: when per-file parts say which files
  // changed, it adds nothing but noise.
  const perFile = changes.some((c) => c.name.startsWith('file:'));
  return changes
    .filter((c) => !(perFile && c.name === 'sources'))
    .map((c) => {
      const [kind, ...rest] = c.name.split(':');
      const what = rest.join(':');
      const noun =
        kind === 'file' ? `file ${what}` :
        kind === 'arg' ? `build arg ${what}` :
        kind === 'env' ? `env ${what}` :
        kind === 'parent' ? 'its parent' :
        kind === 'cmd' ? 'the instruction' :
        kind === 'sources' ? 'the copied files' :
        c.name;
      return `${noun} ${c.kind}`;
    })
    .join('; ');
}
