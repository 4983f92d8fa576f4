/**
 * One interface suite for both engines (src/engine): LocalEngine over a store root and
 * RemoteEngine through a daemon over the same root answer the same calls with the same values
 * (image rows, inspect documents, rmi lines, container rows, errors), which is what makes the
 * CLI's output through -H the daemonless output.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonClient } from '../../src/client/client.js';
import type { Engine } from '../../src/engine/engine.js';
import { LocalEngine } from '../../src/engine/local.js';
import { RemoteEngine } from '../../src/engine/remote.js';
import { isNotFound } from '../../src/errors.js';
import { baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';
import { notRoot, runcMissing, startTestDaemon, type TestDaemon } from '../daemon/helpers.js';

const skip = notRoot || runcMissing || baseImageSkipReason();

/** `created` to whole seconds (the Engine API carries seconds). */
const seconds = (t: string | undefined) => (t ? Math.floor(Date.parse(t) / 1000) : undefined);

describe('Engine: LocalEngine and RemoteEngine agree', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  let local: Engine;
  let remote: Engine;
  before(async () => {
    d = await startTestDaemon();
    local = new LocalEngine({ root: d.root, env: {} });
    remote = new RemoteEngine(new DaemonClient(d.host, {}), {});
    const lines = await local.images.load(await ensureBaseImage());
    assert.deepEqual(lines, ['Loaded image: latest:latest']);
    await local.images.tag('latest:latest', 'docker.io/library/busybox:latest');
  });
  after(async () => {
    await d?.stop();
  });

  it('images.list: the same rows (names in full form, IDs, digests, sizes, creation second)', async () => {
    const norm = (rows: Awaited<ReturnType<Engine['images']['list']>>['images']) => rows.map((r) => ({ ...r, created: seconds(r.created) })).sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : 1));
    const a = await local.images.list();
    const b = await remote.images.list();
    assert.deepEqual(norm(b.images), norm(a.images));
    assert.deepEqual(a.images.map((r) => r.name).sort(), ['docker.io/library/busybox:latest', 'docker.io/library/latest:latest']);
  });

  it('images.inspect: the same document; a missing image is NotFound on both', async () => {
    assert.deepEqual(await remote.images.inspect('busybox'), await local.images.inspect('busybox'));
    for (const e of [local, remote]) await assert.rejects(e.images.inspect('no-such-image:1'), (err: unknown) => isNotFound(err));
  });

  it('images.tag and images.remove: the same rmi lines; an ID with several tags needs force on both', async () => {
    await local.images.tag('busybox', 'docker.io/library/e:local');
    await remote.images.tag('busybox', 'docker.io/library/e:remote');
    assert.deepEqual(await local.images.remove('e:local', {}), [{ Untagged: 'e:local' }]);
    assert.deepEqual(await remote.images.remove('e:remote', {}), [{ Untagged: 'e:remote' }]);
    const id = ((await local.images.inspect('busybox')) as { Id: string }).Id;
    const messages: string[] = [];
    for (const e of [local, remote]) await assert.rejects(e.images.remove(id.slice(7, 19), {}), (err: Error) => (messages.push(err.message), /must be forced/.test(err.message)));
    assert.equal(messages[1], messages[0]);
  });

  it('containers: create, list (one STATUS text), inspect and remove answer alike', async () => {
    const id = await local.containers.create({ image: 'busybox', name: 'engine-suite', cmd: ['true'] });
    const a = await local.containers.list({ all: true });
    const b = await remote.containers.list({ all: true });
    const norm = (rows: typeof a) => rows.map((r) => ({ ...r, created: seconds(r.created) }));
    assert.deepEqual(norm(b), norm(a));
    assert.equal(a.find((c) => c.id === id)?.status, 'Created');
    assert.deepEqual(await remote.containers.inspect('engine-suite'), await local.containers.inspect('engine-suite'));
    assert.deepEqual(await remote.containers.list({}), []);
    await remote.containers.remove('engine-suite', {});
    assert.deepEqual(await local.containers.list({ all: true }), []);
    for (const e of [local, remote]) await assert.rejects(e.containers.remove('engine-suite', {}), (err: unknown) => isNotFound(err));
    for (const e of [local, remote]) await assert.rejects(e.containers.create({ image: 'no-such-image:1' }), (err: unknown) => isNotFound(err));
  });

  it('only the daemon runs containers detached and streams build text', () => {
    assert.deepEqual([local.detaches, local.buildEvents], [false, true]);
    assert.deepEqual([remote.detaches, remote.buildEvents], [true, false]);
  });
});
