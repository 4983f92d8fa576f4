import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ShellLex } from '../../src/plan/shell-lex.js';
import { PlanError } from '../../src/errors.js';
import { sharedPath } from '../helpers/paths.js';

const envVar = sharedPath('conformance/buildkit-shell/envVarTest');
const wordsTest = sharedPath('conformance/buildkit-shell/wordsTest');
const matchesJson = sharedPath('conformance/buildkit-shell/processWordWithMatches.json');

function env(obj: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(obj));
}

describe('ShellLex: BuildKit envVarTest', () => {
  const lex = new ShellLex('\\');
  const vars = env({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });
  it('every row', { skip: envVar.skip || undefined }, (t) => {
    const lines = readFileSync(envVar.path, 'utf8').split('\n');
    let n = 0;
    for (const [i, raw] of lines.entries()) {
      if (raw.trim() === '' || raw.startsWith('#')) continue;
      const parts = raw.split('|');
      assert.equal(parts.length, 3, `line ${i + 1}: ${raw}`);
      const [plat, input, want] = parts.map((p) => p.trim()) as [string, string, string];
      if (plat === 'W') {
        t.diagnostic(`line ${i + 1} skipped: Windows-only row (case-insensitive variable names)`);
        continue;
      }
      n++;
      if (want === 'error') {
        assert.throws(() => lex.processWord(input, vars), PlanError, `line ${i + 1}: ${input}`);
      } else {
        assert.equal(lex.processWord(input, vars), want, `line ${i + 1}: ${input}`);
      }
    }
    assert.ok(n > 200, `expected over 200 rows, ran ${n}`);
  });
});

describe('ShellLex: BuildKit wordsTest', () => {
  const lex = new ShellLex('\\');
  it('every row', { skip: wordsTest.skip || undefined }, () => {
    const vars = new Map<string, string>();
    let n = 0;
    for (const [i, raw] of readFileSync(wordsTest.path, 'utf8').split('\n').entries()) {
      if (raw.startsWith('#') || raw.trim() === '') continue;
      if (raw.startsWith('ENV ')) {
        const kv = raw.slice(4).replace(/^ +/, '');
        const eq = kv.indexOf('=');
        vars.set(kv.slice(0, eq), kv.slice(eq + 1));
        continue;
      }
      const parts = raw.split('|');
      assert.equal(parts.length, 2, `line ${i + 1}`);
      const input = parts[0]!.trim();
      const want = parts[1]!.replace(/^ +/, '');
      n++;
      if (want === 'error') {
        assert.throws(() => lex.processWords(input, vars), PlanError, `line ${i + 1}: ${input}`);
      } else {
        assert.deepEqual(lex.processWords(input, vars), want.split(','), `line ${i + 1}: ${input}`);
      }
    }
    assert.ok(n >= 20, `ran ${n}`);
  });
});

interface MatchCase {
  input: string;
  envs: Record<string, string>;
  expected: string | null;
  expectedErr: boolean;
  matched: string[];
  unmatched: string[];
}

describe('ShellLex: processWordWithMatches.json', () => {
  const lex = new ShellLex('\\');
  it('every case', { skip: matchesJson.skip || undefined }, () => {
    const cases = JSON.parse(readFileSync(matchesJson.path, 'utf8')) as MatchCase[];
    assert.ok(cases.length >= 40);
    for (const c of cases) {
      const e = env(c.envs);
      if (c.expectedErr) {
        // Upstream checks only that an error occurs (TestProcessWithMatches returns early).
        assert.throws(() => lex.processWordWithMatches(c.input, e), PlanError, c.input);
        continue;
      }
      const got = lex.processWordWithMatches(c.input, e);
      assert.equal(got.result, c.expected, c.input);
      assert.deepEqual([...got.matched].sort(), [...c.matched].sort(), `matched of ${c.input}`);
      assert.deepEqual([...got.unmatched].sort(), [...c.unmatched].sort(), `unmatched of ${c.input}`);
    }
  });
});

