/** "Did you mean" suggestions and the planner's error for unknown instructions. */
import type { Dockerfile, UnknownNode } from './ast.js';
import { PlanError } from '../errors.js';
import { closest } from '../util/suggest.js';

/** The instruction keywords BuildKit knows. */
export const KEYWORDS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;

/**
 * The closest known keyword (upper case) to `keyword`, by edit distance, or undefined when none
 * is close (distance ≤ 2, and less than the keyword's length). Case-insensitive.
 */
export function suggestInstruction(keyword: string): string | undefined {
  return closest(keyword, KEYWORDS, (k) => Math.min(2, Math.max(k.length, 1) - 1));
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
