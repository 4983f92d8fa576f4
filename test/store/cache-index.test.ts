/** CacheIndex: one JSON file per key under <root>/cache, written atomically. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BuildError } from '../../src/errors.js';
import { ImageStore } from '../../src/store/image-store.js';
import { sha256, tempRoot } from './helpers.js';

const roots: string[] = [];
after(async () => {
  for (const r of roots) await fs.rm(r, { recursive: true, force: true });
});
async function newStore(): Promise<ImageStore> {
  const root = await tempRoot();
  roots.push(root);
  return ImageStore.open(root);
}

describe('CacheIndex', () => {
  it('puts, gets, lists and deletes records', async () => {
    const { cache, root, content } = await newStore();
    const key = sha256('FROM busybox\nRUN echo hi');
    const layer = await content.writeBytes('layer bytes');
    assert.equal(await cache.get(key), null);
    const rec = await cache.put(key, {
      parts: ['parent sha256:abc', 'RUN echo hi'],
      layer: { digest: layer.digest, diffId: layer.digest, size: layer.size, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
      extra: { history: { created_by: 'RUN echo hi' } },
    });
    assert.equal(rec.key, key);
    assert.match(rec.createdAt ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(await cache.get(key), rec);
    const empty = sha256('ENV A=1');
    await cache.put(empty, { parts: ['ENV A=1'], createdAt: '2024-01-01T00:00:00Z', extra: { env: ['A=1'] } });
    assert.deepEqual((await cache.list()).map((r) => r.key).sort(), [key, empty].sort());
    assert.deepEqual(await fs.readdir(path.join(root, 'cache')), [`${empty.slice(7)}.json`, `${key.slice(7)}.json`].sort());
    assert.deepEqual(await fs.readdir(path.join(root, 'ingest')), [], 'no temp files left');
    await cache.delete(key);
    await cache.delete(key);
    assert.equal(await cache.get(key), null);
    assert.deepEqual((await cache.list()).map((r) => r.key), [empty]);
  });

  it('replaces a record atomically (put twice) and rejects mismatched or malformed keys', async () => {
    const { cache } = await newStore();
    const key = sha256('k');
    await cache.put(key, { parts: ['a'] });
    await cache.put(key, { parts: ['b'] });
    assert.deepEqual((await cache.get(key))?.parts, ['b']);
    await assert.rejects(cache.put(key, { key: sha256('other'), parts: [] }), (e: unknown) => e instanceof BuildError && /does not match/.test(e.message));
    await assert.rejects(cache.get('sha256:../../x'), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(cache.put('nope', { parts: [] }), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT');
  });

  it('reports a damaged record file as a BuildError and skips it in list', async () => {
    const { cache } = await newStore();
    const key = sha256('damaged');
    await cache.put(key, { parts: ['x'] });
    await fs.writeFile(path.join(cache.dir, `${key.slice(7)}.json`), '{"key": "sha256:');
    await assert.rejects(cache.get(key), (e: unknown) => e instanceof BuildError && /not valid JSON/.test(e.message));
    assert.deepEqual(await cache.list(), []);
  });
});
