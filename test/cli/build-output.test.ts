/**
 * `mybuild build` output against real builds (busybox base, runc): --progress=plain and json
 * line by line, -q, --iidfile, --metadata-file, failing RUN and parse error reports, warnings
 * at the end, `cache ls` / `cache explain`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { buildSkipReason, makeContext, removeAll, storeWithBase } from './build-fixture.js';

const skip = await buildSkipReason();

const DOCKERFILE = ['FROM busybox', 'MAINTAINER someone', 'COPY a.txt /a.txt', 'RUN echo one && cat /a.txt', 'ENV X=1', 'RUN echo "x=$X" > /x', ''].join('\n');

describe('mybuild build output', { skip }, () => {
  let root: string;
  let ctx: string;
  const build = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['--root', root, 'build', ...args, ctx], { env, cwd: ctx });

  before(async () => {
    root = await storeWithBase();
    ctx = await makeContext({ Dockerfile: DOCKERFILE, 'a.txt': 'hello\n' });
  });
  after(() => removeAll(root, ctx));

  it('plain: one line per event, output prefixed with #N and time, warnings and summary at the end', async () => {
    const r = await build(['--progress=plain', '-t', 'app:1']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    assert.doesNotMatch(r.err, /\x1b/, 'no escape codes in plain output');
    const want: RegExp[] = [
      /^#1 \[stage-0 1\/6\] FROM busybox$/,
      /^#1 DONE \d+\.\ds$/,
      /^#2 \[stage-0 2\/6\] MAINTAINER someone$/,
      /^#2 DONE \d+\.\ds$/,
      /^#3 \[stage-0 3\/6\] COPY a\.txt \/a\.txt$/,
      /^#3 DONE \d+\.\ds$/,
      /^#4 \[stage-0 4\/6\] RUN echo one && cat \/a\.txt$/,
      /^#4 \d+\.\d{3} one$/,
      /^#4 \d+\.\d{3} hello$/,
      /^#4 DONE \d+\.\ds$/,
      /^#5 \[stage-0 5\/6\] ENV X=1$/,
      /^#5 DONE \d+\.\ds$/,
      // BuildKit's RUN vertex name: the stage's variables expanded, quotes kept
      /^#6 \[stage-0 6\/6\] RUN echo "x=1" > \/x$/,
      /^#6 DONE \d+\.\ds$/,
      /^#7 exporting to image$/,
      /^#7 writing image sha256:[0-9a-f]{64} done$/,
      /^#7 naming to app:1 done$/,
      /^#7 DONE \d+\.\ds$/,
      /^WARNING: 1 warning found:$/,
      /^ - MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label \(Dockerfile:2\)$/,
      /^Built in \d+\.\ds: 6 steps, 0 cached, image size \d+(\.\d+)?[kM]?B$/,
      /^Image ID sha256:[0-9a-f]{64}$/,
      /^Tagged app:1$/,
    ];
    const lines = r.err.trimEnd().split('\n');
    assert.equal(lines.length, want.length, r.err);
    lines.forEach((l, i) => assert.match(l, want[i], `line ${i + 1}`));

    // Second run: the layer steps are CACHED.
    const again = await build(['--progress=plain']);
    assert.equal(again.code, 0, again.err);
    const l2 = again.err.split('\n');
    for (const n of [3, 4, 6]) {
      const i = l2.findIndex((l) => l.startsWith(`#${n} [`));
      assert.equal(l2[i + 1], `#${n} CACHED`, again.err);
    }
    assert.match(again.err, /: 6 steps, 3 cached,/);
  });

  it('json: one versioned event per line, the library events in order', async () => {
    const r = await build(['--progress=json', '--explain']);
    assert.equal(r.code, 0, r.err);
    const events = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown> & { type: string; step?: number });
    for (const e of events) assert.equal(e.version, 1);
    assert.equal(events[0].type, 'warning');
    assert.equal(events[0].rule, 'MaintainerDeprecated');
    const start = events.find((e) => e.type === 'build-start') as unknown as { steps: { step: number; instruction: string }[] };
    assert.deepEqual(start.steps.map((s) => s.instruction), ['FROM busybox', 'MAINTAINER someone', 'COPY a.txt /a.txt', 'RUN echo one && cat /a.txt', 'ENV X=1', 'RUN echo "x=$X" > /x']);
    assert.equal(events.at(-1)!.type, 'result');
    for (const s of start.steps) {
      const mine = events.filter((e) => e.step === s.step).map((e) => e.type);
      assert.equal(mine[0], 'step-start', `step ${s.step}`);
      assert.equal(mine.at(-1), 'step-end', `step ${s.step}`);
    }
    // Layer steps carry a cache event with the key; all hit (built in the previous test).
    for (const n of [3, 4, 6]) {
      const c = events.find((e) => e.type === 'step-cache' && e.step === n) as { hit: boolean; key: string } | undefined;
      assert.ok(c, `step-cache for #${n}`);
      assert.equal(c.hit, true);
      assert.match(c.key, /^sha256:[0-9a-f]{64}$/);
    }
    const result = events.at(-1) as unknown as { imageId: string; cacheHits: number };
    assert.match(result.imageId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(result.cacheHits, 3);
    assert.equal(r.err, '', 'json mode writes nothing to stderr on success');
  });

  it('json: a miss carries its reason; output chunks are step-output events', async () => {
    const r = await build(['--progress=json', '--no-cache']);
    assert.equal(r.code, 0, r.err);
    const events = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; step?: number; hit?: boolean; reason?: string; data?: string; stream?: string });
    const miss = events.filter((e) => e.type === 'step-cache');
    assert.equal(miss.length, 3);
    for (const m of miss) assert.deepEqual([m.hit, m.reason], [false, '--no-cache']);
    const out = events.filter((e) => e.type === 'step-output' && e.step === 4).map((e) => e.data).join('');
    assert.equal(out, 'one\nhello\n');
  });

  it('-q prints only the image ID; --iidfile and --metadata-file', async () => {
    const iid = path.join(ctx, 'out', 'iid');
    const meta = path.join(ctx, 'out', 'meta.json');
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(ctx, 'out'), { recursive: true }));
    const r = await build(['-q', '-t', 'app:2', '--iidfile', iid, '--metadata-file', meta]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(r.err, '');
    const id = r.out.trim();
    assert.equal(await readFile(iid, 'utf8'), id);
    const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>;
    assert.equal(m['containerimage.config.digest'], id);
    assert.match(String(m['containerimage.digest']), /^sha256:[0-9a-f]{64}$/);
    assert.equal(m['image.name'], 'docker.io/library/app:2');
    assert.deepEqual(m['mybuild.cache'], { hits: 3, misses: 0 });
    const steps = m['mybuild.steps'] as { step: number; instruction: string; cached: boolean; key?: string; durationMs: number }[];
    assert.deepEqual(steps.map((s) => [s.step, s.instruction, s.cached]), [
      [1, 'FROM busybox', false],
      [2, 'MAINTAINER someone', false],
      [3, 'COPY a.txt /a.txt', true],
      [4, 'RUN echo one && cat /a.txt', true],
      [5, 'ENV X=1', false],
      [6, 'RUN echo "x=1" > /x', true],
    ]);
    for (const s of steps) assert.equal(typeof s.durationMs, 'number');
    for (const n of [3, 4, 6]) assert.match(steps[n - 1].key ?? '', /^sha256:[0-9a-f]{64}$/);
  });

  it('cache ls lists the records with key, size and created_by', async () => {
    const r = await runCli(['--root', root, 'cache', 'ls']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0], /^KEY\s+CREATED\s+SIZE\s+CREATED BY$/);
    assert.ok(lines.some((l) => /^[0-9a-f]{12}\s+.+ ago\s+\d+(\.\d+)?[kM]?B\s+RUN \/bin\/sh -c echo one && cat \/a\.txt # buildkit$/.test(l)), r.out);
    assert.ok(lines.some((l) => /COPY a\.txt \/a\.txt/.test(l)), r.out);
    const j = await runCli(['--root', root, 'cache', 'ls', '--format', 'json']);
    const recs = j.out.trimEnd().split('\n').map((l) => JSON.parse(l) as { key: string; size: number; createdBy: string });
    assert.ok(recs.length >= 3);
    for (const rec of recs) assert.match(rec.key, /^sha256:[0-9a-f]{64}$/);
  });

  it('cache explain IMAGE prints each step with hit or miss and reason (from the build record)', async (t) => {
    const r0 = await build(['--progress=quiet', '-t', 'app:3']);
    assert.equal(r0.code, 0, r0.err);
    const id = r0.out.trim();
    if (!existsSync(path.join(root, 'builds', `${id.slice('sha256:'.length)}.json`))) {
      t.skip('the builder does not write build records (<root>/builds/<id>.json) yet');
      return;
    }
    const r = await runCli(['--root', root, 'cache', 'explain', 'app:3']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^Image ${id} \\(`));
    assert.match(r.out, /#3\s+\[stage-0 3\] COPY a\.txt \/a\.txt\s+CACHED/);
    assert.match(r.out, /#1\s+\[stage-0 1\] FROM busybox\s+base image/);
  });

  it('cache explain of an image without a build record says so', async () => {
    const r = await runCli(['--root', root, 'cache', 'explain', 'busybox:latest']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: no build record for image sha256:[0-9a-f]{64}\nhint: only images built by "mybuild build"/);
  });
});

describe('mybuild build error reports', { skip }, () => {
  let root: string;
  const dirs: string[] = [];
  before(async () => {
    root = await storeWithBase();
  });
  after(() => removeAll(root, ...dirs));
  const buildText = async (dockerfile: string, args: string[] = ['--progress=plain']) => {
    const ctx = await makeContext({ Dockerfile: dockerfile });
    dirs.push(ctx);
    return runCli(['--root', root, 'build', ...args, ctx], { cwd: ctx });
  };

  it('a failing RUN: step, marked excerpt, exit code, last output lines, hint; exit 4', async () => {
    const r = await buildText(['FROM busybox', 'ENV A=1', 'RUN echo first line && \\', '    echo second line && nosuchcommand', 'LABEL x=y', ''].join('\n'));
    assert.equal(r.code, 4, r.err);
    const tail = r.err.slice(r.err.indexOf('#3 ERROR:'));
    const lines = tail.trimEnd().split('\n');
    assert.match(lines[0], /^#3 ERROR: process .* did not complete successfully: exit code: 127$/);
    assert.match(lines[1], /^error: Dockerfile:3:1: process "\/bin\/sh -c echo first line && .*nosuchcommand" did not complete successfully: exit code: 127$/);
    // stdout and stderr of the step arrive on two pipes: their relative order is not fixed.
    const out = lines.slice(11, 14).sort();
    assert.deepEqual(out, ['  /bin/sh: nosuchcommand: not found', '  first line', '  second line']);
    assert.deepEqual([...lines.slice(2, 11), ...lines.slice(14)], [
      'failed step: #3 [stage-0 3/4] RUN echo first line &&     echo second line && nosuchcommand',
      '--------------------',
      ' 1 |     FROM busybox',
      ' 2 |     ENV A=1',
      ' 3 | >>> RUN echo first line && \\',
      ' 4 | >>>     echo second line && nosuchcommand',
      ' 5 |     LABEL x=y',
      '--------------------',
      'last output:',
      'hint: a command was not found: install it in an earlier step, or check its name and PATH',
    ]);
  });

  it('a failing RUN in json mode ends with an error line on stdout', async () => {
    const r = await buildText('FROM busybox\nRUN exit 3\n', ['--progress=json']);
    assert.equal(r.code, 4);
    const last = JSON.parse(r.out.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
    assert.deepEqual(
      { ...last, range: undefined },
      { version: 1, type: 'error', code: 'STEP_FAILED', exitCode: 4, message: 'process "/bin/sh -c exit 3" did not complete successfully: exit code: 3', step: 2, file: 'Dockerfile', range: undefined },
    );
    assert.match(r.err, /^error: Dockerfile:2:1: process/);
  });

  it('a parse error prints the excerpt and caret; exit 3; warnings still shown', async () => {
    const r = await buildText('FROM busybox\nMAINTAINER me\nRUNN echo hi\n');
    assert.equal(r.code, 3, r.err);
    assert.match(r.err, /error: Dockerfile:3:1: .*RUNN/);
    assert.match(r.err, /\n 3 \| RUNN echo hi\n   \| \^+\n/);
  });
});
