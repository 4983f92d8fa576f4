/** "Did you mean" hints for the plan's errors. */
import { closest } from '../util/suggest.js';

/** The closest candidate by edit distance (≤ max(1, len/3)), for "did you mean" hints. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  return closest(word, candidates, (w) => Math.max(1, Math.floor(w.length / 3)));
}

/**
 * BuildKit's rule (util/suggest.Search): the closest candidate at edit distance 2 or less, at any
 * length, so a short value such as `tmp` still finds `tmpfs`.
 */
export function suggestLikeBuildKit(word: string, candidates: readonly string[]): string | undefined {
  return closest(word, candidates, () => 2);
}
