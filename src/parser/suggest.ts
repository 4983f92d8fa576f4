/** "Did you mean" suggestions and the planner's error for unknown instructions. */
import type { Dockerfile, UnknownNode } from './ast.js';
import { PlanError } from '../errors.js';

/** The instruction keywords BuildKit knows. */
export const KEYWORDS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/**
 * The closest known keyword (upper case) to `keyword`, by edit distance, or undefined when none
 * is close (distance ≤ 2, and less than the keyword's length). Case-insensitive.
 */
export function suggestInstruction(keyword: string): string | undefined {
  const k = keyword.toUpperCase();
  let best: string | undefined;
  let bestD = 3;
  for (const c of KEYWORDS) {
    const d = distance(k, c);
    if (d < bestD && d < Math.max(k.length, 1)) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

/**
 * The error the planner raises for an UNKNOWN node: `unknown instruction: RUNN` (keyword as
 * written), hint `did you mean RUN?` when one is close, source range = the keyword.
 */
export function unknownInstructionError(node: UnknownNode, ast: Dockerfile, text?: string): PlanError {
  const s = suggestInstruction(node.keyword);
  return new PlanError(`unknown instruction: ${node.keyword}`, {
    source: { file: ast.file, range: node.keywordRange, ...(text !== undefined ? { text } : {}) },
    ...(s ? { hint: `did you mean ${s}?` } : {}),
  });
}
