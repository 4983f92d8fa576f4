/**
 * BuildKit's AST dump (`Node.Dump()`), the format of its parser tests' `result` files: one
 * `(keyword ["flags"] "arg" …)` line per instruction. See FORMAT.md in the conformance data.
 */
import type { Dockerfile, Instruction } from './ast.js';
import { goQuote, goQuoteList, goToLower, trimSpace } from './go.js';

/** One instruction, without the outer parentheses. */
export function dumpInstruction(n: Instruction): string {
  let s = goToLower(n.keyword);
  if (n.flags.length) s += ' ' + goQuoteList(n.flags.map((f) => f.raw));
  switch (n.kind) {
    case 'ENV':
    case 'LABEL':
      for (const p of n.pairs) s += ` ${goQuote(p.key)} ${goQuote(p.value)} ${goQuote(p.sep)}`;
      break;
    case 'ONBUILD':
      if (n.trigger) s += ` (${dumpInstruction(n.trigger)})`;
      break;
    case 'UNKNOWN':
      s += ' ""';
      break;
    default:
      for (const a of n.args) s += ' ' + goQuote(a.value);
  }
  return trimSpace(s);
}

/** The whole file: one `(…)` line per instruction, each ending in `\n` (as the `result` files). */
export function dump(ast: Dockerfile): string {
  let out = '';
  for (const n of ast.instructions) out += `(${dumpInstruction(n)})\n`;
  return out;
}
