/**
 * --build-context NAME=VALUE (issue 17), as buildx: a local directory (its .dockerignore
 * honoured), docker-image://REF, oci-layout://PATH, a git URL (dumb HTTP from 127.0.0.1) and an
 * http tarball (a server on 127.0.0.1); FROM NAME, COPY --from=NAME and RUN --mount=from=NAME
 * resolve to it before images, and a stage of that name is replaced (its commands never run).
 * Real builds; the rootfs is read back from a `type=local` output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, toolSkipReason, writeContext } from '../helpers/build.js';
import { ensureBaseImage } from '../helpers/base-image.js';
import { makeGitRepo, serveGitHttp, type Served } from '../helpers/git-server.js';
import { runCli } from '../helpers/cli.js';
import { EXIT_CODES } from '../../src/errors.js';
import { namedContextKey, parseBuildContexts } from '../../src/builder/named-contexts.js';

const skip = buildSkipReason() || toolSkipReason('git', 'tar');

describe('named contexts: parsing', () => {
  it('names are keyed as dockerui does (familiar, no :latest); values are checked', () => {
    assert.equal(namedContextKey('docker.io/library/alpine:latest'), 'alpine');
    assert.equal(namedContextKey('Base'), 'base');
    assert.deepEqual(parseBuildContexts(['src=./x', 'alpine=docker-image://busybox'], '/w'), { src: '/w/x', alpine: 'docker-image://busybox' });
    assert.throws(() => parseBuildContexts(['novalue'], '/w'), /invalid --build-context "novalue": expected NAME=VALUE/);
    assert.throws(() => parseBuildContexts(['a=target:x'], '/w'), /bake feature/);
    assert.throws(() => parseBuildContexts(['a=s3://bucket/x'], '/w'), /unsupported context source/);
  });
});

describe('builder: --build-context', { skip }, () => {
  let root: string;
  let src: string;
  let web: Served;
  let tarServer: http.Server;
  before(async () => {
    root = await makeStoreRoot();
    src = await writeContext({ 'a.txt': 'from src\n', 'ignored.txt': 'no\n', '.dockerignore': 'ignored.txt\n' });
    const repo = await makeGitRepo({ 'sub/g.txt': 'from git\n' });
    web = await serveGitHttp(repo);
    const tctx = await writeContext({ 't.txt': 'from tarball\n' });
    const tarFile = path.join(await tempDir(), 'c.tar.gz');
    execFileSync('tar', ['-czf', tarFile, '-C', tctx, '.']);
    const body = readFileSync(tarFile);
    tarServer = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => tarServer.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await web?.close();
    await new Promise((r) => tarServer?.close(r));
    await cleanupTemp();
  });

  async function rootfs(dockerfile: string, buildContexts: Record<string, string>) {
    const out = await tempDir('mybuild-named-');
    await buildFiles(root, { Dockerfile: dockerfile }, { outputs: [{ type: 'local', dest: out }], buildContexts });
    return out;
  }

  it('a local directory: COPY --from=NAME, FROM NAME and RUN --mount=from=NAME read it (.dockerignore honoured)', async () => {
    const out = await rootfs('FROM busybox\nCOPY --from=src a.txt /copied.txt\nRUN --mount=from=src,target=/m cat /m/a.txt > /mounted.txt\n', { src });
    assert.equal(readFileSync(path.join(out, 'copied.txt'), 'utf8'), 'from src\n');
    assert.equal(readFileSync(path.join(out, 'mounted.txt'), 'utf8'), 'from src\n');
    const base = await rootfs('FROM src\n', { src });
    assert.equal(readFileSync(path.join(base, 'a.txt'), 'utf8'), 'from src\n');
    assert.ok(!existsSync(path.join(base, 'ignored.txt')));
  });

  it('docker-image://REF stands for an image name FROM uses, and replaces a stage of that name (its commands never run)', async () => {
    const out = await rootfs('FROM alpine\nRUN echo ran > /ran.txt\n', { alpine: 'docker-image://busybox:latest' });
    assert.equal(readFileSync(path.join(out, 'ran.txt'), 'utf8'), 'ran\n');
    const replaced = await rootfs('FROM busybox AS base\nRUN exit 3\nFROM scratch\nCOPY --from=base /bin/busybox /bb\n', { base: 'docker-image://busybox:latest' });
    assert.ok(existsSync(path.join(replaced, 'bb')));
  });

  it('oci-layout://PATH: an image of a local OCI layout, imported without tagging anything', async () => {
    const layout = await ensureBaseImage();
    const out = await rootfs('FROM frombase\nRUN echo layout > /l.txt\n', { frombase: `oci-layout://${layout}` });
    assert.equal(readFileSync(path.join(out, 'l.txt'), 'utf8'), 'layout\n');
    const images = await runCli(['--root', root, 'images'], { env: { PATH: process.env.PATH } });
    assert.doesNotMatch(images.out, /frombase/);
  });

  it('a git URL (#ref:subdir) and an http tarball are fetched as contexts', async () => {
    const port = (tarServer.address() as AddressInfo).port;
    const out = await rootfs('FROM scratch\nCOPY --from=g g.txt /g.txt\nCOPY --from=t t.txt /t.txt\n', { g: `${web.url('repo.git')}#main:sub`, t: `http://127.0.0.1:${port}/c.tar.gz` });
    assert.equal(readFileSync(path.join(out, 'g.txt'), 'utf8'), 'from git\n');
    assert.equal(readFileSync(path.join(out, 't.txt'), 'utf8'), 'from tarball\n');
  });

  it('the CLI flag: a missing directory is a clear error', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM scratch\nCOPY --from=nope x /\n' });
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--build-context', `nope=${path.join(ctx, 'missing')}`, ctx], { cwd: ctx, env: { PATH: process.env.PATH } });
    assert.notEqual(r.code, 0);
    assert.match(r.err, /--build-context nope=.*missing: not a directory/);
    const bad = await runCli(['--root', root, 'build', '--build-context', 'x', ctx], { cwd: ctx, env: { PATH: process.env.PATH } });
    assert.equal(bad.code, EXIT_CODES.USAGE);
  });
});