describe('ShellLex: own table', () => {
  const rows: { name: string; input: string; env?: Record<string, string>; escape?: '\\' | '`'; want: string | { error: RegExp } }[] = [
    { name: 'plain', input: 'abc', want: 'abc' },
    { name: 'simple var', input: '$A/b', env: { A: 'x' }, want: 'x/b' },
    { name: 'braced var', input: '${A}b', env: { A: 'x' }, want: 'xb' },
    { name: 'default unset', input: '${A:-d}', want: 'd' },
    { name: 'default empty with colon', input: '${A:-d}', env: { A: '' }, want: 'd' },
    { name: 'default empty without colon', input: '${A-d}', env: { A: '' }, want: '' },
    { name: 'alternative', input: '${A:+alt}', env: { A: '1' }, want: 'alt' },
    { name: 'shortest prefix', input: '${A#*/}', env: { A: 'a/b/c' }, want: 'b/c' },
    { name: 'longest prefix', input: '${A##*/}', env: { A: 'a/b/c' }, want: 'c' },
    { name: 'shortest suffix', input: '${A%/*}', env: { A: 'a/b/c' }, want: 'a/b' },
    { name: 'longest suffix', input: '${A%%/*}', env: { A: 'a/b/c' }, want: 'a' },
    { name: 'replace first', input: '${A/b/X}', env: { A: 'abcb' }, want: 'aXcb' },
    { name: 'replace all', input: '${A//b/X}', env: { A: 'abcb' }, want: 'aXcX' },
    { name: 'replace all with glob', input: '${A//?/-}', env: { A: 'abc' }, want: '---' },
    { name: 'replace all greedy star: one replacement, as Go', input: '${A//*/r}', env: { A: 'abc' }, want: 'r' },
    { name: 'replacement keeps its escapes', input: '${A/b/\\$}', env: { A: 'abc' }, want: 'a\\$c' },
    { name: 'replace-first: replacement is literal', input: '${A/b/$R}', env: { A: 'abc', R: '$$' }, want: 'a$$c' },
    { name: 'replace-all: replacement is a Go regexp template ($$)', input: '${A//b/$R}', env: { A: 'abc', R: '$$' }, want: 'a$c' },
    { name: 'replace-all: replacement is a Go regexp template ($0)', input: '${A//b/$R}', env: { A: 'abc', R: '<$0>' }, want: 'a<b>c' },
    { name: 'unicode prefix', input: '${A#?}', env: { A: '한국어' }, want: '국어' },
    { name: 'backtick escape', input: 'a`$b', escape: '`', want: 'a$b' },
    { name: 'backslash literal with backtick escape', input: 'C:\\dir', escape: '`', want: 'C:\\dir' },
    { name: 'assign unsupported', input: '${A=w}', want: { error: /unsupported modifier \(=\) in substitution/ } },
    { name: 'missing slash', input: '${A//p}', want: { error: /missing '\/' in \$\{\}/ } },
    { name: 'error message', input: '${A:?need A}', want: { error: /^failed to process "\$\{A:\?need A\}": A: need A$/ } },
    { name: 'unterminated quote', input: '"abc', want: { error: /looking for matching double-quote/ } },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const lex = new ShellLex(r.escape ?? '\\');
      const e = env(r.env ?? {});
      if (typeof r.want === 'string') assert.equal(lex.processWord(r.input, e), r.want);
      else assert.throws(() => lex.processWord(r.input, e), (err: unknown) => err instanceof PlanError && (r.want as { error: RegExp }).error.test(err.message));
    });
  }

  it('processWordRaw (a heredoc body): quotes kept, backslash escapes processed, escape always \\', () => {
    const e = env({ A: 'x' });
    assert.equal(new ShellLex().processWordRaw('"q $A" \'$A\'\n', e), '"q x" \'x\'\n');
    assert.equal(new ShellLex().processWordRaw('\\\n', e), '\n');
    assert.equal(new ShellLex().processWordRaw('\\\\\n\\$A\n', e), '\\\n$A\n');
    assert.equal(new ShellLex('`').processWordRaw('\\$A `$A\n', e), '$A `x\n');
  });

  it('processWords splits expanded values but keeps quoted ones', () => {
    const lex = new ShellLex();
    assert.deepEqual(lex.processWords('a $X "$X" b\\ c', env({ X: '1 2' })), ['a', '1', '2', '1 2', 'b c']);
  });
});
