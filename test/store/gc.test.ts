/** prune and check: what is kept, what is removed, what is reported; a full disk. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BuildError } from '../../src/errors.js';
import { MediaTypes } from '../../src/oci/types.js';
import { check, prune } from '../../src/store/gc.js';
import { ImageStore } from '../../src/store/image-store.js';
import { bytes, chunkedStream, sha256, spawnWorker, tempRoot, writeTestImage } from './helpers.js';

const roots: string[] = [];
after(async () => {
  for (const r of roots) await fs.rm(r, { recursive: true, force: true });
});
async function newStore(): Promise<ImageStore> {
  const root = await tempRoot();
  roots.push(root);
  return ImageStore.open(root);
}

async function blobs(store: ImageStore): Promise<string[]> {
  const out: string[] = [];
  for await (const d of store.content.list()) out.push(d);
  return out.sort();
}

/** The pid of a process that has exited (it wrote into a scratch store of its own). */
async function deadPid(): Promise<number> {
  const root = await tempRoot();
  roots.push(root);
  const w = spawnWorker(['write-blob', root, '1', '1']);
  await w.done;
  return w.child.pid!;
}

describe('prune', () => {
  it('keeps blobs of refs and cache records, removes the rest and stale ingest files', async () => {
    const store = await newStore();
    const kept = await writeTestImage(store.content, 1, [1000, 2000]);
    await store.setRef('docker.io/library/kept:1', kept.descriptor);
    const dropped = await writeTestImage(store.content, 2, [3000]);
    await store.setRef('docker.io/library/dropped:1', dropped.descriptor);
    await store.deleteRef('docker.io/library/dropped:1');
    const cached = await store.content.writeBytes(bytes(3, 4000));
    await store.cache.put(sha256('step'), { parts: ['RUN x'], layer: { digest: cached.digest, diffId: cached.digest, size: cached.size, mediaType: MediaTypes.OCI_LAYER } });
    const cachedExtra = await store.content.writeBytes('config kept by a cache record');
    await store.cache.put(sha256('step2'), { parts: ['ENV x'], extra: { configBlob: cachedExtra.digest } });
    const stray = await store.content.writeBytes(bytes(4, 500));
    // Ingest files: one from a dead writer (removed), one from this live process (kept).
    const deadFile = path.join(store.content.paths.ingest, `${await deadPid()}-deadbeef.blob`);
    await fs.writeFile(deadFile, Buffer.alloc(700));
    const liveFile = path.join(store.content.paths.ingest, `${process.pid}-cafe.blob`);
    await fs.writeFile(liveFile, Buffer.alloc(10));
    // The cache record whose layer is gone is dropped.
    await store.cache.put(sha256('orphan'), { parts: ['RUN y'], layer: { digest: sha256('gone'), diffId: sha256('gone'), size: 1, mediaType: MediaTypes.OCI_LAYER } });

    const res = await prune(store);
    const wantRemoved = [dropped.descriptor, dropped.config, ...dropped.layers, { digest: stray.digest, size: stray.size }].map((d) => ({ digest: d.digest, size: d.size })).sort((a, b) => (a.digest < b.digest ? -1 : 1));
    assert.deepEqual(res.blobs, wantRemoved);
    assert.deepEqual(res.ingest.map((f) => f.name), [path.basename(deadFile)]);
    assert.deepEqual(res.cacheRecords, [sha256('orphan')]);
    assert.equal(res.bytesFreed, wantRemoved.reduce((n, d) => n + d.size, 0) + 700);
    const want = [kept.descriptor, kept.config, ...kept.layers].map((d) => d.digest).concat(cached.digest, cachedExtra.digest).sort();
    assert.deepEqual(await blobs(store), want);
    assert.deepEqual(await fs.readdir(store.content.paths.ingest), [path.basename(liveFile)]);
    assert.deepEqual(await check(store), []);
    const again = await prune(store);
    assert.deepEqual([again.blobs, again.cacheRecords, again.bytesFreed], [[], [], 0], 'prune is idempotent');
    await fs.rm(liveFile);
  });

  it('with all, also drops every cache record and the layers only they kept', async () => {
    const store = await newStore();
    const img = await writeTestImage(store.content, 5, [100]);
    await store.setRef('a:1', img.descriptor);
    const cached = await store.content.writeBytes(bytes(6, 100));
    await store.cache.put(sha256('k'), { parts: [], layer: { digest: cached.digest, diffId: cached.digest, size: 100, mediaType: MediaTypes.OCI_LAYER } });
    const res = await prune(store, { all: true });
    assert.deepEqual(res.cacheRecords, [sha256('k')]);
    assert.deepEqual(res.blobs.map((b) => b.digest), [cached.digest]);
    assert.deepEqual(await store.cache.list(), []);
    assert.ok(await store.content.info(img.layers[0].digest));
  });

  it('keeps unreferenced blobs younger than the grace period', async () => {
    const store = await newStore();
    const fresh = await store.content.writeBytes('fresh');
    const old = await store.content.writeBytes('old');
    const t = new Date(Date.now() - 3_600_000);
    await fs.utimes(store.content.blobPath(old.digest), t, t);
    const res = await prune(store, { gracePeriodMs: 600_000 });
    assert.deepEqual(res.blobs.map((b) => b.digest), [old.digest]);
    assert.ok(await store.content.info(fresh.digest));
  });
});

