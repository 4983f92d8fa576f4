/**
 * End to end with the REAL docker CLI (DOCKER_HOST=unix://… of a daemon started here):
 * version, info, build (legacy builder), images, run (output and exit code), tag, push to and
 * pull from a real registry, save | load.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';
import { registryMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { runCli } from '../helpers/cli.js';
import { DOCKER, docker, dockerMissing, notRoot, runCmd, runcMissing, startTestDaemon, type TestDaemon } from './helpers.js';

const skip = dockerMissing || notRoot || runcMissing || baseImageSkipReason();

describe('docker CLI against mybuild daemon', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  let ctxDir: string;
  before(async () => {
    d = await startTestDaemon();
    const layout = await ensureBaseImage();
    const tar = path.join(d.dir, 'base.tar');
    const t = await runCmd('tar', ['-C', layout, '-cf', tar, '.']);
    assert.equal(t.code, 0, t.stderr);
    const load = await docker(d, ['load', '-i', tar]);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: latest:latest/);
    const tag = await docker(d, ['tag', 'latest:latest', 'busybox:latest']);
    assert.equal(tag.code, 0, tag.stderr);
    ctxDir = path.join(d.dir, 'ctx');
    await mkdir(ctxDir, { recursive: true });
    await writeFile(path.join(ctxDir, 'Dockerfile'), 'FROM busybox\nRUN echo built > /built\nCOPY a.txt /a.txt\nCMD ["cat", "/a.txt"]\n');
    await writeFile(path.join(ctxDir, 'a.txt'), 'from the context\n');
    await writeFile(path.join(ctxDir, 'secret.txt'), 'ignored\n');
    await writeFile(path.join(ctxDir, '.dockerignore'), 'secret.txt\n');
  });
  after(async () => {
    await d?.stop();
  });

  it('docker version shows the mybuild server and its API version', async () => {
    const r = await docker(d, ['version', '--format', '{{.Server.Platform.Name}} {{.Server.APIVersion}} {{.Client.APIVersion}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'mybuild 1.45 1.45');
  });

  it('docker info shows the store root and image count', async () => {
    const r = await docker(d, ['info', '--format', '{{.DockerRootDir}} {{.Images}} {{.OSType}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${d.root} 1 linux`);
  });

  it('docker build -t x . (legacy builder), then docker images and docker run', async () => {
    const b = await docker(d, ['build', '-t', 'x', '.'], { cwd: ctxDir });
    assert.equal(b.code, 0, b.stderr + b.stdout);
    assert.match(b.stdout, /Step 1\/4 : FROM busybox/);
    assert.match(b.stdout, /Step 2\/4 : RUN echo built > \/built/);
    assert.match(b.stdout, /Successfully built [0-9a-f]{12}\n/);
    assert.match(b.stdout, /Successfully tagged x\n/);
    const id = /Successfully built ([0-9a-f]{12})/.exec(b.stdout)![1];

    const imgs = await docker(d, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    assert.equal(imgs.code, 0, imgs.stderr);
    assert.ok(imgs.stdout.split('\n').includes(`x:latest ${id}`), imgs.stdout);

    const run = await docker(d, ['run', '--rm', 'x']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'from the context\n');
    const hi = await docker(d, ['run', '--rm', 'x', 'echo', 'hi']);
    assert.equal(hi.code, 0, hi.stderr);
    assert.equal(hi.stdout, 'hi\n');
    const fail = await docker(d, ['run', '--rm', 'x', 'sh', '-c', 'cat /built; ls /secret.txt 2>/dev/null; echo oops >&2; exit 7']);
    assert.equal(fail.code, 7);
    assert.equal(fail.stdout, 'built\n');
    assert.equal(fail.stderr.trim(), 'oops');
    const ps = await docker(d, ['ps', '-a', '-q']);
    assert.equal(ps.stdout.trim(), '', 'containers run with --rm are removed');
  });

  it('docker ps shows the STATUS text mybuild ps shows (one text, src/api/containers.ts)', async () => {
    const r = await docker(d, ['run', '--name', 'ps-status', 'busybox', 'sh', '-c', 'exit 4']);
    assert.equal(r.code, 4, r.stderr);
    const theirs = (await docker(d, ['ps', '-a', '--format', '{{.Names}}|{{.Status}}'])).stdout.split('\n').find((l) => l.startsWith('ps-status|'));
    const ours = await runCli(['--root', d.root, 'ps', '-a']);
    assert.equal(ours.code, 0, ours.err);
    const row = ours.out.split('\n').find((l) => l.endsWith(' ps-status'));
    const norm = (t: string) => t.replace(/\d+ seconds?|Less than a second|About a minute/g, 'T');
    const status = theirs?.split('|')[1] ?? '';
    assert.match(status, /^Exited \(4\) .* ago$/);
    assert.ok(norm(row ?? '').includes(`   ${norm(status)}   `), `mybuild ps: ${row}\ndocker ps: ${status}`);
    assert.equal((await docker(d, ['rm', 'ps-status'])).code, 0);
  });

  it('a failing RUN gives the error and a non-zero exit', async () => {
    const dir = path.join(d.dir, 'ctx-fail');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo about to fail && exit 3\n');
    const b = await docker(d, ['build', '.'], { cwd: dir });
    assert.notEqual(b.code, 0);
    assert.match(b.stdout, /about to fail/);
    assert.match(b.stderr + b.stdout, /exit code 3|exited with 3|code: 3/);
  });

  it('docker tag, docker save | docker load, docker rmi', async () => {
    assert.equal((await docker(d, ['tag', 'x', 'x:v2'])).code, 0);
    const file = path.join(d.dir, 'x.tar');
    const save = await docker(d, ['save', '-o', file, 'x:v2']);
    assert.equal(save.code, 0, save.stderr);
    const rmi = await docker(d, ['rmi', 'x:v2']);
    assert.equal(rmi.code, 0, rmi.stderr);
    assert.match(rmi.stdout, /Untagged: x:v2/);
    const gone = await docker(d, ['image', 'inspect', 'x:v2']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /No such image/i);
    // docker save | docker load, through a pipe (the archive saved above is re-loaded first)
    assert.equal((await docker(d, ['load', '-i', file])).code, 0);
    assert.equal((await docker(d, ['tag', 'x:v2', 'x:v3'])).code, 0);
    const load = await runCmd('sh', ['-c', '"$DOCKER" save x:v3 | "$DOCKER" load'], {
      env: { DOCKER: DOCKER, DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.dir, 'docker-config') },
    });
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: x:v3/);
    const back = await docker(d, ['image', 'inspect', '--format', '{{.Id}}', 'x:v2']);
    const orig = await docker(d, ['image', 'inspect', '--format', '{{.Id}}', 'x']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, orig.stdout);
  });

  describe('registry', { skip: registryMissing }, () => {
    let reg: TestRegistry;
    before(async () => {
      reg = await startRegistry('anonymous');
    });
    after(async () => {
      await reg?.stop();
    });

    it('docker push to and docker pull from the real registry', async () => {
      const name = `${reg.domain}/e2e/x:1`;
      assert.equal((await docker(d, ['tag', 'x', name])).code, 0);
      const push = await docker(d, ['push', name]);
      assert.equal(push.code, 0, push.stderr + push.stdout);
      assert.match(push.stdout, /1: digest: sha256:[0-9a-f]{64} size: \d+/);
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)![1];
      // The repository digest listed is the one the registry serves (the store keeps the build's
      // layers uncompressed, so the local manifest's digest differs: src/store/layer-variants.ts).
      const listed = await docker(d, ['images', '--digests', '--format', '{{.Repository}}@{{.Digest}}']);
      assert.ok(listed.stdout.split('\n').includes(`${reg.domain}/e2e/x@${digest}`), listed.stdout);
      const inspected = await docker(d, ['image', 'inspect', '--format', '{{json .RepoDigests}}', name]);
      assert.ok((JSON.parse(inspected.stdout) as string[]).includes(`${reg.domain}/e2e/x@${digest}`), inspected.stdout);
      assert.equal((await docker(d, ['rmi', name])).code, 0);
      const pull = await docker(d, ['pull', name]);
      assert.equal(pull.code, 0, pull.stderr + pull.stdout);
      assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
      const run = await docker(d, ['run', '--rm', name, 'cat', '/built']);
      assert.equal(run.stdout, 'built\n');
    });
  });
});
