import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BuildContext } from '../../src/context/context.js';
import { BuildError } from '../../src/errors.js';
import { makeTree } from './make-tree.js';

const isContextError = (re: RegExp) => (e: unknown) => e instanceof BuildError && e.code === 'CONTEXT' && re.test(e.message);

describe('BuildContext.walk with ignore files', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-ctx-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('lists everything, sorted, parents first, symlinks not followed', async () => {
    const dir = path.join(tmp, 'plain');
    await makeTree(dir, { 'Dockerfile': 'FROM x', 'b.txt': 'b', 'a/x.txt': 'x', 'a/link': '->../b.txt', 'empty/': '' });
    const ctx = await BuildContext.open(dir);
    const got = (await ctx.walk()).map((e) => `${e.type}:${e.path}${e.linkTarget ? '->' + e.linkTarget : ''}`);
    assert.deepEqual(got, ['file:Dockerfile', 'dir:a', 'symlink:a/link->../b.txt', 'file:a/x.txt', 'file:b.txt', 'dir:empty']);
  });

  it('honours .dockerignore: anchored names, **, dirs, ! re-includes; Dockerfile and .dockerignore only sent for transfer', async () => {
    const dir = path.join(tmp, 'ign');
    await makeTree(dir, {
      '.dockerignore': '# comment\nDockerfile\n.dockerignore\nnode_modules\n**/*.log\nsecret.txt\nbuild\n!build/keep.txt\n',
      'Dockerfile': 'FROM x',
      'node_modules/m/index.js': '',
      'sub/node_modules/kept.js': '', // a plain name is anchored at the root
      'a.log': '', 'sub/deep/b.log': '',
      'secret.txt': '', 'sub/secret.txt': '',
      'build/out.js': '', 'build/keep.txt': '',
      'src/main.ts': '',
    });
    const ctx = await BuildContext.open(dir);
    const got = (await ctx.walk()).map((e) => e.path);
    // What COPY sees: the patterns exclude the Dockerfile and .dockerignore (as BuildKit).
    assert.deepEqual(got, [
      'build', 'build/keep.txt', 'src', 'src/main.ts',
      'sub', 'sub/deep', 'sub/node_modules', 'sub/node_modules/kept.js', 'sub/secret.txt',
    ]);
    assert.equal(ctx.isExcluded('Dockerfile'), true);
    // What a client sends to a daemon: both always go along.
    const sent = (await ctx.walk('', { forTransfer: true })).map((e) => e.path);
    assert.deepEqual(sent, ['.dockerignore', 'Dockerfile', ...got]);
    assert.equal(ctx.isExcluded('Dockerfile', { forTransfer: true }), false);
    assert.equal(ctx.isExcluded('node_modules/m/index.js'), true);
    assert.equal(ctx.isExcluded('build/out.js'), true);
    assert.equal(ctx.isExcluded('build/keep.txt'), false);
  });

  it('<Dockerfile>.dockerignore beside the Dockerfile wins over .dockerignore', async () => {
    const dir = path.join(tmp, 'dfign');
    await makeTree(dir, {
      '.dockerignore': 'a.txt\n',
      'build/app.Dockerfile': 'FROM x',
      'build/app.Dockerfile.dockerignore': 'b.txt\n',
      'a.txt': '', 'b.txt': '',
    });
    const ctx = await BuildContext.open(dir, { dockerfilePath: 'build/app.Dockerfile' });
    const got = (await ctx.walk()).map((e) => e.path);
    assert.ok(got.includes('a.txt'));
    assert.ok(!got.includes('b.txt'));
    assert.ok(got.includes('build/app.Dockerfile') && got.includes('build/app.Dockerfile.dockerignore'));
    // Without the Dockerfile option, the context's .dockerignore applies.
    const ctx2 = await BuildContext.open(dir);
    const got2 = (await ctx2.walk()).map((e) => e.path);
    assert.ok(!got2.includes('a.txt') && got2.includes('b.txt'));
  });

  it('a malformed pattern names the ignore file', async () => {
    const dir = path.join(tmp, 'bad');
    await makeTree(dir, { '.dockerignore': 'ok\n[\n' });
    await assert.rejects(BuildContext.open(dir), isContextError(/syntax error in pattern "\[" in \.dockerignore/));
  });

  it('a context that is not a directory is a CONTEXT error', async () => {
    await assert.rejects(BuildContext.open(path.join(tmp, 'nope')), isContextError(/cannot open build context/));
  });
});

