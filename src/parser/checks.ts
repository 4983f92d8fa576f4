/**
 * The purely syntactic checks of BuildKit's linter (frontend/dockerfile/linter), run on the AST.
 * Warnings are collected, never printed. NoEmptyContinuation is found while joining lines.
 */
import type { Dockerfile, ParseWarning } from './ast.js';
import { goToLower, goToUpper } from './go.js';

function isSelfConsistentCasing(s: string): boolean {
  return s === goToLower(s) || s === goToUpper(s);
}

/** Appends the warnings for `ast` to `out`. */
export function runChecks(ast: Dockerfile, out: ParseWarning[]): void {
  let lower = 0;
  let upper = 0;
  for (const n of ast.instructions) {
    if (isSelfConsistentCasing(n.keyword)) {
      if (goToLower(n.keyword) === n.keyword) lower++;
      else upper++;
    }
  }
  const majorityLower = lower > upper;
  for (const n of ast.instructions) {
    let want = '';
    if (majorityLower && goToLower(n.keyword) !== n.keyword) want = 'lowercase';
    else if (!majorityLower && goToUpper(n.keyword) !== n.keyword) want = 'uppercase';
    if (want) {
      out.push({ rule: 'ConsistentInstructionCasing', message: `Command '${n.keyword}' should match the case of the command majority (${want})`, range: n.keywordRange });
    }
    switch (n.kind) {
      case 'MAINTAINER':
        out.push({ rule: 'MaintainerDeprecated', message: 'Maintainer instruction is deprecated in favor of using label', range: n.range });
        break;
      case 'CMD':
      case 'ENTRYPOINT':
        if (!n.json && n.args.length) {
          out.push({ rule: 'JSONArgsRecommended', message: `JSON arguments recommended for ${n.kind} to prevent unintended behavior related to OS signals`, range: n.range });
        }
        break;
      case 'ENV':
      case 'LABEL':
        if (n.pairs.some((p) => p.sep === '')) {
          out.push({ rule: 'LegacyKeyValueFormat', message: `"${n.kind} key=value" should be used instead of legacy "${n.kind} key value" format`, range: n.range });
        }
        break;
      case 'FROM': {
        const as = n.args[1];
        if (n.args.length === 3 && goToLower(as.value) === 'as') {
          const fromUpper = n.keyword === goToUpper(n.keyword);
          const asUpper = as.value === goToUpper(as.value);
          if (fromUpper !== asUpper) {
            out.push({ rule: 'FromAsCasing', message: `'${as.value}' and '${n.keyword}' keywords' casing do not match`, range: n.range });
          }
          const name = n.args[2].value;
          if (name !== goToLower(name)) {
            out.push({ rule: 'StageNameCasing', message: `Stage name '${name}' should be lowercase`, range: n.args[2].range });
          }
        }
        break;
      }
    }
  }
}
