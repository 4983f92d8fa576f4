/**
 * Deterministic JSON the way Go's encoding/json writes it: compact, keys in the order the
 * object was built (callers build objects in Go struct order), and `<`, `>`, `&`, U+2028 and
 * U+2029 escaped as `\u003c` … so that our bytes match what BuildKit/Docker would write for the
 * same content.
 */

/** `JSON.stringify(value)` with Go's HTML-safe escaping. */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Copies `obj` with its keys in the given order first (others after, alphabetically); drops undefined values. */
export function ordered<T extends object>(obj: T, order: readonly string[]): T {
  const src = obj as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of order) if (src[k] !== undefined) out[k] = src[k];
  for (const k of Object.keys(src).sort()) if (!(k in out) && src[k] !== undefined) out[k] = src[k];
  return out as T;
}

/** Copies `obj` with its keys sorted (Go marshals maps with sorted keys). */
export function sortedKeys<T extends object>(obj: T): T {
  return ordered(obj, []);
}

/**
 * A time in Go's RFC 3339 JSON form (`2024-01-02T03:04:05Z`, fractional seconds only when
 * present, trailing zeros trimmed). Accepts a Date, an ISO string or seconds since the epoch.
 */
export function rfc3339(t: Date | string | number): string {
  const d = typeof t === 'number' ? new Date(t * 1000) : typeof t === 'string' ? new Date(t) : t;
  if (Number.isNaN(d.getTime())) throw new RangeError(`invalid time ${String(t)}`);
  return d.toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}
