import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BuildContext } from '../../src/context/context.js';
import { copyPlan, matchSources, type PlanSource } from '../../src/context/sources.js';
import { BuildError } from '../../src/errors.js';
import { makeTree } from './make-tree.js';

describe('matchSources', () => {
  let tmp: string;
  let ctx: BuildContext;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-src-'));
    await makeTree(tmp, {
      '.dockerignore': 'skip.txt\n',
      'Dockerfile': 'FROM x',
      'a.txt': 'a', 'b.txt': 'b', 'c.md': 'c', '.hidden.txt': 'h', 'skip.txt': '',
      'src/x.ts': 'x', 'src/y.ts': 'y', 'src/y.test.ts': 't', 'src/sub/z.ts': 'z', 'src/link': '->x.ts',
      'pkg/one/main.go': '1', 'pkg/two/main.go': '2',
      'top-link': '->src',
      'star*': 's',
    });
    ctx = await BuildContext.open(tmp);
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('a plain file and a directory', async () => {
    const m = await matchSources(ctx, ['a.txt', 'src']);
    assert.deepEqual(m.map((s) => [s.path, s.isDir]), [['a.txt', false], ['src', true]]);
    assert.deepEqual((await m[0]!.entries()), []);
    const ents = (await m[1]!.entries()).map((e) => `${e.type}:${e.path}`);
    assert.deepEqual(ents, ['symlink:link', 'dir:sub', 'file:sub/z.ts', 'file:x.ts', 'file:y.test.ts', 'file:y.ts']);
  });

  it('wildcards per segment, sorted, matching dotfiles, skipping ignored files', async () => {
    assert.deepEqual((await matchSources(ctx, ['*.txt'])).map((s) => s.path), ['.hidden.txt', 'a.txt', 'b.txt']);
    assert.deepEqual((await matchSources(ctx, ['pkg/*/main.go'])).map((s) => s.path), ['pkg/one/main.go', 'pkg/two/main.go']);
    assert.deepEqual((await matchSources(ctx, ['[ab].txt'])).map((s) => s.path), ['a.txt', 'b.txt']);
    assert.deepEqual((await matchSources(ctx, ['?.md'])).map((s) => s.path), ['c.md']);
    assert.deepEqual((await matchSources(ctx, ['star\\*'])).map((s) => s.path), ['star*']);
    // `*` does not cross `/`, and there is no `**` recursion in COPY sources.
    assert.deepEqual((await matchSources(ctx, ['src/*.ts'])).map((s) => s.path), ['src/x.ts', 'src/y.test.ts', 'src/y.ts']);
    // `**` is just `*` here (one segment); symlinked directories are listed through.
    assert.deepEqual((await matchSources(ctx, ['**/x.ts'])).map((s) => s.path), ['src/x.ts', 'top-link/x.ts']);
    assert.deepEqual(await matchSources(ctx, ['**/z.ts']), [], 'a wildcard may match nothing (BuildKit\'s AllowEmptyWildcard)');
  });

  it('a top-level symlink source is followed; nested symlinks stay symlinks', async () => {
    const [m] = await matchSources(ctx, ['top-link']);
    assert.equal(m!.isDir, true);
    assert.equal(m!.path, 'top-link');
    assert.equal(m!.resolved, 'src');
    assert.ok((await m!.entries()).some((e) => e.path === 'link' && e.type === 'symlink'));
  });

  it('nothing matched is BuildKit\'s not found (a wildcard in an existing directory may match nothing)', async () => {
    await assert.rejects(matchSources(ctx, ['missing']), (e: unknown) => e instanceof BuildError && e.message === 'failed to compute cache key: "/missing": not found');
    assert.deepEqual(await matchSources(ctx, ['*.nope']), []);
    await assert.rejects(matchSources(ctx, ['nodir/*.nope']), /"\/nodir\/\*\.nope": not found/);
    await assert.rejects(matchSources(ctx, ['skip.txt']), /"\/skip.txt": not found/);
    await assert.rejects(matchSources(ctx, ['../x']), /forbidden path outside the build context/);
  });

  it('--exclude removes matches and entries below a directory source', async () => {
    assert.deepEqual((await matchSources(ctx, ['*.txt'], { excludes: ['b.txt'] })).map((s) => s.path), ['.hidden.txt', 'a.txt']);
    const [m] = await matchSources(ctx, ['src'], { excludes: ['*.test.ts', 'sub'] });
    assert.deepEqual((await m!.entries()).map((e) => e.path), ['link', 'x.ts', 'y.ts']);
    const [m2] = await matchSources(ctx, ['src'], { excludes: ['sub', '!sub/z.ts', '**/*.test.ts'] });
    assert.deepEqual((await m2!.entries()).map((e) => e.path), ['link', 'sub', 'sub/z.ts', 'x.ts', 'y.ts']);
    await assert.rejects(matchSources(ctx, ['a.txt'], { excludes: ['a.txt'] }), /not found/);
  });

  it('--parents base from the /./ pivot', async () => {
    const [m] = await matchSources(ctx, ['pkg/./one/main.go']);
    assert.equal(m!.path, 'pkg/one/main.go');
    assert.equal(m!.parentsBase, 'pkg');
  });
});

