/** Multi-stage builds, build args, ONBUILD, the cache and determinism (real builds). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildContext, buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, writeContext, writeFiles } from '../helpers/build.js';
import { ImageStore } from '../../src/store/image-store.js';

const skip = buildSkipReason();

describe('builder: stages, args, ONBUILD', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('COPY --from by name and by index; --target stops at a stage; independent stages run in parallel', async () => {
    const df = [
      'FROM busybox AS a',
      'RUN sleep 1; echo a > /a.txt',
      'FROM busybox AS b',
      'RUN sleep 1; echo b > /b.txt',
      'FROM busybox AS final',
      'COPY --from=a /a.txt /from-name.txt',
      'COPY --from=1 /b.txt /from-index.txt',
    ].join('\n');
    const out = await tempDir('mybuild-out-');
    const r = await buildFiles(root, { Dockerfile: df }, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'from-name.txt'), 'utf8'), 'a\n');
    assert.equal(readFileSync(path.join(out, 'from-index.txt'), 'utf8'), 'b\n');
    // Parallel: both sleeping RUNs started before either ended.
    const starts = r.events.filter((e) => e.type === 'step-start' && e.info.instruction.startsWith('RUN sleep')).map((e) => r.events.indexOf(e));
    const ends = r.events.filter((e) => e.type === 'step-end').map((e) => (e.type === 'step-end' ? e.step : 0));
    assert.equal(starts.length, 2);
    const firstEnd = r.events.findIndex((e) => e.type === 'step-end' && e.step !== 1 && ends.includes(e.step) && r.events.some((s) => s.type === 'step-start' && s.step === e.step && s.info.instruction.startsWith('RUN sleep')));
    assert.ok(Math.max(...starts) < firstEnd, 'the second stage started before the first finished');

    const t = await buildFiles(root, { Dockerfile: df }, { target: 'b' });
    assert.equal(t.config.rootfs.diff_ids.length, 2);
    assert.ok(!t.events.some((e) => e.type === 'step-start' && e.info.stage === 'final'), 'final stage not built');
  });

  it('--build-arg and a global ARG in FROM', async () => {
    await ImageStore.open(root).then(async (s) => s.setRef('docker.io/library/base2:v1', (await s.resolve('busybox:latest')).manifestDescriptor));
    const out = await tempDir('mybuild-out-');
    const r = await buildFiles(root, {
      Dockerfile: 'ARG BASE=busybox\nFROM ${BASE}\nARG MSG=default\nRUN echo $MSG > /msg\n',
    }, { buildArgs: { BASE: 'base2:v1', MSG: 'given' }, outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'msg'), 'utf8'), 'given\n');
    assert.ok(r.events.some((e) => e.type === 'step-start' && e.info.instruction === 'FROM ${BASE}'));
  });

  it('runs the ONBUILD triggers of the base image, and does not inherit them', async () => {
    await buildFiles(root, { Dockerfile: 'FROM busybox\nONBUILD RUN echo triggered > /onbuild\nONBUILD COPY f /f\n' }, { tags: ['onbuild-base:1'] });
    const out = await tempDir('mybuild-out-');
    const r = await buildFiles(root, { Dockerfile: 'FROM onbuild-base:1\nRUN cat /onbuild /f > /both\n', f: 'context f\n' }, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'both'), 'utf8'), 'triggered\ncontext f\n');
    assert.equal(r.config.config?.OnBuild, undefined);
    // The triggers are steps of their own, numbered after the planned ones (FROM is #1, RUN #2).
    const starts = r.events.flatMap((e) => (e.type === 'step-start' ? [[e.step, e.info.instruction] as const] : []));
    assert.deepEqual(starts.map(([n]) => n).sort(), [1, 2, 3, 4]);
    assert.deepEqual(starts.filter(([n]) => n > 2).map(([, i]) => i), ['ONBUILD RUN echo triggered > /onbuild', 'ONBUILD COPY f /f']);
  });
});

describe('builder: cache and determinism', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  const files = {
    Dockerfile: 'FROM busybox\nRUN echo base > /base\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\nRUN cat /a.txt /b.txt > /ab\n',
    'a.txt': 'A\n',
    'b.txt': 'B\n',
  };

  it('a warm rebuild hits every step and gives the same image; one changed file reruns only what follows it; --no-cache reruns all', async () => {
    const ctx = await writeContext(files);
    const first = await buildContext(root, ctx);
    assert.deepEqual(first.hits, []);
    assert.equal(first.misses.length, 4);
    const warm = await buildContext(root, ctx);
    assert.equal(warm.misses.length, 0);
    assert.equal(warm.hits.length, 4);
    assert.equal(warm.result.imageId, first.result.imageId);

    await writeFiles(ctx, { 'b.txt': 'B changed\n' });
    const changed = await buildContext(root, ctx);
    const instr = (n: number) => changed.events.find((e) => e.type === 'step-start' && e.step === n)!;
    const missed = changed.misses.map((n) => (instr(n) as { info: { instruction: string } }).info.instruction);
    assert.deepEqual(missed, ['COPY b.txt /b.txt', 'RUN cat /a.txt /b.txt > /ab']);
    const reason = changed.events.find((e) => e.type === 'step-cache' && !e.hit);
    assert.ok(reason && reason.type === 'step-cache' && /b\.txt/.test(reason.reason ?? ''), `reason names the file: ${JSON.stringify(reason)}`);
    assert.ok(reason && reason.type === 'step-cache' && !/sources/.test(reason.reason ?? ''), `no "sources" phrase: ${JSON.stringify(reason)}`);

    const nc = await buildContext(root, ctx, { noCache: true });
    assert.equal(nc.hits.length, 0);
    assert.equal(nc.misses.length, 4);
  });

  it('writes a build record for every build', async () => {
    const r = await buildFiles(root, files, { tags: ['rec:1'] });
    const rec = JSON.parse(readFileSync(path.join(root, 'builds', `${r.result.imageId.slice('sha256:'.length)}.json`), 'utf8'));
    assert.equal(rec.imageId, r.result.imageId);
    assert.equal(rec.manifestDigest, r.result.manifestDescriptor.digest);
    assert.equal(rec.dockerfile, 'Dockerfile');
    assert.deepEqual(rec.tags, ['docker.io/library/rec:1']);
    assert.equal(rec.steps.length, 5);
    assert.deepEqual(rec.steps.map((s: { kind: string }) => s.kind), ['FROM', 'RUN', 'COPY', 'COPY', 'RUN']);
    for (const s of rec.steps.slice(1)) assert.match(s.key, /^sha256:/);
  });

  it('the same build in two empty stores with SOURCE_DATE_EPOCH gives the same digest (RUN included)', async () => {
    const df = { ...files, Dockerfile: `${files.Dockerfile}RUN mkdir -p /d/e && echo x > /d/e/f && touch /d\nENV Z=1\n` };
    const digests: string[] = [];
    for (let i = 0; i < 2; i++) {
      const fresh = await makeStoreRoot();
      const r = await buildFiles(fresh, df, { sourceDateEpoch: 1_700_000_000 });
      digests.push(r.result.manifestDescriptor.digest);
    }
    assert.equal(digests[0], digests[1]);
  });
});
