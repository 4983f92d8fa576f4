/**
 * Tables ported from moby/patternmatcher (patternmatcher_test.go, ignorefile/ignorefile_test.go)
 * plus Docker's documented .dockerignore semantics (root anchoring, `**`, `!`, directories).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matchesPatterns, parseIgnoreFile, PatternMatcher, type MatchInfo } from '../../src/context/dockerignore.js';
import { goClean, goDir, goMatch } from '../../src/context/go-path.js';
import { BuildError } from '../../src/errors.js';

type Want = 'fail' | 'exact' | 'inexact';

// patternmatcher_test.go TestMatches: `exact` matches the path itself, `inexact` only through a
// parent directory.
const matchesTable: { pattern: string; path: string; want: Want }[] = [
  { pattern: '**', path: 'file', want: 'exact' },
  { pattern: '**', path: 'file/', want: 'exact' },
  { pattern: '**/', path: 'file', want: 'exact' },
  { pattern: '**/', path: 'file/', want: 'exact' },
  { pattern: '**', path: '/', want: 'exact' },
  { pattern: '**/', path: '/', want: 'exact' },
  { pattern: '**', path: 'dir/file', want: 'exact' },
  { pattern: '**/', path: 'dir/file', want: 'exact' },
  { pattern: '**', path: 'dir/file/', want: 'exact' },
  { pattern: '**/', path: 'dir/file/', want: 'exact' },
  { pattern: '**/**', path: 'dir/file', want: 'exact' },
  { pattern: '**/**', path: 'dir/file/', want: 'exact' },
  { pattern: 'dir/**', path: 'dir/file', want: 'exact' },
  { pattern: 'dir/**', path: 'dir/file/', want: 'exact' },
  { pattern: 'dir/**', path: 'dir/dir2/file', want: 'exact' },
  { pattern: 'dir/**', path: 'dir/dir2/file/', want: 'exact' },
  { pattern: '**/dir', path: 'dir', want: 'exact' },
  { pattern: '**/dir', path: 'dir/file', want: 'inexact' },
  { pattern: '**/dir2/*', path: 'dir/dir2/file', want: 'exact' },
  { pattern: '**/dir2/*', path: 'dir/dir2/file/', want: 'inexact' },
  { pattern: '**/dir2/**', path: 'dir/dir2/dir3/file', want: 'exact' },
  { pattern: '**/dir2/**', path: 'dir/dir2/dir3/file/', want: 'exact' },
  { pattern: '**file', path: 'file', want: 'exact' },
  { pattern: '**file', path: 'dir/file', want: 'exact' },
  { pattern: '**/file', path: 'dir/file', want: 'exact' },
  { pattern: '**file', path: 'dir/dir/file', want: 'exact' },
  { pattern: '**/file', path: 'dir/dir/file', want: 'exact' },
  { pattern: '**/file*', path: 'dir/dir/file', want: 'exact' },
  { pattern: '**/file*', path: 'dir/dir/file.txt', want: 'exact' },
  { pattern: '**/file*txt', path: 'dir/dir/file.txt', want: 'exact' },
  { pattern: '**/file*.txt', path: 'dir/dir/file.txt', want: 'exact' },
  { pattern: '**/file*.txt*', path: 'dir/dir/file.txt', want: 'exact' },
  { pattern: '**/**/*.txt', path: 'dir/dir/file.txt', want: 'exact' },
  { pattern: '**/**/*.txt2', path: 'dir/dir/file.txt', want: 'fail' },
  { pattern: '**/*.txt', path: 'file.txt', want: 'exact' },
  { pattern: '**/**/*.txt', path: 'file.txt', want: 'exact' },
  { pattern: 'a**/*.txt', path: 'a/file.txt', want: 'exact' },
  { pattern: 'a**/*.txt', path: 'a/dir/file.txt', want: 'exact' },
  { pattern: 'a**/*.txt', path: 'a/dir/dir/file.txt', want: 'exact' },
  { pattern: 'a/*.txt', path: 'a/dir/file.txt', want: 'fail' },
  { pattern: 'a/*.txt', path: 'a/file.txt', want: 'exact' },
  { pattern: 'a/*.txt**', path: 'a/file.txt', want: 'exact' },
  { pattern: 'a[b-d]e', path: 'ae', want: 'fail' },
  { pattern: 'a[b-d]e', path: 'ace', want: 'exact' },
  { pattern: 'a[b-d]e', path: 'aae', want: 'fail' },
  { pattern: 'a[^b-d]e', path: 'aze', want: 'exact' },
  { pattern: '.*', path: '.foo', want: 'exact' },
  { pattern: '.*', path: 'foo', want: 'fail' },
  { pattern: 'abc.def', path: 'abcdef', want: 'fail' },
  { pattern: 'abc.def', path: 'abc.def', want: 'exact' },
  { pattern: 'abc.def', path: 'abcZdef', want: 'fail' },
  { pattern: 'abc?def', path: 'abcZdef', want: 'exact' },
  { pattern: 'abc?def', path: 'abcdef', want: 'fail' },
  { pattern: '**/foo/bar', path: 'foo/bar', want: 'exact' },
  { pattern: '**/foo/bar', path: 'dir/foo/bar', want: 'exact' },
  { pattern: '**/foo/bar', path: 'dir/dir2/foo/bar', want: 'exact' },
  { pattern: 'abc/**', path: 'abc', want: 'fail' },
  { pattern: 'abc/**', path: 'abc/def', want: 'exact' },
  { pattern: 'abc/**', path: 'abc/def/ghi', want: 'exact' },
  { pattern: '**/.foo', path: '.foo', want: 'exact' },
  { pattern: '**/.foo', path: 'bar.foo', want: 'fail' },
  { pattern: 'a(b)c/def', path: 'a(b)c/def', want: 'exact' },
  { pattern: 'a(b)c/def', path: 'a(b)c/xyz', want: 'fail' },
  { pattern: 'a.|)$(}+{bc', path: 'a.|)$(}+{bc', want: 'exact' },
  { pattern: 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', path: 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', want: 'exact' },
  { pattern: 'dist/*.whl', path: 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', want: 'exact' },
  { pattern: 'a\\\\', path: 'a\\', want: 'exact' },
  { pattern: 'a\\*b', path: 'a*b', want: 'exact' },
];