describe('check', () => {
  it('is clean on a consistent store and reports corrupt blobs, missing blobs of refs and cache layers', async () => {
    const store = await newStore();
    const img = await writeTestImage(store.content, 7, [500, 600]);
    await store.setRef('docker.io/library/img:1', img.descriptor);
    const layer = await store.content.writeBytes(bytes(8, 300));
    await store.cache.put(sha256('c'), { parts: [], layer: { digest: layer.digest, diffId: layer.digest, size: 300, mediaType: MediaTypes.OCI_LAYER } });
    assert.deepEqual(await check(store), []);

    await fs.writeFile(store.content.blobPath(img.layers[0].digest), bytes(9, 500)); // same size, wrong bytes
    await store.content.delete(img.layers[1].digest);
    await store.content.delete(layer.digest);
    await fs.writeFile(path.join(store.cache.dir, `${sha256('bad').slice(7)}.json`), 'not json');
    const problems = await check(store);
    const by = (k: string) => problems.filter((p) => p.kind === k).map((p) => p.message);
    assert.equal(by('blob').length, 1);
    assert.match(by('blob')[0], new RegExp(`blob ${img.layers[0].digest} is corrupt`));
    assert.deepEqual(by('ref'), [`ref docker.io/library/img:1: blob ${img.layers[1].digest} (${MediaTypes.OCI_LAYER}) is missing (referenced by ${img.descriptor.digest})`]);
    assert.equal(by('cache').length, 2);
    assert.ok(by('cache').some((m) => m.includes(`layer ${layer.digest} is missing`)));
    assert.ok(by('cache').some((m) => m.includes('not valid JSON')));
  });

  it('reports a malformed index.json', async () => {
    const store = await newStore();
    await fs.writeFile(store.indexPath, '{"manifests": 3}');
    const problems = await check(store);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].kind, 'index');
  });
});

