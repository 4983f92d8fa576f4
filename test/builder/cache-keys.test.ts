/**
 * Which inputs change a step's cache key, and which must not: one table, run through the
 * builder's plan, dispatcher and handlers (test/builder/step-keys.ts) without root, runc or a
 * base image. Each row builds two variants of a Dockerfile and compares the key of the last
 * filesystem step; the variants differ in one input only (metadata-only instructions such as
 * USER and ENV have no key of their own: their effect is checked on the step after them).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { lastKey, stepKeys, type StepKeysInput } from './step-keys.js';

const IMG_A = `sha256:${'a'.repeat(64)}`;
const IMG_B = `sha256:${'b'.repeat(64)}`;
const images = { base: { digest: IMG_A }, other: { digest: IMG_B } };

/** A Dockerfile from lines. */
const df = (...lines: string[]) => `${lines.join('\n')}\n`;
/** An input on the `base` image. */
const on = (...lines: string[]): StepKeysInput => ({ dockerfile: df('FROM base', ...lines), images, files: { 'a.txt': 'A', 'b.txt': 'B', 'dir/c.txt': 'C' } });
const withInput = (i: StepKeysInput, more: Partial<StepKeysInput>): StepKeysInput => ({ ...i, ...more, files: { ...i.files, ...more.files } });

interface Row {
  /** Instruction whose key is compared. */
  step: string;
  input: string;
  a: StepKeysInput | (() => StepKeysInput);
  b: StepKeysInput | (() => StepKeysInput);
  changes: boolean;
}

let server: http.Server;
let url = '';
const served = 'served by the test';
const servedDigest = `sha256:${createHash('sha256').update(served).digest('hex')}`;

