/** "Did you mean" suggestions, shared by the parser, the planner and the CLI. Pure. */

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions (`form` → `from`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `word` (case-insensitive), or undefined when the best distance is
 * above `maxDistance(word)`. Ties keep the first candidate.
 */
export function closest(word: string, candidates: readonly string[], maxDistance: (word: string) => number): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  const max = maxDistance(word);
  for (const c of candidates) {
    // The distance is at least the length difference: skip what cannot be close (and a
    // 65 000-character word costs no 65 000-row table per candidate).
    const l = c.toLowerCase();
    if (Math.abs(w.length - l.length) > max) continue;
    const d = editDistance(w, l);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= max ? best : undefined;
}
