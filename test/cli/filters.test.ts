/**
 * `--filter` (src/api/filters.ts, shared by LocalEngine, RemoteEngine and the daemon side):
 * images (dangling, label, reference, before, since), ps (status, name, id, label, ancestor,
 * exited), prune (until, label, label!), with dockerd's semantics and errors; through -H the
 * output is the daemonless output, and the filters travel in docker's JSON form.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FilterImage, filterContainers, filterImages, filtersFromQuery, filtersToQuery, parseFilterFlags, pathMatch, pruneFilter, untilTime } from '../../src/api/filters.js';
import { ImageStore } from '../../src/store/image-store.js';
import { runCli } from '../helpers/cli.js';
import { writeTestImage } from '../store/helpers.js';
import { baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';
import { notRoot, runCmd, runcMissing, startTestDaemon, type TestDaemon } from '../daemon/helpers.js';

describe('filters (unit)', () => {
  it('parses flags, and round-trips docker\'s JSON form (and reads the old array form)', () => {
    const f = parseFilterFlags(['label=a=b', 'label=c', 'dangling=true']);
    assert.deepEqual(f, { label: ['a=b', 'c'], dangling: ['true'] });
    assert.equal(filtersToQuery(f), '{"label":{"a=b":true,"c":true},"dangling":{"true":true}}');
    assert.deepEqual(filtersFromQuery(filtersToQuery(f)), f);
    assert.deepEqual(filtersFromQuery('{"status":["exited"]}'), { status: ['exited'] });
    assert.equal(filtersToQuery({}), undefined);
    assert.throws(() => parseFilterFlags(['nonsense']), /bad format of filter \(expected name=value\)/);
  });

  it('reference is path.Match on name:tag or name', () => {
    assert.ok(pathMatch('user/*', 'user/tool'));
    assert.ok(!pathMatch('user/*', 'user/a/b'));
    assert.ok(pathMatch('*:v?', 'user/tool:v2') === false, '* does not cross /');
    assert.ok(pathMatch('*/*:v?', 'user/tool:v2'));
    assert.ok(pathMatch('[a-c]pp', 'app'));
  });

  const images: FilterImage[] = [
    { name: 'docker.io/library/app:1', id: 'sha256:aaaa1111', created: '2024-06-01T00:00:00Z', labels: { tier: 'web' } },
    { name: 'docker.io/user/tool:v2', id: 'sha256:bbbb2222', created: '2020-01-01T00:00:00Z', labels: { tier: 'tools', x: '1' } },
    { id: 'sha256:cccc3333', created: '2022-01-01T00:00:00Z', labels: {} },
  ];
  const names = (rows: FilterImage[]) => rows.map((r) => r.name ?? r.id);

  it('images: dangling, label, reference, before, since; unknown keys and values refused', () => {
    assert.deepEqual(names(filterImages(images, { dangling: ['true'] })), ['sha256:cccc3333']);
    assert.deepEqual(names(filterImages(images, { dangling: ['false'] })).length, 2);
    assert.deepEqual(names(filterImages(images, { label: ['tier'] })).length, 2);
    assert.deepEqual(names(filterImages(images, { label: ['tier=tools', 'x=1'] })), ['docker.io/user/tool:v2']);
    assert.deepEqual(names(filterImages(images, { label: ['tier=web', 'x'] })), []);
    assert.deepEqual(names(filterImages(images, { reference: ['app'] })), ['docker.io/library/app:1']);
    assert.deepEqual(names(filterImages(images, { reference: ['app', 'user/*:v2'] })).length, 2);
    assert.deepEqual(names(filterImages(images, { before: ['app:1'] })), ['docker.io/user/tool:v2', 'sha256:cccc3333']);
    assert.deepEqual(names(filterImages(images, { since: ['bbbb2222'] })), ['docker.io/library/app:1', 'sha256:cccc3333']);
    assert.throws(() => filterImages(images, { bogus: ['1'] }), /invalid filter 'bogus'/);
    assert.throws(() => filterImages(images, { dangling: ['maybe'] }), /invalid filter 'dangling=maybe'/);
    assert.throws(() => filterImages(images, { before: ['nosuch:1'] }), /No such image: nosuch:1/);
  });

  it('containers: status, name, id, label, ancestor, exited', () => {
    const cs = [
      { id: 'abc123', name: 'web', image: 'app:1', imageId: 'sha256:aaaa1111', state: 'running', labels: { a: 'b' } },
      { id: 'def456', name: 'job', image: 'user/tool:v2', imageId: 'sha256:bbbb2222', state: 'exited', exitCode: 3 },
    ];
    const ids = (f: Record<string, string[]>) => filterContainers(cs, f, images).map((c) => c.name);
    assert.deepEqual(ids({ status: ['exited'] }), ['job']);
    assert.deepEqual(ids({ name: ['^/we'] }), ['web']);
    assert.deepEqual(ids({ name: ['o'] }), ['job']);
    assert.deepEqual(ids({ id: ['^def'] }), ['job']);
    assert.deepEqual(ids({ label: ['a=b'] }), ['web']);
    assert.deepEqual(ids({ ancestor: ['user/tool:v2'] }), ['job']);
    assert.deepEqual(ids({ ancestor: ['aaaa1111'] }), ['web']);
    assert.deepEqual(ids({ exited: ['3'] }), ['job']);
    assert.deepEqual(ids({ exited: ['0'] }), []);
    assert.throws(() => ids({ status: ['sleeping'] }), /invalid filter 'status=sleeping'/);
    assert.throws(() => ids({ dangling: ['true'] }), /invalid filter 'dangling'/);
  });

  it('prune: until (durations, timestamps, RFC 3339) and label / label!', () => {
    const now = Date.parse('2024-06-02T00:00:00Z');
    assert.equal(untilTime('24h', now), Date.parse('2024-06-01T00:00:00Z'));
    assert.equal(untilTime('1h30m', now), now - 90 * 60_000);
    assert.equal(untilTime('1700000000', now), 1_700_000_000_000);
    assert.equal(untilTime('2024-01-01T00:00:00Z', now), Date.parse('2024-01-01T00:00:00Z'));
    assert.throws(() => untilTime('soon', now), /invalid filter 'until=soon'/);
    const keep = pruneFilter({ until: ['24h'], 'label!': ['keep'] }, now);
    assert.equal(keep({ created: '2024-05-01T00:00:00Z' }), true);
    assert.equal(keep({ created: '2024-06-01T12:00:00Z' }), false);
    assert.equal(keep({ created: '2024-05-01T00:00:00Z', labels: { keep: '' } }), false);
    assert.throws(() => pruneFilter({ dangling: ['true'] }), /invalid filter 'dangling'/);
  });
});

