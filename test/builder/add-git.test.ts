/**
 * ADD <git repository> (issue 17): a repository made here with the git CLI, served from
 * 127.0.0.1 over git's dumb HTTP protocol (a static server after `git update-server-info`) and
 * over git:// (`git daemon`); the built rootfs is read back from a `type=local` output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, toolSkipReason, writeContext } from '../helpers/build.js';
import { makeGitRepo, serveGitDaemon, serveGitHttp, type GitRepo, type Served } from '../helpers/git-server.js';
import { runCli } from '../helpers/cli.js';
import { EXIT_CODES } from '../../src/errors.js';

const skip = buildSkipReason() || toolSkipReason('git');
const modeOf = (p: string) => (lstatSync(p).mode & 0o7777).toString(8);

describe('builder: ADD of a git repository', { skip }, () => {
  let root: string;
  let repo: GitRepo;
  let web: Served;
  let daemon: Served;
  let first: string;
  before(async () => {
    root = await makeStoreRoot();
    repo = await makeGitRepo({
      'README.md': 'readme v1\n',
      'bin/run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
      'sub/dir/inner.txt': 'inner\n',
      'sub/link': { symlink: 'dir/inner.txt' },
    });
    first = repo.git('rev-parse', 'HEAD');
    repo.git('tag', '-a', '-m', 'release', 'v1');
    await repo.commit({ 'README.md': 'readme v2\n' }, 'second');
    web = await serveGitHttp(repo);
    daemon = await serveGitDaemon(repo);
  });
  after(async () => {
    await web?.close();
    await daemon?.close();
    await cleanupTemp();
  });

  async function rootfs(dockerfile: string, opts: Parameters<typeof buildFiles>[2] = {}): Promise<{ out: string; hits: number[]; misses: number[]; history: string[] }> {
    const out = await tempDir('mybuild-addgit-');
    const r = await buildFiles(root, { Dockerfile: dockerfile }, { outputs: [{ type: 'local', dest: out }], ...opts });
    return { out, hits: r.hits, misses: r.misses, history: (r.config.history ?? []).map((h) => h.created_by ?? '') };
  }

  it('ADD http(s)://…/repo.git#branch clones the branch over dumb HTTP: files, modes, symlinks, root owner, no .git', async () => {
    const { out } = await rootfs(`FROM scratch\nADD ${web.url('repo.git')}#main /src\n`);
    assert.equal(readFileSync(path.join(out, 'src/README.md'), 'utf8'), 'readme v2\n');
    assert.equal(modeOf(path.join(out, 'src/README.md')), '644');
    assert.equal(modeOf(path.join(out, 'src/bin/run.sh')), '755');
    assert.equal(modeOf(path.join(out, 'src/sub/dir')), '755');
    assert.equal(readlinkSync(path.join(out, 'src/sub/link')), 'dir/inner.txt');
    assert.equal(lstatSync(path.join(out, 'src/README.md')).uid, 0);
    assert.ok(!existsSync(path.join(out, 'src/.git')), 'no .git without --keep-git-dir');
  });

  it('#tag:subdir takes the tag (an annotated one peels to its commit) and only the subdirectory, over git://', async () => {
    const { out } = await rootfs(`FROM scratch\nADD ${daemon.url('repo.git')}#v1:sub /s/\n`);
    assert.equal(readFileSync(path.join(out, 's/dir/inner.txt'), 'utf8'), 'inner\n');
    assert.ok(!existsSync(path.join(out, 's/README.md')));
  });

  it('a full commit SHA as ref (a full fetch) and --keep-git-dir=true keeps .git at that commit, with the remote in its config', async () => {
    const { out } = await rootfs(`FROM busybox\nADD --keep-git-dir=true ${daemon.url('repo.git')}#${first} /src\n`);
    assert.equal(readFileSync(path.join(out, 'src/README.md'), 'utf8'), 'readme v1\n');
    assert.ok(lstatSync(path.join(out, 'src/.git')).isDirectory());
    const head = execFileSync('git', ['-c', `safe.directory=*`, 'rev-parse', 'HEAD'], { cwd: path.join(out, 'src'), encoding: 'utf8' }).trim();
    assert.equal(head, first);
  });

  it('--checksum is checked against the commit (a prefix matches; another commit fails with BuildKit\'s message)', async () => {
    const head = repo.git('rev-parse', 'HEAD');
    const ok = await rootfs(`FROM scratch\nADD --checksum=${head.slice(0, 12)} ${web.url('repo.git')}#main /src\n`);
    assert.equal(readFileSync(path.join(ok.out, 'src/README.md'), 'utf8'), 'readme v2\n');
    const ctx = await writeContext({ Dockerfile: `FROM scratch\nADD --checksum=${first} ${web.url('repo.git')}#main /src\n` });
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', ctx], { cwd: ctx, env: { PATH: process.env.PATH } });
    assert.equal(r.code, EXIT_CODES.PLAN, r.err);
    assert.match(r.err, /Dockerfile:2:1/);
    assert.match(r.err, new RegExp(`expected checksum to match ${first}, got ${head}`));
    const badCtx = await writeContext({ Dockerfile: `FROM scratch\nADD --checksum=sha256:${'a'.repeat(64)} ${web.url('repo.git')} /src\n` });
    const bad = await runCli(['--root', root, 'build', '--progress', 'plain', badCtx], { cwd: badCtx, env: { PATH: process.env.PATH } });
    assert.equal(bad.code, EXIT_CODES.PLAN, bad.err);
    assert.match(bad.err, /invalid checksum sha256:a+ for Git URL, expected hex commit hash/);
  });

  it('the cache key is the resolved commit: another URL of the same commit hits, a new commit on the branch misses', async () => {
    await rootfs(`FROM scratch\nADD ${web.url('repo.git')}#main /k\n`);
    const b = await rootfs(`FROM scratch\nADD ${daemon.url('repo.git')}#main /k\n`);
    assert.equal(b.misses.length, 0, 'same commit through git:// reuses the HTTP build\'s step');
    assert.ok(b.hits.length > 0);
    await repo.commit({ 'README.md': 'readme v3\n' }, 'third');
    const c = await rootfs(`FROM scratch\nADD ${web.url('repo.git')}#main /k\n`);
    assert.ok(c.misses.length > 0, 'a moved branch misses');
    assert.equal(readFileSync(path.join(c.out, 'k/README.md'), 'utf8'), 'readme v3\n');
  });

  it('GIT_AUTH_TOKEN from --secret is sent as BuildKit\'s Authorization header and reaches no layer or history', async () => {
    const token = 'tok-s3cret-17';
    const guarded = await serveGitHttp(repo, { auth: `basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}` });
    try {
      const df = `FROM scratch\nADD ${guarded.url('repo.git')}#main /g\n`;
      await assert.rejects(rootfs(df), /git ls-remote of .* failed/);
      process.env.MYBUILD_TEST_GIT_TOKEN = token;
      const r = await rootfs(df, { secrets: [{ id: 'GIT_AUTH_TOKEN', env: 'MYBUILD_TEST_GIT_TOKEN' }] });
      assert.ok(existsSync(path.join(r.out, 'g/README.md')));
      assert.ok(!r.history.some((h) => h.includes(token)));
      const blobs = execFileSync('sh', ['-c', `grep -rl ${token} ${root} || true`], { encoding: 'utf8' }).trim();
      assert.equal(blobs, '', 'the token is nowhere in the store');
    } finally {
      delete process.env.MYBUILD_TEST_GIT_TOKEN;
      await guarded.close();
    }
  });

  it('an unreachable repository is a context error naming the remote, not a downloaded file', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM scratch\nADD https://127.0.0.1:1/foo/bar.git#main /x\n' });
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', ctx], { cwd: ctx, env: { PATH: process.env.PATH } });
    assert.notEqual(r.code, 0);
    assert.match(r.err, /Dockerfile:2:1/);
    assert.match(r.err, /git ls-remote of https:\/\/127.0.0.1:1\/foo\/bar.git failed/);
    assert.doesNotMatch(r.err, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
  });

  it('--chown owns every cloned file and the created destination; the ?tag= query form picks the tag', async () => {
    const { out } = await rootfs(`FROM scratch\nADD --chown=1000:1001 ${web.url('repo.git')}?tag=v1 /c\n`);
    for (const p of ['c', 'c/README.md', 'c/bin/run.sh', 'c/sub/dir']) {
      const st = lstatSync(path.join(out, p));
      assert.deepEqual([st.uid, st.gid], [1000, 1001], p);
    }
    assert.equal(readFileSync(path.join(out, 'c/README.md'), 'utf8'), 'readme v1\n');
  });

  it('--exclude patterns apply to the repository\'s files (relative to its root)', async () => {
    const { out } = await rootfs(`FROM scratch\nADD --exclude=*.md --exclude=sub/dir ${web.url('repo.git')}#main /e\n`);
    assert.ok(!existsSync(path.join(out, 'e/README.md')));
    assert.ok(!existsSync(path.join(out, 'e/sub/dir')));
    assert.ok(existsSync(path.join(out, 'e/bin/run.sh')));
    assert.equal(readlinkSync(path.join(out, 'e/sub/link')), 'dir/inner.txt');
  });

  it('a missing ref and a subdir that is a file are refused clearly', async () => {
    await assert.rejects(rootfs(`FROM scratch\nADD ${web.url('repo.git')}#nope /x\n`), /does not contain ref nope/);
    await assert.rejects(rootfs(`FROM scratch\nADD ${web.url('repo.git')}#main:README.md /x\n`), /invalid subdir README.md: README.md is not a directory/);
    await assert.rejects(rootfs(`FROM scratch\nADD ${web.url('repo.git')}#main:sub/link /x\n`), /invalid subdir sub\/link/);
  });
});
