/**
 * `mybuild build` with a context that is not a local directory (issue 17), as docker build takes
 * them: `-` (a context tar, plain or gzip, on stdin; or a Dockerfile on stdin), a git URL with
 * `#ref:dir` (served over dumb HTTP from 127.0.0.1), and a tarball URL (an HTTP server on
 * 127.0.0.1). Real builds; the rootfs is read back from a `type=local` output, and the
 * temporary context is gone afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, toolSkipReason, writeContext } from '../helpers/build.js';
import { makeGitRepo, serveGitHttp, type Served } from '../helpers/git-server.js';
import { runCli } from '../helpers/cli.js';
import { EXIT_CODES } from '../../src/errors.js';
import { loadBase } from '../helpers/build.js';
import { startTestDaemon } from '../daemon/helpers.js';

const skip = buildSkipReason() || toolSkipReason('git', 'tar');

describe('mybuild build: remote and stdin contexts', { skip }, () => {
  let root: string;
  let tmp: string;
  let web: Served;
  let tarServer: http.Server;
  let tarBase: string;
  before(async () => {
    root = await makeStoreRoot();
    tmp = await tempDir('mybuild-rctx-tmp-');
    const repo = await makeGitRepo({ 'app/Dockerfile': 'FROM scratch\nCOPY hello.txt /from-git.txt\n', 'app/hello.txt': 'from git\n', 'README.md': 'outside app\n' });
    web = await serveGitHttp(repo);
    const ctx = await writeContext({ 'Dockerfile.web': 'FROM scratch\nCOPY data.txt /from-url.txt\n', 'data.txt': 'from a tarball\n' });
    tarBase = await tempDir('mybuild-rctx-srv-');
    execFileSync('tar', ['-czf', path.join(tarBase, 'ctx.tar.gz'), '-C', ctx, '.']);
    tarServer = http.createServer((req, res) => {
      if (req.url === '/Dockerfile') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('FROM scratch\nLABEL from=url\n');
      if (req.url !== '/ctx.tar.gz') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/gzip' });
      createReadStream(path.join(tarBase, 'ctx.tar.gz')).pipe(res);
    });
    await new Promise<void>((r) => tarServer.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await web?.close();
    await new Promise((r) => tarServer?.close(r));
    await cleanupTemp();
  });

  const env = () => ({ PATH: process.env.PATH, TMPDIR: tmp });
  const tarUrl = (p: string) => `http://127.0.0.1:${(tarServer.address() as AddressInfo).port}/${p}`;

  async function build(args: string[], stdin?: NodeJS.ReadableStream | string) {
    const out = await tempDir('mybuild-rctx-out-');
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--output', `type=local,dest=${out}`, ...args], { env: env(), cwd: tmp, ...(stdin !== undefined ? { stdin } : {}) });
    return { ...r, out };
  }

  function leftovers(): string[] {
    return readdirSync(tmp).filter((n) => n.startsWith('remote-context-'));
  }

  it('build - < ctx.tar.gz: a gzip context tar on stdin with the Dockerfile inside', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'from stdin tar\n' });
    const file = path.join(await tempDir(), 'ctx.tar.gz');
    execFileSync('tar', ['-czf', file, '-C', ctx, '.']);
    const r = await build(['-'], createReadStream(file));
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(path.join(r.out, 'a.txt'), 'utf8'), 'from stdin tar\n');
    assert.deepEqual(leftovers(), []);
  });

  it('build - < ctx.tar: a plain tar on stdin, -f naming a Dockerfile inside it', async () => {
    const ctx = await writeContext({ 'sub/Other.Dockerfile': 'FROM scratch\nCOPY b.txt /b.txt\n', 'b.txt': 'plain tar\n' });
    const file = path.join(await tempDir(), 'ctx.tar');
    execFileSync('tar', ['-cf', file, '-C', ctx, '.']);
    const r = await build(['-f', 'sub/Other.Dockerfile', '-'], createReadStream(file));
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(path.join(r.out, 'b.txt'), 'utf8'), 'plain tar\n');
  });

  it('build - < Dockerfile: stdin that is not a tar is the Dockerfile, with an empty context', async () => {
    const ok = await build(['-'], 'FROM busybox\nRUN echo piped > /p.txt\n');
    assert.equal(ok.code, 0, ok.err);
    assert.equal(readFileSync(path.join(ok.out, 'p.txt'), 'utf8'), 'piped\n');
    const copy = await build(['-'], 'FROM scratch\nCOPY x.txt /\n');
    assert.notEqual(copy.code, 0);
    assert.match(copy.err, /x\.txt/);
    assert.deepEqual(leftovers(), []);
  });

  it('-f - with - is refused as docker refuses it', async () => {
    const r = await build(['-f', '-', '-'], 'FROM scratch\n');
    assert.equal(r.code, EXIT_CODES.USAGE, r.err);
    assert.match(r.err, /can't use stdin for both build context and dockerfile/);
  });

  it('a context tar with an entry leaving the context is refused, nothing left behind', async () => {
    const dir = await tempDir();
    // tar(1) strips a leading ../, so the unsafe tar is made with Python's tarfile.
    execFileSync('python3', ['-c', `import tarfile,io\nt=tarfile.open('${dir}/bad.tar','w')\nfor n,d in [('Dockerfile',b'FROM scratch\\n'),('../escape.txt',b'x')]:\n  i=tarfile.TarInfo(n); i.size=len(d); t.addfile(i,io.BytesIO(d))\nt.close()`]);
    const r = await build(['-'], createReadStream(path.join(dir, 'bad.tar')));
    assert.notEqual(r.code, 0);
    assert.match(r.err, /refusing build context tar entry "\.\.\/escape\.txt"/);
    assert.deepEqual(leftovers(), []);
  });

  it('build https://…/repo.git#ref:dir: a git context, the subdirectory as the context', async () => {
    const r = await build([`${web.url('repo.git')}#main:app`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(path.join(r.out, 'from-git.txt'), 'utf8'), 'from git\n');
    assert.deepEqual(leftovers(), []);
  });

  it('build http://…/ctx.tar.gz: a tarball URL, -f inside it; a text URL is the Dockerfile', async () => {
    const r = await build(['-f', 'Dockerfile.web', tarUrl('ctx.tar.gz')]);
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(path.join(r.out, 'from-url.txt'), 'utf8'), 'from a tarball\n');
    const t = await build([tarUrl('Dockerfile')]);
    assert.equal(t.code, 0, t.err);
    const missing = await build([tarUrl('nope.tar')]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.err, /unable to download the build context .*404/);
    assert.deepEqual(leftovers(), []);
  });

  it('through a daemon (-H): a Dockerfile on stdin and a git context are sent as the context they were made into', async () => {
    const d = await startTestDaemon();
    try {
      await loadBase(d.root);
      const piped = await runCli(['-H', d.host, 'build', '-q', '-'], { stdin: 'FROM busybox\nRUN echo via-daemon > /d.txt\n', env: env(), cwd: tmp });
      assert.equal(piped.code, 0, piped.err);
      assert.match(piped.out, /^sha256:[0-9a-f]{64}\n$/);
      const git = await runCli(['-H', d.host, 'build', '-q', `${web.url('repo.git')}#main:app`], { env: env(), cwd: tmp });
      assert.equal(git.code, 0, git.err);
      assert.deepEqual(leftovers(), []);
    } finally {
      await d.stop();
    }
  });
});