describe('copyPlan', () => {
  const file = (p: string): PlanSource => ({ path: p, isDir: false });
  const dir = (p: string, entries: string[]): PlanSource => ({
    path: p,
    isDir: true,
    entries: entries.map((e) => ({ path: e.replace(/\/$/, ''), type: e.endsWith('/') ? ('dir' as const) : ('file' as const) })),
  });
  const rows: { name: string; sources: PlanSource[]; dest: string; opts?: Parameters<typeof copyPlan>[2]; want: string[] | RegExp }[] = [
    { name: 'file to a file path', sources: [file('a.txt')], dest: '/app/b.txt', want: ['a.txt -> /app/b.txt'] },
    { name: 'file to a dir (trailing slash)', sources: [file('a.txt')], dest: '/app/', want: ['a.txt -> /app/a.txt'] },
    { name: 'file to "." is WORKDIR/name', sources: [file('x/a.txt')], dest: '.', opts: { workdir: '/w' }, want: ['x/a.txt -> /w/a.txt'] },
    { name: 'relative dest is relative to WORKDIR', sources: [file('a.txt')], dest: 'sub/b', opts: { workdir: '/w' }, want: ['a.txt -> /w/sub/b'] },
    { name: 'relative dir dest under WORKDIR', sources: [file('a.txt')], dest: 'sub/', opts: { workdir: '/w' }, want: ['a.txt -> /w/sub/a.txt'] },
    { name: 'no workdir means /', sources: [file('a.txt')], dest: 'b', want: ['a.txt -> /b'] },
    { name: 'existing dir in the image (destIsDir)', sources: [file('a.txt')], dest: '/etc', opts: { destIsDir: true }, want: ['a.txt -> /etc/a.txt'] },
    { name: 'dir copies its contents', sources: [dir('src', ['x.ts', 'sub/', 'sub/z.ts'])], dest: '/app', want: ['src -> /app', 'src/x.ts -> /app/x.ts', 'src/sub -> /app/sub', 'src/sub/z.ts -> /app/sub/z.ts'] },
    { name: 'context root', sources: [dir('', ['a'])], dest: '/app/', want: [' -> /app', 'a -> /app/a'] },
    { name: 'two files into a non-dir dest both land on it (BuildKit: the last stays)', sources: [file('a'), file('b')], dest: '/app', want: ['a -> /app', 'b -> /app'] },
    { name: 'a dir source makes the dest a dir for the next ones', sources: [dir('d', ['x']), file('b')], dest: '/app', want: ['d -> /app', 'd/x -> /app/x', 'b -> /app/b'] },
    { name: 'two sources into a dir', sources: [file('a'), dir('d', ['x'])], dest: '/app/', want: ['a -> /app/a', 'd -> /app', 'd/x -> /app/x'] },
    { name: '--parents keeps the path', sources: [file('pkg/one/main.go'), file('pkg/two/main.go')], dest: '/out', opts: { parents: true }, want: ['pkg/one/main.go -> /out/pkg/one/main.go', 'pkg/two/main.go -> /out/pkg/two/main.go'] },
    { name: '--parents from a pivot', sources: [{ ...file('pkg/one/main.go'), parentsBase: 'pkg' }], dest: '/out/', opts: { parents: true }, want: ['pkg/one/main.go -> /out/one/main.go'] },
    { name: '--parents with a dir', sources: [dir('src/sub', ['z.ts'])], dest: '/o/', opts: { parents: true }, want: ['src/sub -> /o/src/sub', 'src/sub/z.ts -> /o/src/sub/z.ts'] },
  ];
  for (const r of rows) {
    it(r.name, () => {
      if (r.want instanceof RegExp) {
        assert.throws(() => copyPlan(r.sources, r.dest, r.opts), (e: unknown) => e instanceof BuildError && e.code === 'CONTEXT' && (r.want as RegExp).test(e.message));
        return;
      }
      assert.deepEqual(copyPlan(r.sources, r.dest, r.opts).map((t) => `${t.src} -> ${t.dest}`), r.want);
    });
  }
});
