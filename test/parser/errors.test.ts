// ParseError text, position and excerpt; warnings; unknown-instruction errors and suggestions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, suggestInstruction, unknownInstructionError } from '../../src/parser/index.js';
import { ParseError, PlanError } from '../../src/errors.js';

function parseErr(text: string, file?: string): ParseError {
  try {
    parseDockerfile(text, { file });
  } catch (e) {
    assert.ok(e instanceof ParseError, `not a ParseError: ${String(e)}`);
    return e;
  }
  return assert.fail('expected a ParseError');
}

describe('parse errors', () => {
  it('ENV without value: message, position and excerpt', () => {
    const e = parseErr('FROM a\nENV PATH\n', 'build/Dockerfile');
    assert.equal(e.format(), ['build/Dockerfile:2:1: ENV must have two arguments', ' 2 | ENV PATH', '   | ^^^^^^^^'].join('\n'));
    assert.equal(e.exitCode, 3);
  });

  it('missing = points at the word', () => {
    const e = parseErr('FROM a\nENV a=1 bad c=2\n');
    assert.equal(e.message, `Syntax error - can't find = in "bad". Must be of the form: name=value`);
    assert.deepEqual(e.format().split('\n').slice(1), [' 2 | ENV a=1 bad c=2', '   |         ^^^']);
  });

  it('JSON of non-strings', () => {
    assert.equal(parseErr('FROM a\nRUN ["a", {"b": 1}]\n').headline, 'Dockerfile:2:5: when using JSON array syntax, arrays must be comprised of strings only');
  });

  it('directive errors', () => {
    assert.equal(parseErr('# escape=ab\nFROM a\n').message, "invalid escape token 'ab' does not match ` or \\");
    assert.equal(parseErr('#escape=`\n# ESCAPE=`\nFROM a\n').headline, 'Dockerfile:2:1: only one escape parser directive can be used');
  });

  it('no instructions', () => {
    assert.equal(parseErr('').headline, 'Dockerfile:1:1: file with no instructions');
    assert.equal(parseErr('# a\n\n# b\n').headline, 'Dockerfile:3:1: file with no instructions');
  });

  it('unterminated heredoc, after earlier errors only', () => {
    assert.equal(parseErr('FROM a\nRUN <<EOF\nbody\n').headline, 'Dockerfile:2:1: unterminated heredoc');
    assert.equal(parseErr('FROM a\nENV X\nRUN <<EOF\nbody\n').message, 'ENV must have two arguments');
  });

  it('line longer than 65535 bytes', () => {
    const long = 'x'.repeat(65536);
    assert.equal(parseErr(`FROM a\nRUN ${long}\n`).message, 'dockerfile line greater than max allowed size of 65535');
    assert.equal(parseErr(`# ${long}\nFROM a\n`).message, 'file with no instructions');
    assert.equal(parseErr(`FROM a\nRUN <<EOF\n${long}\nEOF\n`).message, 'unterminated heredoc');
    // 65535 bytes (without the newline) is still fine, also when counted in UTF-8 bytes
    parseDockerfile(`FROM a\nRUN ${'x'.repeat(65535 - 4)}\n`);
    assert.equal(parseErr(`FROM a\nRUN ${'é'.repeat(32766)}\n`).message, 'dockerfile line greater than max allowed size of 65535');
  });
});

describe('warnings', () => {
  it('collects BuildKit syntactic checks', () => {
    const { warnings } = parseDockerfile('FROM a as Build\nMAINTAINER me\nRUN a \\\n\n  b\nrun x\nENV k v\nCMD echo\n');
    const rules = warnings.map((w) => w.rule).sort();
    assert.deepEqual(rules, ['ConsistentInstructionCasing', 'FromAsCasing', 'JSONArgsRecommended', 'LegacyKeyValueFormat', 'MaintainerDeprecated', 'NoEmptyContinuation', 'StageNameCasing']);
    assert.equal(warnings.find((w) => w.rule === 'NoEmptyContinuation')?.message, 'Empty continuation line found in: RUN a   b');
    assert.equal(warnings.find((w) => w.rule === 'ConsistentInstructionCasing')?.message, "Command 'run' should match the case of the command majority (uppercase)");
  });
});

describe('unknown instructions', () => {
  it('suggests the closest keyword', () => {
    assert.equal(suggestInstruction('RUNN'), 'RUN');
    assert.equal(suggestInstruction('cpoy'), 'COPY');
    assert.equal(suggestInstruction('XYZZY'), undefined);
  });

  it('unknownInstructionError points at the keyword', () => {
    const text = 'FROM a\n  RUNN echo\n';
    const { ast } = parseDockerfile(text);
    const n = ast.instructions[1];
    assert.equal(n.kind, 'UNKNOWN');
    if (n.kind !== 'UNKNOWN') return;
    const e = unknownInstructionError(n, ast, text);
    assert.ok(e instanceof PlanError);
    assert.equal(e.format(), ['Dockerfile:2:3: unknown instruction: RUNN', ' 2 |   RUNN echo', '   |   ^^^^', 'hint: did you mean RUN?'].join('\n'));
  });
});
