import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { emptyConfig, serializeConfig } from '../../src/image/config.js';
import { validateImage } from '../../src/image/validate.js';
import { rfc3339 } from '../../src/image/json.js';
import { MediaTypes, type Manifest } from '../../src/oci/types.js';
import { DirStore } from './dir-store.js';
import { smallImage } from './images.js';

describe('config and manifest', () => {
  let store: DirStore;
  before(async () => {
    store = await DirStore.create();
  });
  after(async () => store.cleanup());

  it('formats times as Go does', () => {
    assert.equal(rfc3339(0), '1970-01-01T00:00:00Z');
    assert.equal(rfc3339(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 500))), '2024-01-02T03:04:05.5Z');
  });

  it('serialises configs deterministically in BuildKit key order', async () => {
    const { config } = await smallImage(store);
    const text = serializeConfig(config).toString();
    assert.equal(
      text.replace(/sha256:[0-9a-f]{64}/g, 'sha256:X'),
      '{"architecture":"amd64","config":{"Env":["PATH=/usr/bin:/bin"],"Cmd":["cat","/etc/hello"],"Labels":{"a":"\\u003c\\u0026\\u003e","z":"1"}},' +
        '"created":"1970-01-01T00:00:00Z","history":[{"created":"1970-01-01T00:00:00Z","created_by":"COPY hello /etc/hello # buildkit","comment":"buildkit.dockerfile.v0"},' +
        '{"created":"1970-01-01T00:00:00Z","created_by":"CMD [\\"cat\\" \\"/etc/hello\\"]","comment":"buildkit.dockerfile.v0","empty_layer":true}],' +
        '"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:X"]}}',
    );
    assert.equal(emptyConfig({ os: 'linux', architecture: 'arm64', variant: 'v8' }).created, undefined, 'no wall clock');
  });

  it('writes valid OCI images, identical twice', async () => {
    const a = await smallImage(store);
    const b = await smallImage(store);
    assert.equal(a.manifestDescriptor.digest, b.manifestDescriptor.digest);
    assert.equal(a.manifestDescriptor.mediaType, MediaTypes.OCI_MANIFEST);
    const { manifest } = await validateImage(store, a.manifestDescriptor.digest);
    assert.equal(manifest.config.mediaType, MediaTypes.OCI_CONFIG);
    assert.equal(manifest.layers[0].mediaType, MediaTypes.OCI_LAYER_GZIP);
  });

  it('writes valid Docker schema2 images with the same config digest', async () => {
    const oci = await smallImage(store, 'oci');
    const d = await smallImage(store, 'docker');
    const { manifest } = await validateImage(store, d.manifestDescriptor.digest);
    assert.equal(manifest.mediaType, MediaTypes.DOCKER_MANIFEST);
    assert.equal(manifest.config.mediaType, MediaTypes.DOCKER_CONFIG);
    assert.equal(manifest.layers[0].mediaType, MediaTypes.DOCKER_LAYER_GZIP);
    assert.equal(d.configDescriptor.digest, oci.configDescriptor.digest);
    assert.notEqual(d.manifestDescriptor.digest, oci.manifestDescriptor.digest);
  });

  it('validateImage catches wrong diff_ids, missing layers and history mismatches', async () => {
    const img = await smallImage(store);
    const bad = async (mutate: (m: Manifest, c: Record<string, unknown>) => void, want: RegExp) => {
      const m = structuredClone(img.manifest);
      const c = JSON.parse(JSON.stringify(img.config)) as Record<string, unknown>;
      mutate(m, c);
      const ci = await store.writeBytes(JSON.stringify(c));
      m.config = { ...m.config, digest: ci.digest, size: ci.size };
      const mi = await store.writeBytes(JSON.stringify(m));
      await assert.rejects(validateImage(store, mi.digest), want);
    };
    await bad((_m, c) => ((c.rootfs as { diff_ids: string[] }).diff_ids = [`sha256:${'0'.repeat(64)}`]), /uncompressed digest is sha256:[0-9a-f]+, config diff_ids\[0\] says sha256:0000/);
    await bad((m) => (m.layers[0] = { ...m.layers[0], digest: `sha256:${'1'.repeat(64)}` }), /layer 0 blob sha256:1111.* is missing/);
    await bad((_m, c) => (c.history = []), /history has 0 non-empty entries for 1 layers/);
    await bad((m) => (m.layers[0] = { ...m.layers[0], mediaType: MediaTypes.DOCKER_LAYER_GZIP }), /in a OCI manifest/);
  });
});
