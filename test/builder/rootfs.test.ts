/**
 * RootfsManager.withViews (src/builder/rootfs.ts): several read-only views mounted together and
 * undone together, also when one of them cannot be made.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { RootfsManager } from '../../src/builder/rootfs.js';
import type { LayerRef } from '../../src/builder/state.js';
import { writeLayer } from '../../src/image/layer-writer.js';
import { mountPointsUnder } from '../../src/runtime/mount.js';
import { createSnapshotter, type Snapshotter } from '../../src/runtime/snapshotter.js';
import { ImageStore } from '../../src/store/image-store.js';

const skip = process.getuid?.() === 0 ? false : 'needs root (mounts)';

describe('RootfsManager.withViews', { skip }, () => {
  let root: string;
  let store: ImageStore;
  let sn: Snapshotter;
  let rootfs: RootfsManager;
  let tmp: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mybuild-rootfs-'));
    store = await ImageStore.open(path.join(root, 'store'));
    sn = await createSnapshotter(path.join(root, 'snapshots'));
    tmp = path.join(root, 'tmp');
    await mkdir(tmp);
    rootfs = new RootfsManager(sn, store.content, tmp);
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function layer(files: Record<string, string>): Promise<LayerRef> {
    const r = await writeLayer(
      Object.entries(files).map(([p, c]) => ({ path: p, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: c.length, mtimeMs: 0, open: () => Readable.from([Buffer.from(c)]) })),
      store.content,
    );
    return { descriptor: r.descriptor, diffId: r.diffId };
  }

  const views = async (): Promise<string[]> => (await sn.list()).filter((s) => s.kind === 'view').map((s) => s.name);

  it('mounts every view read-only for the callback and undoes them all after', async () => {
    const a = await layer({ 'a.txt': 'from a\n' });
    const b1 = await layer({ 'b.txt': 'from b\n' });
    const b2 = await layer({ 'b2.txt': 'over b\n' });
    const seen = await rootfs.withViews([[a], [b1, b2]], async ([da, db]) => {
      assert.equal(await readFile(path.join(da, 'a.txt'), 'utf8'), 'from a\n');
      assert.equal(await readFile(path.join(db, 'b.txt'), 'utf8'), 'from b\n');
      assert.equal(await readFile(path.join(db, 'b2.txt'), 'utf8'), 'over b\n');
      await assert.rejects(writeFile(path.join(da, 'x'), 'x'), /EROFS/);
      await assert.rejects(writeFile(path.join(db, 'x'), 'x'), /EROFS/);
      assert.equal((await views()).length, 2);
      return [da, db];
    });
    assert.equal(seen.length, 2);
    assert.deepEqual(await mountPointsUnder(tmp), []);
    assert.deepEqual(await readdir(tmp), []);
    assert.deepEqual(await views(), []);
  });

  it('when one view cannot be made, the others are undone and the error is thrown', async () => {
    const good = await layer({ 'ok.txt': 'ok\n' });
    const missing: LayerRef = { descriptor: { mediaType: good.descriptor.mediaType, digest: `sha256:${'0'.repeat(64)}`, size: 10 }, diffId: `sha256:${'1'.repeat(64)}` };
    let called = false;
    await assert.rejects(
      rootfs.withViews([[good], [missing]], async () => {
        called = true;
      }),
    );
    assert.equal(called, false);
    assert.deepEqual(await mountPointsUnder(tmp), []);
    assert.deepEqual(await readdir(tmp), []);
    assert.deepEqual(await views(), []);
  });

  it('a callback that throws still gets its views undone', async () => {
    const a = await layer({ 'c.txt': 'c\n' });
    await assert.rejects(
      rootfs.withViews([[a]], async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(await mountPointsUnder(tmp), []);
    assert.deepEqual(await readdir(tmp), []);
    assert.deepEqual(await views(), []);
  });
});