const rows: Row[] = [
  // RUN
  { step: 'RUN', input: 'USER', a: on('RUN true'), b: on('USER bob', 'RUN true'), changes: true },
  { step: 'RUN', input: 'WORKDIR (image config)', a: withInput(on('RUN true'), { images: { base: { digest: IMG_A, config: { WorkingDir: '/a' } } } }), b: withInput(on('RUN true'), { images: { base: { digest: IMG_A, config: { WorkingDir: '/b' } } } }), changes: true },
  { step: 'RUN', input: '--network', a: on('RUN --network=none true'), b: on('RUN --network=host true'), changes: true },
  { step: 'RUN', input: 'build --network', a: on('RUN true'), b: withInput(on('RUN true'), { options: { network: 'host' } }), changes: true },
  // BuildKit's NetMode: the default (sandbox) is its own mode, unlike none and host.
  { step: 'RUN', input: 'default network vs --network=none', a: on('RUN true'), b: on('RUN --network=none true'), changes: true },
  { step: 'RUN', input: 'build --network none', a: on('RUN true'), b: withInput(on('RUN true'), { options: { network: 'none' } }), changes: true },
  { step: 'RUN', input: 'RUN --network=default (the default)', a: on('RUN true'), b: on('RUN --network=default true'), changes: false },
  { step: 'RUN', input: 'build --network none vs RUN --network=none', a: on('RUN --network=none true'), b: withInput(on('RUN true'), { options: { network: 'none' } }), changes: false },
  { step: 'RUN', input: '--security', a: withInput(on('RUN true'), { options: { allow: ['security.insecure'] } }), b: withInput(on('RUN --security=insecure true'), { options: { allow: ['security.insecure'] } }), changes: true },
  { step: 'RUN', input: 'the command', a: on('RUN true'), b: on('RUN false'), changes: true },
  { step: 'RUN', input: 'SHELL', a: on('RUN true'), b: on('SHELL ["/bin/bash", "-c"]', 'RUN true'), changes: true },
  { step: 'RUN', input: 'ENV', a: on('ENV X=1', 'RUN true'), b: on('ENV X=2', 'RUN true'), changes: true },
  { step: 'RUN', input: 'image Env', a: withInput(on('RUN true'), { images: { base: { digest: IMG_A, config: { Env: ['X=1'] } } } }), b: withInput(on('RUN true'), { images: { base: { digest: IMG_A, config: { Env: ['X=2'] } } } }), changes: true },
  { step: 'RUN', input: 'build arg in scope', a: withInput(on('ARG V', 'RUN true'), { buildArgs: { V: '1' } }), b: withInput(on('ARG V', 'RUN true'), { buildArgs: { V: '2' } }), changes: true },
  { step: 'RUN', input: 'ARG default in scope', a: on('ARG V=1', 'RUN true'), b: on('ARG V=2', 'RUN true'), changes: true },
  { step: 'RUN', input: 'heredoc body', a: on('RUN <<EOF', 'echo 1', 'EOF'), b: on('RUN <<EOF', 'echo 2', 'EOF'), changes: true },
  { step: 'RUN', input: 'mount type', a: on('RUN --mount=type=cache,target=/c true'), b: on('RUN --mount=type=tmpfs,target=/c true'), changes: true },
  { step: 'RUN', input: 'mount target', a: on('RUN --mount=type=cache,target=/c true'), b: on('RUN --mount=type=cache,target=/d true'), changes: true },
  { step: 'RUN', input: 'mount readonly', a: on('RUN --mount=type=cache,target=/c true'), b: on('RUN --mount=type=cache,target=/c,ro true'), changes: true },
  { step: 'RUN', input: 'cache mount id', a: on('RUN --mount=type=cache,id=x,target=/c true'), b: on('RUN --mount=type=cache,id=y,target=/c true'), changes: true },
  { step: 'RUN', input: 'cache mount sharing', a: on('RUN --mount=type=cache,target=/c true'), b: on('RUN --mount=type=cache,target=/c,sharing=locked true'), changes: true },
  { step: 'RUN', input: 'cache mount mode', a: on('RUN --mount=type=cache,target=/c,mode=0755 true'), b: on('RUN --mount=type=cache,target=/c,mode=0700 true'), changes: true },
  { step: 'RUN', input: 'cache mount uid', a: on('RUN --mount=type=cache,target=/c,uid=1 true'), b: on('RUN --mount=type=cache,target=/c,uid=2 true'), changes: true },
  { step: 'RUN', input: 'cache mount gid', a: on('RUN --mount=type=cache,target=/c,gid=1 true'), b: on('RUN --mount=type=cache,target=/c,gid=2 true'), changes: true },
  { step: 'RUN', input: 'tmpfs mount size', a: on('RUN --mount=type=tmpfs,target=/t,size=1000 true'), b: on('RUN --mount=type=tmpfs,target=/t,size=2000 true'), changes: true },
  { step: 'RUN', input: 'secret mount id', a: on('RUN --mount=type=secret,id=s1 true'), b: on('RUN --mount=type=secret,id=s2 true'), changes: true },
  { step: 'RUN', input: 'secret mount required', a: on('RUN --mount=type=secret,id=s true'), b: on('RUN --mount=type=secret,id=s,required true'), changes: true },
  { step: 'RUN', input: 'bind mount source', a: on('RUN --mount=type=bind,source=a.txt,target=/m true'), b: on('RUN --mount=type=bind,source=b.txt,target=/m true'), changes: true },
  { step: 'RUN', input: 'cache mount source (subdirectory)', a: on('RUN --mount=type=cache,target=/c,source=s1 true'), b: on('RUN --mount=type=cache,target=/c,source=s2 true'), changes: true },
  { step: 'RUN', input: 'bind mount source content', a: on('RUN --mount=type=bind,source=a.txt,target=/m true'), b: withInput(on('RUN --mount=type=bind,source=a.txt,target=/m true'), { files: { 'a.txt': 'A2' } }), changes: true },
  { step: 'RUN', input: 'bind mount from= stage', a: { dockerfile: df('FROM base AS s', 'RUN echo 1', 'FROM base', 'RUN --mount=type=bind,from=s,target=/m true'), images }, b: { dockerfile: df('FROM base AS s', 'RUN echo 2', 'FROM base', 'RUN --mount=type=bind,from=s,target=/m true'), images }, changes: true },
  { step: 'RUN', input: 'base image digest', a: on('RUN true'), b: withInput(on('RUN true'), { images: { base: { digest: IMG_B } } }), changes: true },
  { step: 'RUN', input: 'platform (scratch)', a: { dockerfile: df('FROM scratch', 'RUN true') }, b: { dockerfile: df('FROM scratch', 'RUN true'), platform: { os: 'linux', architecture: 'arm64' } }, changes: true },
  { step: 'RUN', input: 'an unused build arg', a: on('RUN true'), b: withInput(on('RUN true'), { buildArgs: { UNUSED: '1' } }), changes: false },
  { step: 'RUN', input: 'a proxy arg', a: withInput(on('RUN true'), { buildArgs: { HTTP_PROXY: 'http://a' } }), b: withInput(on('RUN true'), { buildArgs: { HTTP_PROXY: 'http://b' } }), changes: false },
  { step: 'RUN', input: 'LABEL', a: on('RUN true'), b: on('LABEL a=b', 'RUN true'), changes: false },
  { step: 'RUN', input: 'a secret mount\'s value', a: withInput(on('RUN --mount=type=secret,id=s true'), { options: { secrets: [{ id: 's', env: 'A' }] } }), b: withInput(on('RUN --mount=type=secret,id=s true'), { options: { secrets: [{ id: 's', env: 'B' }] } }), changes: false },
  { step: 'RUN', input: 'a file not mounted', a: on('RUN --mount=type=bind,source=a.txt,target=/m true'), b: withInput(on('RUN --mount=type=bind,source=a.txt,target=/m true'), { files: { 'b.txt': 'B2' } }), changes: false },
  // COPY
  { step: 'COPY', input: '--chown', a: on('COPY a.txt /'), b: on('COPY --chown=1:1 a.txt /'), changes: true },
  { step: 'COPY', input: '--chmod', a: on('COPY a.txt /'), b: on('COPY --chmod=0600 a.txt /'), changes: true },
  { step: 'COPY', input: '--exclude', a: on('COPY dir /d'), b: on('COPY --exclude=*.log dir /d'), changes: true },
  { step: 'COPY', input: '--parents', a: on('COPY dir/c.txt /d/'), b: on('COPY --parents dir/c.txt /d/'), changes: true },
  { step: 'COPY', input: '--link', a: on('COPY a.txt /'), b: on('COPY --link a.txt /'), changes: true },
  { step: 'COPY', input: 'a source file\'s content', a: on('COPY a.txt /'), b: withInput(on('COPY a.txt /'), { files: { 'a.txt': 'A2' } }), changes: true },
  { step: 'COPY', input: 'the sources', a: on('COPY a.txt /'), b: on('COPY b.txt /'), changes: true },
  { step: 'COPY', input: 'the destination', a: on('COPY a.txt /x'), b: on('COPY a.txt /y'), changes: true },
  { step: 'COPY', input: 'WORKDIR (image config, relative dest)', a: withInput(on('COPY a.txt x'), { images: { base: { digest: IMG_A, config: { WorkingDir: '/a' } } } }), b: withInput(on('COPY a.txt x'), { images: { base: { digest: IMG_A, config: { WorkingDir: '/b' } } } }), changes: true },
  { step: 'COPY', input: 'heredoc body', a: on('COPY <<EOF /f', '1', 'EOF'), b: on('COPY <<EOF /f', '2', 'EOF'), changes: true },
  { step: 'COPY', input: 'build arg used in a word', a: withInput(on('ARG F', 'COPY $F /'), { buildArgs: { F: 'a.txt' } }), b: withInput(on('ARG F', 'COPY $F /'), { buildArgs: { F: 'b.txt' } }), changes: true },
  { step: 'COPY', input: '--from stage', a: { dockerfile: df('FROM base AS s', 'RUN echo 1', 'FROM base', 'COPY --from=s /x /x'), images }, b: { dockerfile: df('FROM base AS s', 'RUN echo 2', 'FROM base', 'COPY --from=s /x /x'), images }, changes: true },
  { step: 'COPY', input: '--from image digest', a: on('COPY --from=other /x /x'), b: withInput(on('COPY --from=other /x /x'), { images: { base: { digest: IMG_A }, other: { digest: IMG_A } } }), changes: true },
  { step: 'COPY', input: 'base image digest', a: on('COPY a.txt /'), b: withInput(on('COPY a.txt /'), { images: { base: { digest: IMG_B } } }), changes: true },
  { step: 'COPY', input: 'a file outside the sources', a: on('COPY a.txt /'), b: withInput(on('COPY a.txt /'), { files: { 'b.txt': 'B2' } }), changes: false },
  { step: 'COPY', input: 'a build arg in scope, unused', a: withInput(on('ARG V', 'COPY a.txt /'), { buildArgs: { V: '1' } }), b: withInput(on('ARG V', 'COPY a.txt /'), { buildArgs: { V: '2' } }), changes: false },
  { step: 'COPY', input: 'USER', a: on('COPY a.txt /'), b: on('USER bob', 'COPY a.txt /'), changes: false },
  { step: 'COPY', input: 'ENV', a: on('ENV X=1', 'COPY a.txt /'), b: on('ENV X=2', 'COPY a.txt /'), changes: false },
  // ADD
  { step: 'ADD', input: '--chown', a: on('ADD a.txt /'), b: on('ADD --chown=1:1 a.txt /'), changes: true },
  { step: 'ADD', input: '--chmod', a: on('ADD a.txt /'), b: on('ADD --chmod=0600 a.txt /'), changes: true },
  { step: 'ADD', input: '--exclude', a: on('ADD dir /d'), b: on('ADD --exclude=*.log dir /d'), changes: true },
  { step: 'ADD', input: '--unpack', a: on('ADD a.txt /'), b: on('ADD --unpack=false a.txt /'), changes: true },
  { step: 'ADD', input: 'a source file\'s content', a: on('ADD a.txt /'), b: withInput(on('ADD a.txt /'), { files: { 'a.txt': 'A2' } }), changes: true },
  { step: 'ADD', input: '--checksum', a: () => on(`ADD ${url} /f`), b: () => on(`ADD --checksum=${servedDigest} ${url} /f`), changes: true },
  { step: 'ADD', input: 'URL --chown', a: () => on(`ADD ${url} /f`), b: () => on(`ADD --chown=1:1 ${url} /f`), changes: true },
  { step: 'ADD', input: 'a file outside the sources', a: on('ADD a.txt /'), b: withInput(on('ADD a.txt /'), { files: { 'b.txt': 'B2' } }), changes: false },
  // WORKDIR
  { step: 'WORKDIR', input: 'the path', a: on('WORKDIR /a'), b: on('WORKDIR /b'), changes: true },
  { step: 'WORKDIR', input: 'USER', a: on('WORKDIR /a'), b: on('USER bob', 'WORKDIR /a'), changes: true },
  { step: 'WORKDIR', input: 'the current WORKDIR (relative path)', a: withInput(on('WORKDIR x'), { images: { base: { digest: IMG_A, config: { WorkingDir: '/a' } } } }), b: withInput(on('WORKDIR x'), { images: { base: { digest: IMG_A, config: { WorkingDir: '/b' } } } }), changes: true },
  { step: 'WORKDIR', input: 'base image digest', a: on('WORKDIR /a'), b: withInput(on('WORKDIR /a'), { images: { base: { digest: IMG_B } } }), changes: true },
  { step: 'WORKDIR', input: 'ENV', a: on('ENV X=1', 'WORKDIR /a'), b: on('ENV X=2', 'WORKDIR /a'), changes: false },
];

