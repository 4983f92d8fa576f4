/**
 * A cache source whose records claim wrong diffIds (issue 14, the diffID family): a hit's
 * record diffId becomes the image's diff_id, so it is checked against the layer, whether the
 * layer is fetched from the source (the build runs again without imports) or already stored
 * (the source is dropped with a warning and the steps build). Either way the image is the one
 * an honest build makes, with true diff_ids.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildContext, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, writeContext } from '../../helpers/build.js';
import { ImageStore } from '../../../src/store/image-store.js';
import type { Descriptor, Digest } from '../../../src/oci/types.js';
import { project, SDE, warnings } from './helpers.js';

const skip = buildSkipReason();
const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const WRONG: Digest = `sha256:${'e'.repeat(64)}`;

/** Rewrites the cache artifact of the layout `dir` so every record's layer claims the diffId WRONG. */
async function poison(dir: string): Promise<void> {
  const blob = (d: Digest) => path.join(dir, 'blobs', 'sha256', d.slice(7));
  const indexFile = path.join(dir, 'index.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8')) as { manifests: Descriptor[] };
  const manifest = JSON.parse(await readFile(blob(index.manifests[0].digest), 'utf8')) as { config: Descriptor };
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as { records: { layer?: { diffId: string } }[] };
  let n = 0;
  for (const r of config.records) if (r.layer) (r.layer.diffId = WRONG), n++;
  assert.ok(n > 0, 'the cache has layer records');
  const cBytes = Buffer.from(JSON.stringify(config));
  await writeFile(blob(sha(cBytes)), cBytes);
  manifest.config = { ...manifest.config, digest: sha(cBytes), size: cBytes.length };
  const mBytes = Buffer.from(JSON.stringify(manifest));
  await writeFile(blob(sha(mBytes)), mBytes);
  index.manifests[0] = { ...index.manifests[0], digest: sha(mBytes), size: mBytes.length };
  await writeFile(indexFile, JSON.stringify(index));
}

describe('remote cache: records with a wrong diffId', { skip }, () => {
  after(cleanupTemp);

  it('fetched or already stored, the layer is checked; the build ends with the honest image', async () => {
    const dir = path.join(await tempDir('mybuild-cache-dir-'), 'cache');
    const ctx = await writeContext(project('b\n', 'poison\n'));
    const rootA = await makeStoreRoot();
    const a = await buildContext(rootA, ctx, { sourceDateEpoch: SDE, cacheTo: [{ type: 'local', dest: dir, tag: 'latest', mode: 'max' }] });
    await poison(dir);

    // A fresh store: the layers are fetched from the source, checked, refused; the build runs again without imports.
    const b = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheFrom: [{ type: 'local', src: dir, tag: 'latest' }] });
    assert.equal((await b.distributable()).digest, (await a.distributable()).digest);
    assert.ok(!b.config.rootfs.diff_ids.includes(WRONG));
    assert.match(warnings(b).join('\n'), new RegExp(`uncompresses to sha256:[0-9a-f]{64}, but the record says ${WRONG}.*building again without the imported cache`));

    // A store that already holds the layers (not the cache records): the records are checked at lookup; the source is dropped.
    const rootC = await makeStoreRoot();
    const from = await ImageStore.open(rootA);
    const to = await ImageStore.open(rootC);
    // The cache holds the gzip variants of A's (uncompressed) layers: those are the ones C already holds.
    for (const l of (await a.distributable()).manifest.layers) if (!(await to.content.info(l.digest))) await to.content.write(await from.content.reader(l), { digest: l.digest, size: l.size });
    const c = await buildContext(rootC, ctx, { sourceDateEpoch: SDE, cacheFrom: [{ type: 'local', src: dir, tag: 'latest' }] });
    assert.equal((await c.distributable()).digest, (await a.distributable()).digest);
    assert.match(warnings(c).join('\n'), new RegExp(`cache source local:.* is unusable, building without it: cache record sha256:[0-9a-f]{64}: layer sha256:[0-9a-f]{64} uncompresses to sha256:[0-9a-f]{64}, but the record says ${WRONG}`));
  });
});