const multiTable: { patterns: string[]; path: string; want: boolean }[] = [
  { patterns: ['**', '!util/docker/web'], path: 'util/docker/web/foo', want: false },
  { patterns: ['**', '!util/docker/web', 'util/docker/web/foo'], path: 'util/docker/web/foo', want: true },
  { patterns: ['**', '!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'], path: 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', want: false },
  { patterns: ['**', '!dist/*.whl'], path: 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', want: false },
];

/** Walks the parent directories of `path` top-down, as BuildKit's walker does. */
function usingParentResults(pm: PatternMatcher, path: string): boolean {
  const parent = goDir(path);
  let info: MatchInfo = [];
  if (parent !== '.') {
    const dirs = parent.split('/');
    for (let i = 0; i < dirs.length; i++) info = pm.matchesUsingParentResults(dirs.slice(0, i + 1).join('/'), info).info;
  }
  return pm.matchesUsingParentResults(path, info).matched;
}

describe('PatternMatcher (patternmatcher TestMatches)', () => {
  for (const { pattern, path, want } of matchesTable) {
    it(`${JSON.stringify(pattern)} vs ${JSON.stringify(path)}: ${want}`, () => {
      const pm = PatternMatcher.compile([pattern]);
      assert.equal(pm.matchesExact(path), want === 'exact', 'matchesExact');
      assert.equal(pm.matchesOrParentMatches(path), want !== 'fail', 'matchesOrParentMatches');
      assert.equal(usingParentResults(pm, path), want !== 'fail', 'matchesUsingParentResults');
      assert.equal(pm.matchesUsingParentResults(path, []).matched, want !== 'fail', 'matchesUsingParentResults without context');
    });
  }
  for (const { patterns, path, want } of multiTable) {
    it(`${JSON.stringify(patterns)} vs ${JSON.stringify(path)}: ${want}`, () => {
      const pm = PatternMatcher.compile(patterns);
      assert.equal(pm.matchesOrParentMatches(path), want);
      assert.equal(usingParentResults(pm, path), want);
      assert.equal(pm.matchesUsingParentResults(path, []).matched, want);
    });
  }
});

// patternmatcher_test.go matchTests (stolen from Go's filepath Match tests), through Matches().
const goMatchTable: { pattern: string; path: string; want: boolean | 'error' }[] = [
  { pattern: 'abc', path: 'abc', want: true },
  { pattern: '*', path: 'abc', want: true },
  { pattern: '*c', path: 'abc', want: true },
  { pattern: 'a*', path: 'a', want: true },
  { pattern: 'a*', path: 'abc', want: true },
  { pattern: 'a*', path: 'ab/c', want: true },
  { pattern: 'a*/b', path: 'abc/b', want: true },
  { pattern: 'a*/b', path: 'a/c/b', want: false },
  { pattern: 'a*b*c*d*e*/f', path: 'axbxcxdxe/f', want: true },
  { pattern: 'a*b*c*d*e*/f', path: 'axbxcxdxexxx/f', want: true },
  { pattern: 'a*b*c*d*e*/f', path: 'axbxcxdxe/xxx/f', want: false },
  { pattern: 'a*b*c*d*e*/f', path: 'axbxcxdxexxx/fff', want: false },
  { pattern: 'a*b?c*x', path: 'abxbbxdbxebxczzx', want: true },
  { pattern: 'a*b?c*x', path: 'abxbbxdbxebxczzy', want: false },
  { pattern: 'ab[c]', path: 'abc', want: true },
  { pattern: 'ab[b-d]', path: 'abc', want: true },
  { pattern: 'ab[e-g]', path: 'abc', want: false },
  { pattern: 'ab[^c]', path: 'abc', want: false },
  { pattern: 'ab[^b-d]', path: 'abc', want: false },
  { pattern: 'ab[^e-g]', path: 'abc', want: true },
  { pattern: 'a\\*b', path: 'a*b', want: true },
  { pattern: 'a\\*b', path: 'ab', want: false },
  { pattern: 'a?b', path: 'a☺b', want: true },
  { pattern: 'a[^a]b', path: 'a☺b', want: true },
  { pattern: 'a???b', path: 'a☺b', want: false },
  { pattern: 'a[^a][^a][^a]b', path: 'a☺b', want: false },
  { pattern: '[a-ζ]*', path: 'α', want: true },
  { pattern: '*[a-ζ]', path: 'A', want: false },
  { pattern: 'a?b', path: 'a/b', want: false },
  { pattern: 'a*b', path: 'a/b', want: false },
  { pattern: '[\\]a]', path: ']', want: true },
  { pattern: '[\\-]', path: '-', want: true },
  { pattern: '[x\\-]', path: 'x', want: true },
  { pattern: '[x\\-]', path: '-', want: true },
  { pattern: '[x\\-]', path: 'z', want: false },
  { pattern: '[\\-x]', path: 'x', want: true },
  { pattern: '[\\-x]', path: '-', want: true },
  { pattern: '[\\-x]', path: 'a', want: false },
  { pattern: '[]a]', path: ']', want: 'error' },
  { pattern: '[-]', path: '-', want: 'error' },
  { pattern: '[x-]', path: 'x', want: 'error' },
  { pattern: '[x-]', path: '-', want: 'error' },
  { pattern: '[x-]', path: 'z', want: 'error' },
  { pattern: '[-x]', path: 'x', want: 'error' },
  { pattern: '[-x]', path: '-', want: 'error' },
  { pattern: '[-x]', path: 'a', want: 'error' },
  { pattern: '\\', path: 'a', want: 'error' },
  { pattern: '[a-b-c]', path: 'a', want: 'error' },
  { pattern: '[', path: 'a', want: 'error' },
  { pattern: '[^', path: 'a', want: 'error' },
  { pattern: '[^bc', path: 'a', want: 'error' },
  { pattern: 'a[', path: 'a', want: 'error' },
  { pattern: 'a[', path: 'ab', want: 'error' },
  { pattern: '*x', path: 'xxx', want: true },
];

describe('matchesPatterns (patternmatcher TestMatch)', () => {
  for (const { pattern, path, want } of goMatchTable) {
    it(`${JSON.stringify(pattern)} vs ${JSON.stringify(path)}: ${want}`, () => {
      if (want === 'error') {
        assert.throws(() => matchesPatterns(path, [pattern]), (e: unknown) => e instanceof BuildError && e.code === 'CONTEXT');
      } else {
        assert.equal(matchesPatterns(path, [pattern]), want);
      }
    });
  }
});

describe('patternmatcher small cases', () => {
  it('wildcard and simple patterns', () => {
    assert.equal(matchesPatterns('fileutils.go', ['*']), true);
    assert.equal(matchesPatterns('fileutils.go', ['*.go']), true);
  });
  it('an exclusion before an inclusion is overridden; after it wins', () => {
    assert.equal(matchesPatterns('fileutils.go', ['!fileutils.go', '*.go']), true);
    assert.equal(matchesPatterns('fileutils.go', ['*.go', '!fileutils.go']), false);
  });
  it('a folder pattern followed by an exception', () => {
    assert.equal(matchesPatterns('docs/README.md', ['docs', '!docs/README.md']), false);
    assert.equal(matchesPatterns('docs/README.md', ['docs/', '!docs/README.md']), false);
    assert.equal(matchesPatterns('docs/README.md', ['docs/*', '!docs/README.md']), false);
  });
  it('"." never matches (the context cannot be excluded)', () => {
    assert.equal(matchesPatterns('.', ['*.go']), false);
    assert.equal(matchesPatterns('.', ['**']), false);
  });
  it('a lone "!" is an error that says so', () => {
    assert.throws(() => matchesPatterns('fileutils.go', ['!']), /illegal exclusion pattern: "!"/);
  });
  it('no patterns match nothing; a malformed pattern is an error', () => {
    assert.equal(matchesPatterns('/any/path/there', []), false);
    assert.throws(() => matchesPatterns('/any/path/there', ['[']), /syntax error in pattern "\["/);
  });
  it('blank patterns are dropped and whitespace trimmed', () => {
    assert.equal(PatternMatcher.compile(['docs', 'config', '']).patterns.length, 2);
    assert.equal(PatternMatcher.compile(['docs', '  !docs/README.md']).hasExclusions, true);
    assert.equal(PatternMatcher.compile(['docs', '!docs/README.md  ']).hasExclusions, true);
  });
  it('a pattern that passes Match syntax but not RegExp ("[Local-Only]") is a clear error', () => {
    assert.throws(() => PatternMatcher.compile(['[Local-Only]/'], { file: '.dockerignore' }), /syntax error in pattern "\[Local-Only\]\/" in \.dockerignore/);
  });
});

describe('Docker .dockerignore semantics (not gitignore)', () => {
  const rows: { patterns: string[]; path: string; want: boolean }[] = [
    // Anchored at the root: a plain name only matches at the top.
    { patterns: ['foo'], path: 'foo', want: true },
    { patterns: ['foo'], path: 'a/foo', want: false },
    { patterns: ['/foo'], path: 'foo', want: true },
    { patterns: ['*.md'], path: 'README.md', want: true },
    { patterns: ['*.md'], path: 'docs/README.md', want: false },
    { patterns: ['*/*.md'], path: 'docs/README.md', want: true },
    // `**` at any depth.
    { patterns: ['**/*.md'], path: 'docs/a/b/README.md', want: true },
    { patterns: ['**/node_modules'], path: 'a/b/node_modules/x/y.js', want: true },
    // A directory pattern excludes everything below it.
    { patterns: ['build'], path: 'build/out/app.js', want: true },
    { patterns: ['build/'], path: 'build/out/app.js', want: true },
    // Later patterns win; `!` re-includes.
    { patterns: ['*.md', '!README.md'], path: 'README.md', want: false },
    { patterns: ['*.md', '!README.md', 'README*'], path: 'README.md', want: true },
    { patterns: ['**', '!src', 'src/*.tmp'], path: 'src/a.tmp', want: true },
    { patterns: ['**', '!src', 'src/*.tmp'], path: 'src/a.ts', want: false },
    // Cleaning.
    { patterns: ['./foo/../bar'], path: 'bar', want: true },
    { patterns: ['a//b/'], path: 'a/b', want: true },
    // Escapes.
    { patterns: ['\\*'], path: '*', want: true },
    { patterns: ['\\*'], path: 'x', want: false },
    { patterns: ['\\#notacomment'], path: '#notacomment', want: true },
  ];
  for (const { patterns, path, want } of rows) {
    it(`${JSON.stringify(patterns)} vs ${JSON.stringify(path)}: ${want}`, () => {
      // Through the file reader, as a .dockerignore is read.
      assert.equal(matchesPatterns(path, parseIgnoreFile(patterns.join('\n'))), want);
    });
  }
});

describe('parseIgnoreFile (ignorefile TestReadAll)', () => {
  it('cleans, un-roots, skips comments and blanks, keeps "!"', () => {
    const content = 'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
    assert.deepEqual(parseIgnoreFile(content), ['test1', 'test2', 'a/file/here', 'lastfile', '!inverted/abs/path', '!', '!']);
  });
  it('strips a BOM, CRLF and trailing whitespace; "#" only at line start is a comment', () => {
    assert.deepEqual(parseIgnoreFile('\uFEFFa  \r\n  # not a comment\r\n#c\nb/\t\n'), ['a', '# not a comment', 'b']);
  });
  it('empty input gives no patterns', () => {
    assert.deepEqual(parseIgnoreFile(''), []);
  });
});

describe('go-path', () => {
  const cleans: [string, string][] = [
    ['', '.'], ['abc', 'abc'], ['abc/', 'abc'], ['a//c', 'a/c'], ['./a', 'a'], ['a/./b', 'a/b'], ['a/../b', 'b'],
    ['../a', '../a'], ['/../a', '/a'], ['/', '/'], ['a/..', '.'], ['../../x/..', '../..'],
  ];
  for (const [input, want] of cleans) it(`goClean(${JSON.stringify(input)}) = ${JSON.stringify(want)}`, () => assert.equal(goClean(input), want));
  it('goDir', () => {
    assert.equal(goDir('file'), '.');
    assert.equal(goDir('dir/file/'), 'dir/file');
    assert.equal(goDir('/a'), '/');
    assert.equal(goDir('a/b/c'), 'a/b');
  });
  it('goMatch: * crosses no slash but matches dotfiles', () => {
    assert.equal(goMatch('*', '.hidden'), true);
    assert.equal(goMatch('*', 'a/b'), false);
    assert.equal(goMatch('*.txt', 'a.txt'), true);
  });
});
