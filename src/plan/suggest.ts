/** "Did you mean" hints for the plan's errors. */
import { closest } from '../util/suggest.js';

/** The closest candidate by edit distance (≤ max(1, len/3)), for "did you mean" hints. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  return closest(word, candidates, (w) => Math.max(1, Math.floor(w.length / 3)));
}