describe('--filter on the CLI, daemonless and through -H', { skip: notRoot || runcMissing || baseImageSkipReason(), concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
    const store = await ImageStore.open(d.root);
    const app = await writeTestImage(store.content, 1, [1000], { created: new Date(Date.now() - 2 * 3_600_000).toISOString(), config: { Labels: { tier: 'web' }, Cmd: ['sh'] } });
    const tool = await writeTestImage(store.content, 2, [2000], { created: '2020-01-01T00:00:00Z', config: { Labels: { tier: 'tools' }, Cmd: ['sh'] } });
    const old = await writeTestImage(store.content, 3, [3000], { created: '2021-01-01T00:00:00Z', config: { Labels: { keep: 'yes' } } });
    const old2 = await writeTestImage(store.content, 4, [4000], { created: '2021-02-01T00:00:00Z' });
    await store.setRef('docker.io/library/app:1', app.descriptor);
    await store.setRef('docker.io/user/tool:v2', tool.descriptor);
    // two untagged images: old:1 moved away from them
    await store.setRef('docker.io/library/old:1', old.descriptor);
    await store.setRef('docker.io/library/old:1', old2.descriptor);
    await store.setRef('docker.io/library/old:1', tool.descriptor);
    const layout = await ensureBaseImage();
    const tar = `${d.dir}/base.tar`;
    assert.equal((await runCmd('tar', ['-C', layout, '-cf', tar, '.'])).code, 0);
    assert.equal((await runCli(['-H', d.host, 'load', '-i', tar])).code, 0);
    assert.equal((await runCli(['-H', d.host, 'tag', 'latest:latest', 'busybox:latest'])).code, 0);
    assert.equal((await runCli(['-H', d.host, 'run', '--name', 'ok-one', 'busybox', 'true'])).code, 0);
    assert.equal((await runCli(['-H', d.host, 'run', '--name', 'three', 'busybox', 'sh', '-c', 'exit 3'])).code, 3);
  });
  after(async () => {
    await d?.stop();
  });

  /** `args` daemonless and through -H: the same output, which is returned. */
  async function both(args: string[]): Promise<string> {
    const a = await runCli(['--root', d.root, ...args]);
    const b = await runCli(['-H', d.host, ...args]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    assert.equal(b.out, a.out, `-H ${args.join(' ')}`);
    return a.out;
  }
  const col = (out: string) => out.trim().split('\n').filter(Boolean);

  it('images --filter', async () => {
    assert.deepEqual(col(await both(['images', '-f', 'dangling=true', '--format', '{{.Repository}} {{.Tag}}'])), ['<none> <none>', '<none> <none>']);
    assert.deepEqual(col(await both(['images', '--filter', 'label=tier=web', '--format', '{{.Repository}}'])), ['app']);
    assert.deepEqual(col(await both(['images', '--filter', 'reference=user/*', '--format', '{{.Repository}}:{{.Tag}}'])), ['user/tool:v2']);
    assert.deepEqual(col(await both(['images', '--filter', 'before=app:1', '--filter', 'since=user/tool:v2', '--format', '{{.Repository}}'])), ['<none>', '<none>']);
    assert.deepEqual(col(await both(['images', '--filter', 'dangling=false', '-q', '--no-trunc'])).every((l) => l.startsWith('sha256:')), true);
    const bad = await runCli(['--root', d.root, 'images', '--filter', 'bogus=1']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /invalid filter 'bogus'/);
  });

  it('ps --filter (status implies -a)', async () => {
    assert.deepEqual(col(await both(['ps', '--filter', 'status=exited', '--format', '{{.Names}}'])).sort(), ['ok-one', 'three']);
    assert.deepEqual(col(await both(['ps', '-a', '--filter', 'exited=3', '--format', '{{.Names}}'])), ['three']);
    assert.deepEqual(col(await both(['ps', '-a', '--filter', 'name=^/ok', '--format', '{{.Names}}'])), ['ok-one']);
    assert.deepEqual(col(await both(['ps', '-a', '--filter', 'ancestor=busybox', '--format', '{{.Names}}'])).sort(), ['ok-one', 'three']);
    assert.deepEqual(col(await both(['ps', '-a', '--filter', 'ancestor=app:1', '-q'])), []);
    assert.deepEqual(col(await both(['ps', '-a', '--filter', 'label=x'])), ['CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES']);
    const id = col(await both(['ps', '-a', '--filter', 'name=three', '-q']))[0];
    assert.deepEqual(col(await both(['ps', '-a', '--filter', `id=${id.slice(0, 6)}`, '--format', '{{.Names}}'])), ['three']);
    assert.deepEqual(col(await both(['ps', '--filter', 'status=running'])).length, 1);
  });

  it('prune --filter removes only the untagged images it selects', async () => {
    const r = await runCli(['--root', d.root, 'prune', '--filter', 'until=2021-01-15T00:00:00Z', '--filter', 'label!=nothing']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(col(await both(['images', '-f', 'dangling=true', '--format', '{{.CreatedAt}}'])), ['2021-02-01 00:00:00 +0000 UTC']);
    const bad = await runCli(['--root', d.root, 'prune', '--filter', 'until=soon']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /invalid filter 'until=soon'/);
    assert.equal((await runCli(['--root', d.root, 'prune', '--filter', 'label=keep'])).code, 0);
    assert.equal(col(await both(['images', '-f', 'dangling=true', '-q'])).length, 1, 'the other one has no label keep');
  });
});