describe('cache keys: which inputs change a step\'s key', () => {
  before(async () => {
    server = http.createServer((_req, res) => res.end(served));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  for (const r of rows) {
    it(`${r.step}: ${r.input} ${r.changes ? 'changes' : 'does not change'} the key`, async () => {
      const a = await lastKey(typeof r.a === 'function' ? r.a() : r.a);
      const b = await lastKey(typeof r.b === 'function' ? r.b() : r.b);
      assert.equal(a.kind, r.step);
      assert.equal(b.kind, r.step);
      if (r.changes) assert.notEqual(a.digest, b.digest, `same key: ${JSON.stringify(a.parts)}`);
      else assert.equal(a.digest, b.digest, `keys differ: ${JSON.stringify(a.parts)} vs ${JSON.stringify(b.parts)}`);
    });
  }

  it('metadata-only instructions have no key of their own', async () => {
    const keys = await stepKeys(on('ENV A=1', 'LABEL a=b', 'USER bob', 'ARG X', 'CMD ["x"]', 'ENTRYPOINT ["y"]', 'EXPOSE 80', 'VOLUME /v', 'STOPSIGNAL SIGTERM', 'SHELL ["/bin/sh", "-c"]', 'HEALTHCHECK NONE', 'ONBUILD RUN true', 'MAINTAINER me'));
    assert.deepEqual(keys, []);
  });

  it('keys are the same for the same inputs (no time, no random, no path)', async () => {
    const a = await stepKeys(on('COPY a.txt /', 'RUN --mount=type=bind,source=dir,target=/m true', 'WORKDIR /w'));
    const b = await stepKeys(on('COPY a.txt /', 'RUN --mount=type=bind,source=dir,target=/m true', 'WORKDIR /w'));
    assert.deepEqual(a.map((k) => k.digest), b.map((k) => k.digest));
  });

  it('a secret\'s value never reaches the key', async () => {
    process.env.MYBUILD_TEST_SECRET = 'hunter2-secret-value';
    try {
      const keys = await stepKeys(withInput(on('RUN --mount=type=secret,id=s true'), { options: { secrets: [{ id: 's', env: 'MYBUILD_TEST_SECRET' }] } }));
      assert.ok(!keys[0]!.parts.join('\n').includes('hunter2'));
    } finally {
      delete process.env.MYBUILD_TEST_SECRET;
    }
  });
});
