/**
 * `mybuild prune` running while builds write blobs: the build's lease keeps what it wrote or
 * reuses, so every build succeeds and the store stays consistent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, storeProblems } from '../helpers/build.js';
import { ImageStore } from '../../src/store/image-store.js';
import { prune } from '../../src/store/gc.js';
import { validateImage } from '../../src/image/validate.js';

const skip = buildSkipReason();

describe('builder: prune during builds', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('builds succeed and the store is consistent while prune runs in a loop', async () => {
    const store = await ImageStore.open(root);
    let building = true;
    let prunes = 0;
    let removed = 0;
    const pruner = (async () => {
      while (building) {
        const r = await prune(store, { all: true });
        prunes++;
        removed += r.blobs.length;
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    try {
      for (let i = 0; i < 4; i++) {
        // Fresh content every round, so each build writes new layers, config and manifest.
        const files = {
          Dockerfile: 'FROM busybox\nCOPY data.bin /data.bin\nRUN wc -c /data.bin > /size\nCOPY note.txt /note.txt\n',
          'data.bin': { content: randomBytes(2_000_000) },
          'note.txt': `round ${i}\n`,
        };
        const r = await buildFiles(root, files, { tags: [`race:${i}`] });
        await validateImage(store.content, r.result.manifestDescriptor.digest);
      }
    } finally {
      building = false;
      await pruner;
    }
    assert.ok(prunes > 3, `prune ran during the builds (${prunes} times)`);
    assert.deepEqual(await storeProblems(root), []);
    // Every tagged image is still whole after one more prune.
    await prune(store, { all: true });
    for (let i = 0; i < 4; i++) {
      const img = await store.resolve(`race:${i}`);
      await validateImage(store.content, img.manifestDescriptor.digest);
    }
    assert.ok(removed >= 0);
  });
});
