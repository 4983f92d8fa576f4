import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pull } from '../../src/registry/pull.js';
import { push } from '../../src/registry/push.js';
import type { TransferProgress } from '../../src/registry/pull.js';
import { validateImage } from '../../src/image/validate.js';
import { makeImage, makeStore, registryMissing, startFaultProxy, startRegistry, type FaultProxy, type TestRegistry } from '../helpers/registry.js';

const fast = { retryBaseMs: 10, maxRetryAfterMs: 2000 };

describe('push of a blob over 16 MiB (one streamed PATCH by default)', { skip: registryMissing }, () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let tmp: string;
  before(async () => {
    reg = await startRegistry('anonymous');
    proxy = await startFaultProxy(reg.domain);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-push-stream-'));
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('goes up in one PATCH with progress while it streams, and pulls back identical', async () => {
    const store = await makeStore(path.join(tmp, 'one'));
    const img = await makeImage(store, [{ big: randomBytes(20 << 20) }], { compression: 'none' });
    const events: TransferProgress[] = [];
    const from = proxy.log.length;
    await push(`${proxy.domain}/stream:1`, store, img.manifest, { clientOptions: fast, onProgress: (e) => events.push(e) });
    const log = proxy.log.slice(from);
    assert.equal(log.filter((r) => r.method === 'PATCH').length, 1, 'one PATCH for the 20 MiB layer');
    const layer = img.layers[0];
    const mid = events.filter((e) => e.digest === layer.digest && e.status === 'uploading' && e.current > 0 && e.current < layer.size);
    assert.ok(mid.length >= 2, `progress reported while the PATCH streams (${mid.length} events)`);
    const store2 = await makeStore(path.join(tmp, 'one-pulled'));
    const res = await pull(`${reg.domain}/stream:1`, store2, undefined, { platform: 'linux/amd64' });
    await validateImage(store2, res.descriptor.digest);
    assert.ok(await store2.info(layer.digest));
  });

  it('resumes after the connection drops in the middle of that PATCH, without a new upload', async () => {
    const store = await makeStore(path.join(tmp, 'drop'));
    const img = await makeImage(store, [{ big: randomBytes(18 << 20) }], { compression: 'none' });
    proxy.faults.push({ match: (r) => r.method === 'PATCH', action: 'drop-body', times: 1 });
    const from = proxy.log.length;
    // One blob at a time, so that the config's requests do not interleave with the layer's in the log.
    await push(`${proxy.domain}/stream-drop:1`, store, img.manifest, { clientOptions: fast, concurrency: 1 });
    const log = proxy.log.slice(from);
    assert.equal(proxy.faults[0].times, 0, 'the drop happened');
    proxy.faults.length = 0;
    const dropAt = log.findIndex((r) => r.fault === 'drop-body');
    assert.equal(log[dropAt + 1]?.method, 'GET', 'asked the registry for the received range');
    assert.equal(log[dropAt + 2]?.method, 'PATCH', 'then sent the rest (re-reading the blob from the store)');
    assert.equal(log.filter((r) => r.method === 'POST' && r.url.includes('/blobs/uploads/')).length, 2, 'one upload for the layer, one for the config: no restart');
    const store2 = await makeStore(path.join(tmp, 'drop-pulled'));
    const res = await pull(`${reg.domain}/stream-drop:1`, store2, undefined, { platform: 'linux/amd64' });
    await validateImage(store2, res.descriptor.digest);
    assert.ok(await store2.info(img.layers[0].digest));
  });
});
