import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { layersOf, layerSource } from '../../src/image/layers.js';
import { MemoryContentStore } from '../../src/store/memory-content-store.js';
import { hasCode } from '../../src/errors.js';
import type { Descriptor, Digest } from '../../src/oci/types.js';

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;
const layer = (c: string): Descriptor => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d(c), size: 1 });

describe('layersOf', () => {
  it('pairs each manifest layer with the diff ID of the same index', () => {
    const got = layersOf({ layers: [layer('a'), layer('b')] }, { rootfs: { type: 'layers', diff_ids: [d('1'), d('2')] } }, 'image x');
    assert.deepEqual(got, [{ descriptor: layer('a'), diffId: d('1') }, { descriptor: layer('b'), diffId: d('2') }]);
  });

  it('refuses a config whose diff_ids do not match the layers in number', () => {
    assert.throws(
      () => layersOf({ layers: [layer('a'), layer('b')] }, { rootfs: { type: 'layers', diff_ids: [d('1')] } }, 'image x'),
      (e: unknown) => hasCode(e, 'INVALID_ARGUMENT') && e.message === 'image x has 2 layers but 1 diff_ids in its config',
    );
  });
});

describe('layerSource', () => {
  it('opens the uncompressed layer from the store, named by its blob digest', async () => {
    const store = new MemoryContentStore();
    const bytes = Buffer.from('not really a tar');
    const info = await store.writeBytes(bytes);
    const desc: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: info.digest, size: info.size };
    const src = layerSource(store, { descriptor: desc, diffId: info.digest });
    assert.equal(src.name, info.digest);
    assert.equal(src.diffId, info.digest);
    const chunks: Buffer[] = [];
    for await (const c of await src.open()) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), bytes);
  });
});
