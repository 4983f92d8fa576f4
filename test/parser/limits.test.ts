// Regressions from the chaos fuzzer and issue 22: inputs whose cost or depth grew with their
// size (quadratic parse, stack overflow, a 65 000-character "did you mean" table).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dump, parseDockerfile, unknownInstructionError } from '../../src/parser/index.js';
import { ParseError } from '../../src/errors.js';
import type { UnknownNode } from '../../src/parser/ast.js';

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

describe('parser limits', () => {
  it('ONBUILD nested 100 deep parses; 101 deep is a ParseError at the 101st keyword, not a stack overflow', () => {
    const ok = parseDockerfile(`FROM a\n${'ONBUILD '.repeat(100)}RUN x\n`).ast;
    assert.equal(dump(ok).split('\n')[1], `${'(onbuild '.repeat(100)}(run "x")${')'.repeat(100)}`);
    for (const text of [`FROM a\n${'ONBUILD '.repeat(101)}RUN x\n`, `FROM a\n${'onbuild \\\n'.repeat(20000)}RUN x\n`]) {
      assert.throws(() => parseDockerfile(text), (e: unknown) => {
        assert.ok(e instanceof ParseError, String(e));
        assert.equal(e.message, 'ONBUILD triggers nested more than 100 deep');
        assert.equal(e.source!.range.start.col, text.startsWith('FROM a\nONBUILD') ? 801 : 1);
        assert.equal(e.source!.range.start.line, text.startsWith('FROM a\nONBUILD') ? 2 : 102);
        assert.match(e.format(), /hint: ONBUILD ONBUILD is refused at build time/);
        return true;
      });
    }
  });

  it('an 8 000-level ${a:-${a:-…}} (65 535 bytes is the line limit) parses: the parser does not expand words', () => {
    const n = 8000;
    const word = '${a:-'.repeat(n) + 'x' + '}'.repeat(n);
    const { ast } = parseDockerfile(`FROM a\nENV X=${word}\nRUN echo ${word}\n`);
    assert.equal(ast.instructions.length, 3);
  });

  it('one instruction of 40 000 continuation lines with comments between them parses in linear time', () => {
    const lines = (n: number): string => {
      const out = ['FROM a', 'ENV \\'];
      for (let i = 0; i < n; i += 2) out.push(`  A${i}=${i} \\`, '# a comment');
      out.push('  Z=1');
      return out.join('\n') + '\n';
    };
    parseDockerfile(lines(4000)); // warm up
    const small = timed(() => parseDockerfile(lines(4000)));
    const large = timed(() => parseDockerfile(lines(40000)));
    const env = large.value.ast.instructions[1];
    assert.equal(env.kind === 'ENV' && env.pairs.length, 20001);
    assert.equal(env.kind === 'ENV' && env.pairs[20000].range.start.line, 40003);
    // Linear is ~10x; the quadratic code (a list copied per token, a linear search per position) was > 100x.
    assert.ok(large.ms < 40 * Math.max(small.ms, 5), `40 000 lines ${large.ms.toFixed(0)} ms vs 4 000 lines ${small.ms.toFixed(0)} ms`);
  });

  it('an unknown 65 000-character keyword is reported without a 65 000-row edit-distance table per keyword', () => {
    const text = `FROM a\n${'R'.repeat(65000)} x\n`;
    const { ast } = parseDockerfile(text);
    const { value: err, ms } = timed(() => unknownInstructionError(ast.instructions[1] as UnknownNode, ast, text));
    assert.equal(err.hint, undefined);
    assert.ok(ms < 200, `${ms.toFixed(0)} ms`);
    assert.equal(unknownInstructionError(parseDockerfile('FROM a\nRUNN x\n').ast.instructions[1] as UnknownNode, ast).hint, 'did you mean RUN?');
  });
});
