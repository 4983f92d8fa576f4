import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { pull } from '../../src/registry/pull.js';
import { push } from '../../src/registry/push.js';
import { BlobSources } from '../../src/registry/blob-sources.js';
import type { TransferProgress } from '../../src/registry/pull.js';
import { validateImage } from '../../src/image/validate.js';
import type { Descriptor } from '../../src/oci/types.js';
import { makeImage, makeStore, registryMissing, run, skopeoMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

const skip = registryMissing || skopeoMissing;

describe('push and pull against the real registry (anonymous)', { skip }, () => {
  let reg: TestRegistry;
  let tmp: string;
  before(async () => {
    reg = await startRegistry('anonymous');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-pushpull-'));
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('pushes an image that skopeo reads back byte for byte', async () => {
    const store = await makeStore(path.join(tmp, 's1'));
    const img = await makeImage(store, [{ 'hello.txt': 'hello\n' }, { 'etc/motd': 'second layer\n' }]);
    const events: TransferProgress[] = [];
    const res = await push(`${reg.domain}/x:t`, store, img.manifest, { onProgress: (e) => events.push(e) });
    assert.equal(res.digest, img.manifest.digest);
    assert.ok(events.some((e) => e.kind === 'layer' && e.status === 'done'));

    const inspect = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.domain}/x:t`])) as { layers: Descriptor[] };
    assert.deepEqual(inspect.layers.map((l) => l.digest), img.layers.map((l) => l.digest));
    const oci = path.join(tmp, 'oci1');
    await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.domain}/x:t`, `oci:${oci}:t`]);
    const index = JSON.parse(await readFile(path.join(oci, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    assert.equal(index.manifests[0].digest, img.manifest.digest, 'skopeo copied the same manifest digest');
    for (const d of [img.config, ...img.layers]) {
      const got = await readFile(path.join(oci, 'blobs', 'sha256', d.digest.slice(7)));
      assert.equal(`sha256:${createHash('sha256').update(got).digest('hex')}`, d.digest);
      assert.deepEqual(got, await store.readBytes(d.digest, 64 << 20));
    }
  });

  it('pulls an image skopeo pushed, with identical digests', async () => {
    // An OCI layout written by hand (from a store image), pushed by skopeo.
    const src = await makeStore(path.join(tmp, 'src'));
    const img = await makeImage(src, [{ 'a.txt': 'from skopeo\n' }]);
    const layout = path.join(tmp, 'layout');
    await mkdir(path.join(layout, 'blobs', 'sha256'), { recursive: true });
    for (const d of [img.manifest, img.config, ...img.layers]) await writeFile(path.join(layout, 'blobs', 'sha256', d.digest.slice(7)), await src.readBytes(d.digest, 64 << 20));
    await writeFile(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...img.manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
    await run('skopeo', ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${reg.domain}/from/skopeo:v1`]);
    const digest = (await run('skopeo', ['inspect', '--format', '{{.Digest}}', '--tls-verify=false', `docker://${reg.domain}/from/skopeo:v1`])).trim();

    const store = await makeStore(path.join(tmp, 'dst'));
    const refs = new Map<string, Descriptor>();
    const res = await pull(`${reg.domain}/from/skopeo:v1`, store, { setRef: (n, d) => refs.set(n, d) }, { platform: 'linux/amd64' });
    assert.equal(res.descriptor.digest, digest);
    assert.equal(res.descriptor.digest, img.manifest.digest);
    assert.equal(refs.get(`${reg.domain}/from/skopeo:v1`)?.digest, digest);
    for (const d of [img.config, ...img.layers]) assert.deepEqual(await store.readBytes(d.digest, 64 << 20), await src.readBytes(d.digest, 64 << 20));
    await validateImage(store, res.descriptor.digest);
  });

  it('pulls a multi-platform index, choosing the platform, and pushes the index back', async () => {
    const src = await makeStore(path.join(tmp, 'multi'));
    const amd = await makeImage(src, [{ 'arch': 'amd64\n' }], { architecture: 'amd64' });
    const arm = await makeImage(src, [{ 'arch': 'arm64\n' }], { architecture: 'arm64' });
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { ...amd.manifest, platform: { architecture: 'amd64', os: 'linux' } },
        { ...arm.manifest, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      ],
    }));
    const info = await src.writeBytes(index);
    const indexDesc: Descriptor = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: info.digest, size: info.size };
    const pushed = await push(`${reg.domain}/multi:1`, src, indexDesc);
    assert.equal(pushed.digest, indexDesc.digest);

    const store = await makeStore(path.join(tmp, 'multi-pull'));
    const res = await pull(`${reg.domain}/multi:1`, store, undefined, { platform: 'linux/arm64' });
    assert.equal(res.descriptor.digest, arm.manifest.digest);
    assert.equal(res.index?.digest, indexDesc.digest);
    assert.deepEqual(res.descriptor.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
    assert.equal(await store.info(amd.layers[0].digest), null, 'the other platform was not fetched');
    assert.ok(await store.info(indexDesc.digest));
    await assert.rejects(pull(`${reg.domain}/multi:1`, store, undefined, { platform: 'linux/s390x' }), /no matching manifest for linux\/s390x in the manifest list entries \(the image has: linux\/amd64, linux\/arm64\/v8\)/);
  });

  it('re-pushing an unchanged image uploads nothing; mounts blobs known in another repository', async () => {
    const store = await makeStore(path.join(tmp, 'mount'));
    const img = await makeImage(store, [{ 'm.txt': 'mount me\n' }]);
    const sources = new BlobSources(path.join(tmp, 'sources.json'));
    await push(`${reg.domain}/one:1`, store, img.manifest, { sources });
    const events: TransferProgress[] = [];
    await push(`${reg.domain}/one:1`, store, img.manifest, { sources, onProgress: (e) => events.push(e) });
    assert.deepEqual(events.filter((e) => e.kind !== 'manifest').map((e) => e.status), ['exists', 'exists']);
    const events2: TransferProgress[] = [];
    await push(`${reg.domain}/two:1`, store, img.manifest, { sources: new BlobSources(path.join(tmp, 'sources.json')), onProgress: (e) => events2.push(e) });
    assert.deepEqual(events2.filter((e) => e.kind !== 'manifest').map((e) => e.status).sort(), ['mounted', 'mounted']);
    const listed = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.domain}/two:1`])) as { layers: Descriptor[] };
    assert.equal(listed.layers[0].digest, img.layers[0].digest);
    assert.ok((await readdir(tmp)).includes('sources.json'));
  });

  it('a chunked upload of a large layer round-trips', async () => {
    const store = await makeStore(path.join(tmp, 'big'));
    const img = await makeImage(store, [{ big: (await import('node:crypto')).randomBytes(300 << 10) }], { compression: 'none' });
    await push(`${reg.domain}/big:1`, store, img.manifest, { chunkSize: 64 << 10 });
    const store2 = await makeStore(path.join(tmp, 'big2'));
    const res = await pull(`${reg.domain}/big:1`, store2, undefined, { platform: 'linux/amd64' });
    assert.deepEqual(await store2.readBytes(img.layers[0].digest, 64 << 20), await store.readBytes(img.layers[0].digest, 64 << 20));
    await validateImage(store2, res.descriptor.digest);
  });
});