describe('BuildContext.resolve', () => {
  let tmp: string;
  let ctx: BuildContext;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-ctx-'));
    await makeTree(path.join(tmp, 'outside'), { 'secret': 's' });
    await makeTree(path.join(tmp, 'c'), {
      '.dockerignore': 'ignored.txt\n',
      'a/b.txt': 'b',
      'ignored.txt': '',
      'link-in': '->a/b.txt',
      'dirlink': '->a',
      'link-up': '->../outside/secret',
      'link-abs-out': '->' + path.join(tmp, 'outside', 'secret'),
      'link-abs-in': '->' + path.join(tmp, 'c', 'a', 'b.txt'),
      'loop1': '->loop2',
      'loop2': '->loop1',
      'a/deep-up': '->../../outside',
    });
    ctx = await BuildContext.open(path.join(tmp, 'c'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('resolves plain paths; absolute paths are relative to the context root', async () => {
    assert.equal((await ctx.resolve('a/b.txt')).path, 'a/b.txt');
    assert.equal((await ctx.resolve('/a/b.txt')).path, 'a/b.txt');
    assert.equal((await ctx.resolve('./a/../a/b.txt')).path, 'a/b.txt');
    assert.equal((await ctx.resolve('.')).path, '');
  });
  it('refuses ../x with a clear error', async () => {
    await assert.rejects(ctx.resolve('../outside/secret'), isContextError(/forbidden path outside the build context: \.\.\/outside\/secret/));
    await assert.rejects(ctx.resolve('a/../../x'), isContextError(/outside the build context/));
  });
  it('follows a top-level symlink inside the context only when asked', async () => {
    const r = await ctx.resolve('link-in', { followFinal: true });
    assert.equal(r.path, 'a/b.txt');
    assert.equal(r.type, 'file');
    const l = await ctx.resolve('link-in');
    assert.equal(l.type, 'symlink');
    assert.equal((await ctx.resolve('dirlink/b.txt')).path, 'a/b.txt');
    assert.equal((await ctx.resolve('link-abs-in', { followFinal: true })).path, 'a/b.txt');
  });
  it('refuses symlinks out of the context (relative, absolute, nested) and loops', async () => {
    await assert.rejects(ctx.resolve('link-up', { followFinal: true }), isContextError(/outside of the build context \(symlink link-up -> \.\.\/outside\/secret\)/));
    await assert.rejects(ctx.resolve('link-abs-out', { followFinal: true }), isContextError(/outside of the build context/));
    await assert.rejects(ctx.resolve('a/deep-up/secret'), isContextError(/outside of the build context/));
    await assert.rejects(ctx.resolve('loop1', { followFinal: true }), isContextError(/too many levels of symbolic links/));
  });
  it('a missing or excluded path is BuildKit\'s "not found", with the source location', async () => {
    const source = { file: 'Dockerfile', range: { start: { line: 3, col: 1, offset: 20 }, end: { line: 3, col: 20, offset: 39 } } };
    await assert.rejects(ctx.resolve('missing', { source }), (e: unknown) => {
      assert.ok(e instanceof BuildError);
      assert.equal(e.message, 'failed to compute cache key: "/missing": not found');
      assert.equal(e.source, source);
      return true;
    });
    await assert.rejects(ctx.resolve('ignored.txt'), isContextError(/"\/ignored.txt": not found/));
    assert.equal((await ctx.resolve('missing', { allowMissing: true })).exists, false);
  });
});
