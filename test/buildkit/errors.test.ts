/**
 * BuildKit's error source-map test (frontend/dockerfile/errors_test.go) as cases: a failing
 * build's error carries the Dockerfile (name and text) and the range of the failing instruction,
 * as BuildKit's errdefs.Sources (mybuild's BuildError.source; the CLI prints it as file:line:col).
 */
import assert from 'node:assert/strict';
import { runCases, type Case } from './harness.js';

interface Sourced { source?: { file?: string; text?: string; range?: { start: { line: number }; end: { line: number } } } }

const sourceMap = (name: string, dockerfile: string, lines: number[]): Case => ({
  name: `testErrorsSourceMap/${name}`,
  dockerfile,
  error: (err) => {
    const src = (err as Sourced).source;
    assert.ok(src?.range, `the error has no source: ${(err as Error).message}`);
    assert.equal(src.file, 'Dockerfile');
    assert.equal(src.text, dockerfile);
    for (const l of lines) assert.ok(src.range.start.line <= l && l <= src.range.end.line, `line ${l} not in ${JSON.stringify(src.range)} (${(err as Error).message})`);
  },
});

const cases: Case[] = [
  sourceMap('invalidenv', 'from alpine\nenv', [2]),
  sourceMap('invalidsyntax', '#syntax=foobar\nfrom alpine', [1]),
  sourceMap('invalidrun', 'from scratch\nenv foo=bar\nrun what', [3]),
  sourceMap('invalidcopy', 'from scratch\nenv foo=bar\ncopy foo bar\nenv bar=baz', [3]),
  sourceMap('invalidflag', 'from scratch\nenv foo=bar\ncopy --foo=bar / /\nenv bar=baz', [3]),
  sourceMap('invalidcopyfrom', 'from scratch\nenv foo=bar\ncopy --from=invalid foo bar\nenv bar=baz', [3]),
  sourceMap('invalidmultiline', 'from scratch\nrun wh\\\nat\nenv bar=baz', [2, 3]),
];

runCases('buildkit: error source maps (errors_test.go)', cases);
