/**
 * The Engine API's `filters` query parameter (`{"label":["a=b"],"name":["x"]}`, or the old map
 * form `{"label":{"a=b":true}}`) as GET /events reads it (type, event, container, image, label).
 * The container, image and prune filters are src/api/filters.ts, shared with LocalEngine. An
 * unknown filter key is a 400 `invalid filter 'key'`, as dockerd answers. Labels match with
 * src/api/filters.ts `labelMatches`.
 */
import { BuildError } from '../errors.js';

export type Filters = Map<string, string[]>;

/** Parses `filters`; throws BuildError INVALID_ARGUMENT for bad JSON or a key not in `allowed`. */
export function parseFilters(text: string | null, allowed: readonly string[]): Filters {
  const out: Filters = new Map();
  if (!text) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BuildError('INVALID_ARGUMENT', `invalid filter: ${text}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BuildError('INVALID_ARGUMENT', `invalid filter: ${text}`);
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!allowed.includes(k)) throw new BuildError('INVALID_ARGUMENT', `invalid filter '${k}'`);
    const values = Array.isArray(v) ? v.map(String) : v && typeof v === 'object' ? Object.entries(v as Record<string, unknown>).filter(([, on]) => on).map(([x]) => x) : [String(v)];
    out.set(k, values);
  }
  return out;
}