describe('a full disk', () => {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  it('fails a write with BuildError IO "no space left on device" and leaves the store consistent', { skip: isRoot ? false : 'needs root to mount a tmpfs' }, async (t) => {
    const mnt = await tempRoot('mybuild-tmpfs-');
    roots.push(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) {
      t.skip(`cannot mount a tmpfs: ${m.stderr.trim()}`);
      return;
    }
    try {
      const store = await ImageStore.open(mnt);
      const small = await writeTestImage(store.content, 1, [1000]);
      await store.setRef('small:1', small.descriptor);
      const big = chunkedStream(11, 64 * 1024, 64); // 4 MiB > 2 MiB
      await assert.rejects(store.content.write(big.stream), (e: unknown) => {
        assert.ok(e instanceof BuildError, String(e));
        assert.equal(e.code, 'IO');
        assert.match(e.message, /no space left on device/);
        return true;
      });
      assert.equal(await store.content.info(big.digest), null);
      assert.deepEqual(await fs.readdir(store.content.paths.ingest), [], 'the partial ingest file is removed');
      assert.deepEqual(await check(store), []);
      // Refs still work, and once space is back, writes succeed.
      const fits = await store.content.writeBytes(bytes(12, 100_000));
      assert.ok(await store.content.info(fits.digest));
      assert.equal((await store.resolve('small:1')).configDigest, small.config.digest);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

describe('prune alongside writers', () => {
  it('never leaves a ref to a swept blob (a writer may fail, the store stays consistent)', async () => {
    const store = await newStore();
    const w = spawnWorker(['tag', store.root, 'race', '15']);
    let exited = false;
    const done = w.done.then((o) => {
      exited = true;
      return o;
    });
    let prunes = 0;
    while (!exited) {
      await prune(store);
      prunes++;
      await new Promise((r) => setTimeout(r, 5));
    }
    const o = await done;
    // The writer either finished or failed with NotFoundError at setRef (its blobs were swept first).
    if (o.code !== 0) assert.match(o.stderr, /cannot tag race-\d+: blob sha256:[0-9a-f]{64} .*is missing/);
    assert.ok(prunes > 0);
    assert.deepEqual(await check(store), []);
  });
});

describe('leases', () => {
  it('keep written and pinned blobs through prune until released', async () => {
    const store = await newStore();
    const lease = await store.lease();
    const written = await lease.content.writeBytes('written under a lease');
    const other = await store.content.writeBytes('pinned later');
    await lease.add(other.digest);
    const loose = await store.content.writeBytes('nobody needs me');
    let res = await prune(store);
    assert.deepEqual(res.blobs.map((b) => b.digest), [loose.digest]);
    assert.ok(await store.content.info(written.digest));
    assert.ok(await store.content.info(other.digest));
    await lease.release();
    await lease.release();
    res = await prune(store);
    assert.deepEqual(res.blobs.map((b) => b.digest).sort(), [written.digest, other.digest].sort());
    await assert.rejects(lease.content.writeBytes('after release'), /released/);
  });

  it('pin bytes written through them that were already stored, without rewriting the blob', async () => {
    const store = await newStore();
    const before = await store.content.writeBytes('stored before the build');
    const blobFile = path.join(store.root, 'oci', 'blobs', 'sha256', before.digest.slice('sha256:'.length));
    const old = new Date(Date.now() - 3600_000);
    await fs.utimes(blobFile, old, old);
    const ino = (await fs.stat(blobFile)).ino;
    const lease = await store.lease();
    const again = await lease.content.writeBytes('stored before the build');
    assert.deepEqual(again, before);
    const st = await fs.stat(blobFile);
    assert.equal(st.ino, ino, 'the stored blob was kept, not replaced');
    assert.ok(st.mtimeMs > old.getTime() + 1000, 'its mtime was refreshed');
    assert.deepEqual(await fs.readdir(path.join(store.root, 'ingest')), []);
    // Pinned: prune (even with no grace period left) keeps it while the lease lives.
    await fs.utimes(blobFile, old, old);
    assert.deepEqual((await prune(store)).blobs, []);
    await lease.release();
    assert.deepEqual((await prune(store)).blobs.map((b) => b.digest), [before.digest]);
    // A mismatching expectation is still an error, as for a new blob.
    await assert.rejects(store.content.writeBytes('stored before the build', { size: 3 }), /size|mismatch/i);
  });

  it('of dead processes are dropped by prune', async () => {
    const store = await newStore();
    const blob = await store.content.writeBytes('leased by a dead process');
    await fs.mkdir(path.join(store.root, 'leases'), { recursive: true });
    const file = path.join(store.root, 'leases', `${await deadPid()}-0123.lease`);
    await fs.writeFile(file, `${blob.digest}\n`);
    const res = await prune(store);
    assert.deepEqual(res.blobs.map((b) => b.digest), [blob.digest]);
    await assert.rejects(fs.access(file));
  });

  it('let a build tag its images while prune runs in a loop', async () => {
    const store = await newStore();
    const w = spawnWorker(['tag-leased', store.root, 'leased', '15']);
    let exited = false;
    const done = w.done.then((o) => {
      exited = true;
      return o;
    });
    let prunes = 0;
    while (!exited) {
      await prune(store);
      prunes++;
      await new Promise((r) => setTimeout(r, 5));
    }
    const o = await done;
    assert.equal(o.code, 0, o.stderr);
    assert.ok(prunes > 1);
    assert.equal((await store.listRefs()).length, 15);
    assert.deepEqual(await check(store), []);
    assert.deepEqual(await fs.readdir(path.join(store.root, 'leases')), [], 'the lease was released');
  });
});
