// Ranges (1-based line/col, 0-based offset, end exclusive) of instructions, keywords, flags,
// args, ENV pairs and heredocs, including continuation lines, CRLF and a BOM.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../src/parser/index.js';
import type { Range } from '../../src/oci/range.js';

/** Asserts `range` spans `want` in `text`, starting at line:col, and that offsets agree with line/col. */
function assertRange(text: string, range: Range, want: string, line: number, col: number): void {
  assert.equal(text.slice(range.start.offset, range.end.offset), want);
  assert.deepEqual([range.start.line, range.start.col], [line, col], `start of ${JSON.stringify(want)}`);
  const lines = text.split('\n');
  const lineStart = (l: number): number => lines.slice(0, l - 1).reduce((n, s) => n + s.length + 1, 0);
  assert.equal(range.start.offset, lineStart(range.start.line) + range.start.col - 1, 'start offset vs line/col');
  assert.equal(range.end.offset, lineStart(range.end.line) + range.end.col - 1, 'end offset vs line/col');
}

describe('ranges', () => {
  it('instruction, keyword, flags and args on one line', () => {
    const text = 'FROM alpine AS b\nCOPY --from=b --chown=1:1 /a /b\n';
    const [from, copy] = parseDockerfile(text).ast.instructions;
    assertRange(text, from.range, 'FROM alpine AS b', 1, 1);
    assert.equal(from.kind, 'FROM');
    if (from.kind !== 'FROM' || copy.kind !== 'COPY') return;
    assertRange(text, from.args[2].range, 'b', 1, 16);
    assertRange(text, copy.keywordRange, 'COPY', 2, 1);
    assertRange(text, copy.flags[0].range, '--from=b', 2, 6);
    assertRange(text, copy.flags[1].range, '--chown=1:1', 2, 15);
    assertRange(text, copy.args[0].range, '/a', 2, 27);
    assertRange(text, copy.args[1].range, '/b', 2, 30);
    assert.deepEqual(copy.flags.map((f) => [f.name, f.value]), [['from', 'b'], ['chown', '1:1']]);
  });

  it('args on continuation lines map to their physical line', () => {
    const text = 'FROM a\n  COPY \\\n  # c\n   src \\\n\n  dst\n';
    const { ast } = parseDockerfile(text);
    const copy = ast.instructions[1];
    assert.equal(copy.kind, 'COPY');
    if (copy.kind !== 'COPY') return;
    assertRange(text, copy.keywordRange, 'COPY', 2, 3);
    assertRange(text, copy.args[0].range, 'src', 4, 4);
    assertRange(text, copy.args[1].range, 'dst', 6, 3);
    assert.deepEqual([copy.range.start.line, copy.range.end.line, copy.range.end.col], [2, 6, 6]);
  });

  it('JSON elements, ENV pairs, ONBUILD trigger', () => {
    const text = 'FROM a\nCMD [ "x", \\\n "y z" ]\nENV a=1 b="2 3"\nONBUILD RUN echo hi\n';
    const [, cmd, env, onbuild] = parseDockerfile(text).ast.instructions;
    if (cmd.kind !== 'CMD' || env.kind !== 'ENV' || onbuild.kind !== 'ONBUILD') return assert.fail('kinds');
    assert.equal(cmd.json, true);
    assertRange(text, cmd.args[0].range, '"x"', 2, 7);
    assertRange(text, cmd.args[1].range, '"y z"', 3, 2);
    assertRange(text, env.pairs[1].range, 'b="2 3"', 4, 9);
    assert.ok(onbuild.trigger);
    assertRange(text, onbuild.trigger.range, 'RUN echo hi', 5, 9);
    assertRange(text, onbuild.trigger.keywordRange, 'RUN', 5, 9);
  });

  it('heredoc bodies and the instruction range up to the terminator', () => {
    const text = 'FROM a\nRUN <<EOF cat\nhello\nEOF\nCOPY <<A <<B /d\nA\nb\nB\n';
    const [, run, copy] = parseDockerfile(text).ast.instructions;
    assertRange(text, run.heredocs[0].range, 'hello\nEOF', 3, 1);
    assert.equal(run.heredocs[0].content, 'hello\n');
    assertRange(text, run.range, 'RUN <<EOF cat\nhello\nEOF', 2, 1);
    assertRange(text, copy.heredocs[0].range, 'A', 6, 1);
    assert.equal(copy.heredocs[0].content, '');
    assertRange(text, copy.heredocs[1].range, 'b\nB', 7, 1);
  });

  it('CRLF: ranges exclude the line ending, heredoc content keeps it', () => {
    const text = 'FROM a\r\nRUN echo \\\r\n  hi\r\nCOPY <<E /x\r\nl1\r\nE\r\n';
    const [from, run, copy] = parseDockerfile(text).ast.instructions;
    assertRange(text, from.range, 'FROM a', 1, 1);
    if (run.kind !== 'RUN') return assert.fail('kind');
    assertRange(text, run.args[0].range, 'echo \\\r\n  hi', 2, 5);
    assert.equal(run.args[0].value, 'echo   hi');
    assert.equal(copy.heredocs[0].content, 'l1\r\n');
  });

  it('BOM: offsets count it, so does the column on line 1', () => {
    const text = '\ufeffFROM a\nRUN x\n';
    const [from, run] = parseDockerfile(text).ast.instructions;
    assertRange(text, from.keywordRange, 'FROM', 1, 2);
    assertRange(text, run.range, 'RUN x', 2, 1);
  });

  it('directives', () => {
    const text = '# syntax = docker/dockerfile:1\n  # Escape=`\nFROM a\n';
    const { ast } = parseDockerfile(text);
    assert.equal(ast.escapeToken, '`');
    assert.deepEqual(ast.directives.map((d) => [d.name, d.value]), [['syntax', 'docker/dockerfile:1'], ['escape', '`']]);
    assertRange(text, ast.directives[1].range, '# Escape=`', 2, 3);
  });
});
