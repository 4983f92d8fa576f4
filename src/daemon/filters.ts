/**
 * The Engine API's `filters` query parameter (`{"label":["a=b"],"name":["x"]}`, or the old map
 * form `{"label":{"a=b":true}}`) and the matchers dockerd applies with it to containers
 * (GET /containers/json, POST /containers/prune) and images (GET /images/json, POST
 * /images/prune). An unknown filter key is a 400 `invalid filter 'key'`, as dockerd answers.
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

/** Docker's label filter: every `key` or `key=value` of `wanted` holds in `labels`. */
export function labelsMatch(labels: Record<string, string>, wanted: string[]): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return Object.hasOwn(labels, w);
    return labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

/** Docker's `label!=` form is not part of this API version's filters; `boolFilter` reads `dangling=true|false|1|0`. */
export function boolFilter(values: string[], key: string): boolean {
  const v = values[values.length - 1]?.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new BuildError('INVALID_ARGUMENT', `invalid filter '${key}=${values.join(',')}'`);
}

/** Go's path.Match for image references (`*` within a path segment, `?`, character classes). */
export function globMatch(pattern: string, s: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const j = pattern.indexOf(']', i + 1);
      if (j < 0) return false;
      re += `[${pattern.slice(i + 1, j).replace(/^\^/, '^').replace(/\\/g, '\\\\')}]`;
      i = j;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  try {
    return new RegExp(`${re}$`).test(s);
  } catch {
    return false;
  }
}
