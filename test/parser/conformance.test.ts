// BuildKit conformance: upstream testfiles, negative cases, testfile-line, the generated cases
// and the 307-file corpus, all read from ../shared at run time (skipped when absent).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { sharedPath } from '../helpers/paths.js';
import { dump, parseDockerfile } from '../../src/parser/index.js';
import { ParseError } from '../../src/errors.js';
import type { Instruction, ParseResult } from '../../src/parser/ast.js';

const parser = sharedPath('conformance/buildkit-parser');
const generated = sharedPath('conformance/buildkit-parser-generated');
const corpus = sharedPath('corpus');

const read = (p: string): string => readFileSync(p, 'utf8');
const dirs = (p: string): string[] => (existsSync(p) ? readdirSync(p).sort() : []);

interface MetaHeredoc { name: string; fileDescriptor: number; expand: boolean; chomp: boolean; content: string }
interface MetaChild { index: number; startLine: number; endLine: number; original?: string; flags: string[]; heredocs?: MetaHeredoc[] }
interface Meta { escapeToken: string; children: MetaChild[]; warnings?: string[]; error?: string }

/** Compares our AST with a BuildKit meta.json (lines, original, flags, heredocs, warnings). */
function checkMeta(r: ParseResult, meta: Meta): void {
  assert.equal(r.ast.escapeToken, meta.escapeToken);
  assert.equal(r.ast.instructions.length, meta.children.length);
  meta.children.forEach((c) => {
    const n: Instruction = r.ast.instructions[c.index];
    assert.deepEqual({ start: n.range.start.line, end: n.range.end.line }, { start: c.startLine, end: c.endLine }, `instruction ${c.index} lines`);
    if (c.original !== undefined) assert.equal(n.original, c.original, `instruction ${c.index} original`);
    assert.deepEqual(n.flags.map((f) => f.raw), c.flags, `instruction ${c.index} flags`);
    const want = (c.heredocs ?? []).map((h) => ({ name: h.name, fileDescriptor: h.fileDescriptor, expand: h.expand, chomp: h.chomp, content: h.content }));
    const got = n.heredocs.map((h) => ({ name: h.name, fileDescriptor: h.fileDescriptor, expand: h.expand, chomp: h.chomp, content: h.content }));
    assert.deepEqual(got, want, `instruction ${c.index} heredocs`);
  });
  const got = r.warnings.filter((w) => w.rule === 'NoEmptyContinuation').map((w) => w.message);
  assert.deepEqual(got, meta.warnings ?? []);
}

describe('BuildKit testfiles', { skip: parser.skip }, () => {
  for (const c of dirs(path.join(parser.path, 'testfiles'))) {
    it(c, () => {
      const dir = path.join(parser.path, 'testfiles', c);
      assert.equal(dump(parseDockerfile(read(path.join(dir, 'Dockerfile'))).ast), read(path.join(dir, 'result')));
    });
  }
});

describe('BuildKit testfiles-negative', { skip: parser.skip }, () => {
  const reasons: Record<string, string> = {
    empty_dockerfile: 'file with no instructions',
    only_comments: 'file with no instructions',
    env_no_value: 'ENV must have two arguments',
    'shykes-nested-json': 'when using JSON array syntax, arrays must be comprised of strings only',
  };
  for (const c of dirs(path.join(parser.path, 'testfiles-negative'))) {
    it(c, () => {
      const text = read(path.join(parser.path, 'testfiles-negative', c, 'Dockerfile'));
      assert.throws(() => parseDockerfile(text), (e: unknown) => e instanceof ParseError && (reasons[c] === undefined || e.message === reasons[c]));
    });
  }
});

describe('BuildKit testfile-line', { skip: parser.skip }, () => {
  it('instruction line ranges', () => {
    const r = parseDockerfile(read(path.join(parser.path, 'testfile-line', 'Dockerfile')));
    assert.deepEqual(r.ast.instructions.map((n) => [n.range.start.line, n.range.end.line]), [[5, 5], [11, 12], [17, 31]]);
  });
});

describe('generated cases', { skip: generated.skip }, () => {
  for (const c of dirs(generated.path).filter((d) => existsSync(path.join(generated.path, d, 'Dockerfile')))) {
    it(c, () => {
      const dir = path.join(generated.path, c);
      const text = read(path.join(dir, 'Dockerfile'));
      const meta = JSON.parse(read(path.join(dir, 'meta.json'))) as Meta;
      if (existsSync(path.join(dir, 'error'))) {
        const want = read(path.join(dir, 'error')).trim();
        assert.throws(() => parseDockerfile(text), (e: unknown) => e instanceof ParseError && want.includes(e.message));
        return;
      }
      const r = parseDockerfile(text);
      assert.equal(dump(r.ast), read(path.join(dir, 'result')));
      checkMeta(r, meta);
    });
  }
});

describe('corpus (307 real Dockerfiles)', { skip: corpus.skip }, () => {
  const files = dirs(path.join(corpus.path, 'dockerfiles'));
  it('every file dumps as BuildKit and matches its meta.json', () => {
    const failures: string[] = [];
    for (const f of files) {
      const base = f.replace(/\.Dockerfile$/, '');
      const text = read(path.join(corpus.path, 'dockerfiles', f));
      try {
        const r = parseDockerfile(text);
        assert.equal(dump(r.ast), read(path.join(corpus.path, 'expected', `${base}.result`)));
        checkMeta(r, JSON.parse(read(path.join(corpus.path, 'expected', `${base}.meta.json`))) as Meta);
      } catch (e) {
        failures.push(`${f}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(files.length >= 300, `expected the 307 corpus files, found ${files.length}`);
  });
});
