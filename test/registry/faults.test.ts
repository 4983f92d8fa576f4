import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pull, type TransferProgress } from '../../src/registry/pull.js';
import { push } from '../../src/registry/push.js';
import { DigestMismatchError, RegistryError } from '../../src/errors.js';
import { validateImage } from '../../src/image/validate.js';
import { freePort, makeImage, makeStore, registryMissing, startFaultProxy, startRegistry, type FaultProxy, type TestRegistry } from '../helpers/registry.js';

const fast = { retryBaseMs: 10, maxRetryAfterMs: 2000 };
const isBlobGet = (digest: string) => (r: { method: string; url: string }) => r.method === 'GET' && r.url.endsWith(`/blobs/${digest}`);

describe('through a fault-injecting proxy', { skip: registryMissing }, () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let tmp: string;
  before(async () => {
    reg = await startRegistry('anonymous');
    proxy = await startFaultProxy(reg.domain);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-faults-'));
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('push completes despite resets, 5xx and 429 with Retry-After; re-push sends no blob', async () => {
    const store = await makeStore(path.join(tmp, 'p'));
    const img = await makeImage(store, [{ a: 'one\n' }, { b: 'two\n' }]);
    proxy.faults.push(
      { match: (r) => r.method === 'HEAD' && r.url.includes(img.layers[0].digest), action: 'status', status: 503, times: 1 },
      { match: (r) => r.method === 'POST' && r.url.includes('/blobs/uploads/'), action: 'reset', times: 1 },
      { match: (r) => r.method === 'PUT' && r.url.includes(`digest=${encodeURIComponent(img.layers[1].digest)}`), action: 'status', status: 500, times: 1 },
      { match: (r) => r.method === 'PUT' && r.url.includes('/manifests/'), action: 'status', status: 429, retryAfter: 1, times: 1 },
    );
    const t0 = Date.now();
    const res = await push(`${proxy.domain}/faulty:1`, store, img.manifest, { clientOptions: fast, concurrency: 1 });
    assert.equal(res.digest, img.manifest.digest);
    assert.ok(Date.now() - t0 >= 900, 'waited for Retry-After');
    assert.deepEqual(proxy.faults.map((f) => f.times), [0, 0, 0, 0], 'every fault fired');
    proxy.faults.length = 0;

    const from = proxy.log.length;
    await push(`${proxy.domain}/faulty:1`, store, img.manifest, { clientOptions: fast });
    const again = proxy.log.slice(from);
    assert.equal(again.filter((r) => r.url.includes('/blobs/uploads')).length, 0, 'no upload on re-push');
    assert.deepEqual(again.filter((r) => r.url.includes('/blobs/')).map((r) => r.method), ['HEAD', 'HEAD', 'HEAD']);
  });

  it('pull completes despite a reset, a 500, a 429 and a truncated body', async () => {
    const src = await makeStore(path.join(tmp, 'src'));
    const img = await makeImage(src, [{ a: randomBytes(20_000) }, { b: 'small\n' }], { compression: 'none' });
    await push(`${reg.domain}/pullfaults:1`, src, img.manifest);
    proxy.faults.push(
      { match: (r) => r.method === 'GET' && r.url.endsWith('/manifests/1'), action: 'reset', times: 1 },
      { match: isBlobGet(img.config.digest), action: 'status', status: 500, times: 1 },
      { match: isBlobGet(img.layers[1].digest), action: 'status', status: 429, retryAfter: 0, times: 1 },
      { match: isBlobGet(img.layers[0].digest), action: 'truncate', times: 1 },
    );
    const store = await makeStore(path.join(tmp, 'dst'));
    const res = await pull(`${proxy.domain}/pullfaults:1`, store, undefined, { clientOptions: fast, platform: 'linux/amd64' });
    assert.equal(res.descriptor.digest, img.manifest.digest);
    assert.deepEqual(proxy.faults.map((f) => f.times), [0, 0, 0, 0], 'every fault fired');
    proxy.faults.length = 0;
    await validateImage(store, res.descriptor.digest);
  });

  it('a truncated blob download resumes with a Range request, not from byte 0', async () => {
    const src = await makeStore(path.join(tmp, 'src-range'));
    const img = await makeImage(src, [{ big: randomBytes(256 << 10) }], { compression: 'none' });
    await push(`${reg.domain}/ranged:1`, src, img.manifest);
    const layer = img.layers[0];
    proxy.faults.push({ match: isBlobGet(layer.digest), action: 'truncate', times: 1 });
    const from = proxy.log.length;
    const events: TransferProgress[] = [];
    const store = await makeStore(path.join(tmp, 'dst-range'));
    const res = await pull(`${proxy.domain}/ranged:1`, store, undefined, { clientOptions: fast, platform: 'linux/amd64', onProgress: (e) => events.push(e) });
    assert.equal(proxy.faults[0].times, 0, 'the truncation happened');
    proxy.faults.length = 0;
    const gets = proxy.log.slice(from).filter(isBlobGet(layer.digest));
    assert.equal(gets.length, 2, 'one GET cut short, one resuming');
    assert.equal(gets[0].range, undefined);
    const m = /^bytes=(\d+)-$/.exec(gets[1].range ?? '');
    assert.ok(m, `the second GET asks for the rest: ${gets[1].range}`);
    const offset = Number(m[1]);
    assert.ok(offset > 0 && offset < layer.size, `resumed at ${offset} of ${layer.size}`);
    assert.ok(events.some((e) => e.digest === layer.digest && e.status === 'retrying' && e.current === offset));
    assert.deepEqual(await store.readBytes(layer.digest, 1 << 20), await src.readBytes(layer.digest, 1 << 20));
    await validateImage(store, res.descriptor.digest);
  });

  it('a blob download that stalls mid-body resumes with a Range request once the idle timeout fires', async () => {
    const src = await makeStore(path.join(tmp, 'src-stall'));
    const img = await makeImage(src, [{ big: randomBytes(128 << 10) }], { compression: 'none' });
    await push(`${reg.domain}/stalled:1`, src, img.manifest);
    const layer = img.layers[0];
    proxy.faults.push({ match: isBlobGet(layer.digest), action: 'stall', times: 1 });
    const from = proxy.log.length;
    const store = await makeStore(path.join(tmp, 'dst-stall'));
    const res = await pull(`${proxy.domain}/stalled:1`, store, undefined, { clientOptions: { ...fast, timeoutMs: 500 }, platform: 'linux/amd64' });
    assert.equal(proxy.faults[0].times, 0, 'the stall happened');
    proxy.faults.length = 0;
    const gets = proxy.log.slice(from).filter(isBlobGet(layer.digest));
    assert.equal(gets.length, 2, 'one GET stalled, one resuming');
    assert.match(gets[1].range ?? '', /^bytes=[1-9]\d*-$/, 'the second GET asks for the rest');
    await validateImage(store, res.descriptor.digest);
  });

  it('a manifest whose body breaks off or stalls is fetched again', async () => {
    const src = await makeStore(path.join(tmp, 'src-mbody'));
    const img = await makeImage(src, [{ m: 'manifest faults\n' }]);
    await push(`${reg.domain}/mbody:1`, src, img.manifest);
    const isManifestGet = (r: { method: string; url: string }) => r.method === 'GET' && r.url.endsWith('/mbody/manifests/1');
    proxy.faults.push({ match: isManifestGet, action: 'truncate', times: 1 }, { match: isManifestGet, action: 'stall', times: 1 }, { match: isManifestGet, action: 'corrupt', times: 1 });
    const store = await makeStore(path.join(tmp, 'dst-mbody'));
    const res = await pull(`${proxy.domain}/mbody:1`, store, undefined, { clientOptions: { ...fast, timeoutMs: 500 }, platform: 'linux/amd64' });
    assert.deepEqual(proxy.faults.map((f) => f.times), [0, 0, 0], 'every fault fired');
    proxy.faults.length = 0;
    assert.equal(res.descriptor.digest, img.manifest.digest);
  });

  it('an upload whose bytes were altered on the way (the registry says digest invalid) is sent again', async () => {
    const store = await makeStore(path.join(tmp, 'flipup'));
    const img = await makeImage(store, [{ f: randomBytes(4096) }], { compression: 'none' });
    proxy.faults.push({ match: (r) => r.method === 'PUT' && r.url.includes(`digest=${encodeURIComponent(img.layers[0].digest)}`), action: 'corrupt-upload', times: 1 });
    await push(`${proxy.domain}/flipup:1`, store, img.manifest, { clientOptions: fast });
    assert.equal(proxy.faults[0].times, 0, 'the byte was flipped');
    proxy.faults.length = 0;
    const back = await makeStore(path.join(tmp, 'flipup-back'));
    await validateImage(back, (await pull(`${reg.domain}/flipup:1`, back, undefined, { platform: 'linux/amd64' })).descriptor.digest);
  });

  it('a registry that ignores Range: the resent head is skipped and the digest still checked', async () => {
    const src = await makeStore(path.join(tmp, 'src-norange'));
    const img = await makeImage(src, [{ big: randomBytes(128 << 10) }], { compression: 'none' });
    await push(`${reg.domain}/norange:1`, src, img.manifest);
    const layer = img.layers[0];
    proxy.faults.push({ match: isBlobGet(layer.digest), action: 'truncate', times: 1 }, { match: (r) => isBlobGet(layer.digest)(r) && r.range !== undefined, action: 'no-range', times: 1 });
    const store = await makeStore(path.join(tmp, 'dst-norange'));
    const from = proxy.log.length;
    const res = await pull(`${proxy.domain}/norange:1`, store, undefined, { clientOptions: fast, platform: 'linux/amd64' });
    assert.deepEqual(proxy.faults.map((f) => f.times), [0, 0]);
    proxy.faults.length = 0;
    const gets = proxy.log.slice(from).filter(isBlobGet(layer.digest));
    assert.deepEqual(gets.map((g) => g.fault), ['truncate', 'no-range'], 'resumed once (answered in full), never restarted');
    assert.deepEqual(await store.readBytes(layer.digest, 1 << 20), await src.readBytes(layer.digest, 1 << 20));
    await validateImage(store, res.descriptor.digest);
  });

  it('a blob with the wrong digest is rejected and never stored', async () => {
    const src = await makeStore(path.join(tmp, 'src2'));
    const img = await makeImage(src, [{ x: 'corrupt me please\n' }]);
    await push(`${reg.domain}/corrupt:1`, src, img.manifest);
    proxy.faults.push({ match: isBlobGet(img.layers[0].digest), action: 'corrupt', times: 100 });
    const store = await makeStore(path.join(tmp, 'dst2'));
    await assert.rejects(pull(`${proxy.domain}/corrupt:1`, store, undefined, { clientOptions: fast, platform: 'linux/amd64' }), (e: unknown) => {
      assert.ok(e instanceof DigestMismatchError, String(e));
      assert.match(e.message, new RegExp(`^pull ${proxy.domain.replace(/\./g, '\\.')}/corrupt:1: layer ${img.layers[0].digest}: the registry sent content that does not match the digest`));
      return true;
    });
    proxy.faults.length = 0;
    assert.equal(await store.info(img.layers[0].digest), null);
    for await (const d of store.list()) assert.notEqual(d, img.layers[0].digest);
  });

  it('a chunked upload resumes after the connection drops in the middle of a PATCH', async () => {
    const store = await makeStore(path.join(tmp, 'chunk'));
    const img = await makeImage(store, [{ big: randomBytes(200 << 10) }], { compression: 'none' });
    let patches = 0;
    proxy.faults.push({ match: (r) => r.method === 'PATCH' && ++patches === 2, action: 'drop-body', times: 1 });
    const from = proxy.log.length;
    await push(`${proxy.domain}/chunked:1`, store, img.manifest, { clientOptions: fast, chunkSize: 64 << 10 });
    const log = proxy.log.slice(from);
    assert.equal(proxy.faults[0].times, 0, 'the drop happened');
    proxy.faults.length = 0;
    const dropAt = log.findIndex((r) => r.fault === 'drop-body');
    assert.equal(log[dropAt + 1]?.method, 'GET', 'asked the registry for the received range');
    assert.match(log[dropAt + 1].url, /\/blobs\/uploads\//);
    assert.equal(log.filter((r) => r.method === 'POST' && r.url.includes('/blobs/uploads/')).length, 2, 'one upload for the layer, one for the config: no restart');
    const store2 = await makeStore(path.join(tmp, 'chunk2'));
    const res = await pull(`${reg.domain}/chunked:1`, store2, undefined, { platform: 'linux/amd64' });
    assert.deepEqual(await store2.readBytes(img.layers[0].digest, 1 << 20), await store.readBytes(img.layers[0].digest, 1 << 20));
    await validateImage(store2, res.descriptor.digest);
  });
});

describe('bad input: one clear error each', { skip: registryMissing }, () => {
  let reg: TestRegistry;
  let fake: http.Server;
  let fakeDomain: string;
  let tmp: string;
  before(async () => {
    reg = await startRegistry('anonymous');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-badinput-'));
    fake = http.createServer((req, res) => {
      if (req.url === '/v2/') return res.writeHead(200).end('{}');
      if (req.url?.includes('/malformed/manifests/')) return res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end('{"schemaVersion": 2, "config": "nope"');
      if (req.url?.includes('/badlayers/manifests/')) return res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end('{"schemaVersion": 2, "config": {"mediaType":"x","digest":"sha256:' + 'a'.repeat(64) + '","size":1}, "layers": [{"digest":"md5:x"}]}');
      if (req.url?.includes('/old/manifests/')) return res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }).end('{"schemaVersion": 1, "name": "old", "tag": "1", "fsLayers": []}');
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}');
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    fakeDomain = `127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  after(async () => {
    await reg?.stop();
    await new Promise((r) => fake?.close(r));
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const expectError = async (p: Promise<unknown>, re: RegExp, hint?: RegExp): Promise<void> => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof RegistryError, `expected a RegistryError, got ${String(e)}`);
      assert.match(e.message, re);
      if (hint) assert.match(e.hint ?? '', hint);
      return true;
    });
  };

  it('missing tag', async () => {
    const store = await makeStore(path.join(tmp, 's'));
    const img = await makeImage(store, [{ a: 'a\n' }]);
    await push(`${reg.domain}/x:t`, store, img.manifest);
    await expectError(pull(`${reg.domain}/x:nope`, store), new RegExp(`^pull ${reg.domain.replace(/\./g, '\\.')}/x:nope: manifest unknown \\(404\\)$`));
  });

  it('unknown host', async () => {
    const store = await makeStore(path.join(tmp, 's'));
    await expectError(pull('nosuchhost.invalid/x:1', store, undefined, { clientOptions: { retries: 0 } }), /^pull nosuchhost\.invalid\/x:1: cannot reach registry nosuchhost\.invalid \(https:\/\/nosuchhost\.invalid\): host "nosuchhost\.invalid" not found/, /check the registry name/);
  });

  it('connection refused', async () => {
    const port = await freePort();
    const store = await makeStore(path.join(tmp, 's'));
    await expectError(pull(`127.0.0.1:${port}/x:1`, store), new RegExp(`^pull 127\\.0\\.0\\.1:${port}/x:1: cannot reach registry .*connection refused`), /is the registry running/);
  });

  it('malformed manifest, bad descriptors, schema 1', async () => {
    const store = await makeStore(path.join(tmp, 's'));
    await expectError(pull(`${fakeDomain}/malformed:1`, store), new RegExp(`^pull ${fakeDomain.replace(/\./g, '\\.')}/malformed:1: malformed manifest: `));
    await expectError(pull(`${fakeDomain}/badlayers:1`, store), /malformed manifest: "layers" must be a list of descriptors/);
    await expectError(pull(`${fakeDomain}/old:1`, store), /Docker schema 1 manifest format .* is not supported/, /push the image again/);
    await expectError(pull(`${fakeDomain}/gone:1`, store), /: repository name not known to registry \(404\)$/);
  });
});
