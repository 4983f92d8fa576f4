/** ImageStore: the OCI layout on disk, refs in index.json, resolve, cross-process safety. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BuildError, NotFoundError } from '../../src/errors.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { MediaTypes, type Index } from '../../src/oci/types.js';
import { check } from '../../src/store/gc.js';
import { ImageStore, REF_NAME_ANNOTATION } from '../../src/store/image-store.js';
import { rng, sha256, spawnWorker, tempRoot, writeImage, writeTestImage } from './helpers.js';

const roots: string[] = [];
async function newStore(): Promise<ImageStore> {
  const root = await tempRoot();
  roots.push(root);
  return ImageStore.open(root);
}
after(async () => {
  for (const r of roots) await fs.rm(r, { recursive: true, force: true });
});

async function readIndexFile(store: ImageStore): Promise<Index> {
  return JSON.parse(await fs.readFile(store.indexPath, 'utf8')) as Index;
}

describe('ImageStore layout', () => {
  it('creates an OCI image layout (oci-layout, index.json, blobs/sha256) and reopens idempotently', async () => {
    const store = await newStore();
    const layout = path.join(store.root, 'oci');
    assert.deepEqual(JSON.parse(await fs.readFile(path.join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    assert.deepEqual(await readIndexFile(store), { schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: [] });
    assert.ok((await fs.stat(path.join(layout, 'blobs', 'sha256'))).isDirectory());
    const desc = await writeImage(store.content, 1, 100);
    await store.setRef('docker.io/library/app:1', desc);
    const again = await ImageStore.open(store.root);
    assert.deepEqual(await again.getRef('docker.io/library/app:1'), desc);
  });

  it('is readable by skopeo as an OCI layout', { skip: spawnSync('skopeo', ['--version']).status === 0 ? false : 'skopeo is not installed (scripts/install-system-deps.sh)' }, async () => {
    const store = await newStore();
    const img = await writeTestImage(store.content, 2, [300, 400]);
    await store.setRef('docker.io/library/app:1', img.descriptor);
    const r = spawnSync('skopeo', ['inspect', '--raw', `oci:${path.join(store.root, 'oci')}:docker.io/library/app:1`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).config.digest, img.config.digest);
    const c = spawnSync('skopeo', ['inspect', '--config', `oci:${path.join(store.root, 'oci')}:docker.io/library/app:1`], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(JSON.parse(c.stdout).rootfs.diff_ids, img.layers.map((l) => l.digest));
  });
});

describe('ImageStore refs', () => {
  it('sets, replaces, lists and deletes refs, with the full name in the ref.name annotation', async () => {
    const store = await newStore();
    const a = await writeImage(store.content, 1, 100);
    const b = await writeImage(store.content, 2, 200);
    assert.equal(await store.setRef('docker.io/library/app:1', a), null);
    assert.equal(await store.setRef('localhost:5000/x/y:dev', b), null);
    assert.deepEqual(await store.setRef('docker.io/library/app:1', a), a, 'setting the same target again is a no-op');
    const idx = await readIndexFile(store);
    assert.deepEqual(
      idx.manifests.map((m) => [m.annotations?.[REF_NAME_ANNOTATION], m.digest]),
      [
        ['docker.io/library/app:1', a.digest],
        ['localhost:5000/x/y:dev', b.digest],
      ],
    );
    assert.deepEqual(await store.setRef('docker.io/library/app:1', b), a, 'returns the previous target');
    assert.deepEqual(await store.getRef('docker.io/library/app:1'), b);
    assert.deepEqual(
      (await store.listRefs()).map((r) => r.name),
      ['docker.io/library/app:1', 'localhost:5000/x/y:dev'],
    );
    assert.deepEqual(await store.deleteRef('localhost:5000/x/y:dev'), b);
    assert.equal(await store.deleteRef('localhost:5000/x/y:dev'), null);
    assert.equal(await store.getRef('localhost:5000/x/y:dev'), null);
    // app:1 moved from a to b: a is kept untagged (`<none>`, as Docker) until rmi or prune.
    assert.equal((await readIndexFile(store)).manifests.length, 2);
    assert.deepEqual(await store.listDangling(), [a]);
    assert.ok(await store.content.info(b.digest), 'untagging keeps the blobs until prune');
    await store.setRef('docker.io/library/app:2', a);
    assert.deepEqual(await store.listDangling(), [], 'tagging it again makes it a named image only');
  });

  it('refuses to tag an image whose manifest or layers are not stored, leaving index.json unchanged', async () => {
    const store = await newStore();
    const img = await writeTestImage(store.content, 3, [100, 200]);
    const before = await fs.readFile(store.indexPath, 'utf8');
    await assert.rejects(store.setRef('x:1', { ...img.descriptor, digest: `sha256:${'0'.repeat(64)}` }), NotFoundError);
    await store.content.delete(img.layers[1].digest);
    await assert.rejects(store.setRef('x:1', img.descriptor), (e: unknown) => e instanceof NotFoundError && e.message.includes(img.layers[1].digest));
    await assert.rejects(store.setRef('x:1', { ...img.descriptor, size: img.descriptor.size + 1 }), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(store.setRef('', img.descriptor), BuildError);
    assert.equal(await fs.readFile(store.indexPath, 'utf8'), before);
  });

  it('resolves names, normalised names, image IDs, short IDs and manifest digests', async () => {
    const store = await newStore();
    const a = await writeTestImage(store.content, 10, 100);
    const b = await writeTestImage(store.content, 11, 100);
    await store.setRef('docker.io/library/app:1', a.descriptor);
    await store.setRef('docker.io/library/other:latest', b.descriptor);
    const untagged = await writeTestImage(store.content, 12, 100);

    const byName = await store.resolve('docker.io/library/app:1');
    assert.equal(byName.name, 'docker.io/library/app:1');
    assert.equal(byName.configDigest, a.config.digest);
    assert.equal(byName.manifestDescriptor.digest, a.descriptor.digest);
    assert.equal(byName.config.os, 'linux');
    assert.equal((await store.resolve('app:1')).configDigest, a.config.digest);
    assert.equal((await store.resolve('other')).configDigest, b.config.digest);
    assert.equal((await store.resolve(a.config.digest)).name, 'docker.io/library/app:1');
    assert.equal((await store.resolve(a.config.digest.slice(7, 19))).configDigest, a.config.digest);
    assert.equal((await store.resolve(`sha256:${b.config.digest.slice(7, 19)}`)).configDigest, b.config.digest);
    assert.equal((await store.resolve(a.descriptor.digest)).configDigest, a.config.digest);
    const u = await store.resolve(untagged.descriptor.digest);
    assert.equal(u.name, undefined);
    assert.equal(u.configDigest, untagged.config.digest);

    await assert.rejects(store.resolve('app:2'), (e: unknown) => e instanceof NotFoundError && /No such image: app:2/.test(e.message));
    await assert.rejects(store.resolve('ffffffffffff'), NotFoundError);
    await store.setRef('docker.io/library/app:1b', a.descriptor);
    assert.equal((await store.resolve(a.config.digest.slice(7, 11))).configDigest, a.config.digest, 'two refs to one image are not ambiguous');
  });

  it('reports an ambiguous short ID and resolves a longer one', async () => {
    const store = await newStore();
    const layer = await store.content.writeBytes('layer');
    const configOf = (n: number) => JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, n });
    // Birthday search (in memory) for two configs whose IDs share their first 4 hex digits.
    const seen = new Map<string, number>();
    let pair: [number, number] | undefined;
    for (let n = 0; n < 20_000 && !pair; n++) {
      const p = sha256(configOf(n)).slice(7, 11);
      const prev = seen.get(p);
      if (prev !== undefined) pair = [prev, n];
      seen.set(p, n);
    }
    assert.ok(pair);
    const ids: string[] = [];
    for (const n of pair) {
      const c = await store.content.writeBytes(configOf(n));
      const m = await store.content.writeBytes(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST, config: { mediaType: MediaTypes.OCI_CONFIG, digest: c.digest, size: c.size }, layers: [{ mediaType: MediaTypes.OCI_LAYER, digest: layer.digest, size: layer.size }] }),
      );
      await store.setRef(`docker.io/library/amb:${n}`, { mediaType: MediaTypes.OCI_MANIFEST, digest: m.digest, size: m.size });
      ids.push(c.digest);
    }
    await assert.rejects(store.resolve(ids[0].slice(7, 11)), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT' && /ambiguous/.test(e.message));
    assert.equal((await store.resolve(ids[1].slice(7, 19))).configDigest, ids[1]);
    await assert.rejects(store.resolve(ids[0].slice(7, 10)), NotFoundError, 'fewer than 4 digits is not an ID');
  });

  it('resolves an index to the host platform manifest', async () => {
    const store = await newStore();
    const host = await writeTestImage(store.content, 20, 100);
    const other = await writeTestImage(store.content, 21, 100);
    const hp = hostPlatform();
    const index = {
      schemaVersion: 2,
      mediaType: MediaTypes.OCI_INDEX,
      manifests: [
        { ...other.descriptor, platform: { os: 'linux', architecture: hp.architecture === 's390x' ? 'ppc64le' : 's390x' } },
        { ...host.descriptor, platform: hp },
      ],
    };
    const i = await store.content.writeBytes(JSON.stringify(index));
    await store.setRef('docker.io/library/multi:1', { mediaType: MediaTypes.OCI_INDEX, digest: i.digest, size: i.size });
    const r = await store.resolve('multi:1');
    assert.equal(r.descriptor.digest, i.digest);
    assert.equal(r.manifestDescriptor.digest, host.descriptor.digest);
    assert.equal(r.configDigest, host.config.digest);
  });

  it('keeps every tag when several processes set refs at once', async () => {
    const store = await newStore();
    const procs = Array.from({ length: 4 }, (_, i) => spawnWorker(['tag', store.root, `p${i}`, '5']));
    for (const o of await Promise.all(procs.map((p) => p.done))) assert.equal(o.code, 0, o.stderr);
    const idx = await readIndexFile(store); // parses: valid JSON
    const names = idx.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).sort();
    const want = [0, 1, 2, 3].flatMap((p) => [0, 1, 2, 3, 4].map((i) => `p${p}-${i}`)).sort();
    assert.deepEqual(names, want);
    assert.deepEqual(await check(store), []);
    assert.deepEqual(await fs.readdir(store.content.paths.ingest), []);
    await assert.rejects(fs.access(store.lockPath), 'the lock is released');
  });

  it('breaks a lock left by a dead process', async () => {
    const store = await newStore();
    const dead = spawnWorker(['write-blob', store.root, '1', '10']);
    const pid = dead.child.pid!;
    assert.equal((await dead.done).code, 0);
    await fs.writeFile(store.lockPath, JSON.stringify({ pid, token: 'dead' }));
    const desc = await writeImage(store.content, 5, 10);
    await store.setRef('after-dead-lock', desc);
    assert.deepEqual(await store.getRef('after-dead-lock'), desc);
    await assert.rejects(fs.access(store.lockPath));
  });

  it('waits for a live lock holder and times out with a BuildError naming it', async () => {
    const root = await tempRoot();
    roots.push(root);
    const store = await ImageStore.open(root, { lockTimeoutMs: 200 });
    await fs.writeFile(store.lockPath, JSON.stringify({ pid: process.ppid, token: 'live' }));
    const desc = await writeImage(store.content, 6, 10);
    await assert.rejects(store.setRef('blocked', desc), (e: unknown) => e instanceof BuildError && e.code === 'IO' && e.message.includes(`pid ${process.ppid}`));
    await fs.rm(store.lockPath);
    await store.setRef('blocked', desc);
  });

  it('survives SIGKILL at random points: check is clean and writing works afterwards', async () => {
    const store = await newStore();
    const r = rng(20240601);
    const iterations = 20;
    let interrupted = 0;
    for (let i = 0; i < iterations; i++) {
      const w = spawnWorker(['loop', store.root, String(i + 1)]);
      await new Promise<void>((resolve, reject) => {
        const onData = (c: Buffer) => {
          if (c.toString().includes('ready')) {
            w.child.stdout?.off('data', onData);
            resolve();
          }
        };
        w.child.stdout?.on('data', onData);
        w.done.then((o) => reject(new Error(`worker exited early: ${o.code} ${o.stderr}`)), reject);
      });
      await new Promise((res) => setTimeout(res, Math.floor(r() * 150)));
      w.child.kill('SIGKILL');
      const o = await w.done;
      assert.equal(o.signal, 'SIGKILL', o.stderr);
      // index.json always parses and every ref points at complete images.
      await readIndexFile(store);
      interrupted += (await store.content.removeStaleIngest()).length;
      assert.deepEqual(await check(store), [], `iteration ${i}`);
      assert.deepEqual(await fs.readdir(store.content.paths.ingest), [], 'check removed the dead writer\'s ingest files');
    }
    // About half the kills land mid-write (an ingest file is left); none at all would mean the test does not test.
    assert.ok(interrupted > 0, 'no kill interrupted a write');
    const desc = await writeImage(store.content, 99, 1000);
    await store.setRef('after-kills', desc);
    assert.equal((await store.resolve('after-kills')).manifestDescriptor.digest, desc.digest);
    assert.ok((await store.listRefs()).length >= 1);
  });
});


describe('ImageStore partial indexes', () => {
  it('tags an index with only some platforms stored, but not one with none', async () => {
    const store = await newStore();
    const host = await writeTestImage(store.content, 30, 100);
    const absent = { mediaType: MediaTypes.OCI_MANIFEST, digest: sha256('not stored'), size: 10, platform: { os: 'linux', architecture: 'riscv64' } };
    const partial = await store.content.writeBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: [absent, { ...host.descriptor, platform: hostPlatform() }] }));
    await store.setRef('partial:1', { mediaType: MediaTypes.OCI_INDEX, digest: partial.digest, size: partial.size });
    assert.deepEqual(await check(store), []);
    assert.equal((await store.resolve('partial:1')).configDigest, host.config.digest);
    const none = await store.content.writeBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: [absent] }));
    await assert.rejects(store.setRef('none:1', { mediaType: MediaTypes.OCI_INDEX, digest: none.digest, size: none.size }), (e: unknown) => e instanceof NotFoundError && /none of the 1 manifests/.test(e.message));
  });
});

describe('ImageStore lock age', () => {
  it('breaks a lock held far too long even if its pid is alive (pid reuse)', async () => {
    const store = await newStore();
    await fs.writeFile(store.lockPath, JSON.stringify({ pid: process.ppid, token: 'ancient' }));
    const old = new Date(Date.now() - 3_600_000);
    await fs.utimes(store.lockPath, old, old);
    const desc = await writeImage(store.content, 40, 10);
    await store.setRef('after-old-lock', desc);
    assert.deepEqual(await store.getRef('after-old-lock'), desc);
  });
});

describe('ImageStore resolve by name@digest', () => {
  it('finds a ref of the repository with that digest, or the manifest blob', async () => {
    const store = await newStore();
    const a = await writeTestImage(store.content, 50, 100);
    await store.setRef('docker.io/library/app:1', a.descriptor);
    const r = await store.resolve(`app@${a.descriptor.digest}`);
    assert.equal(r.name, 'docker.io/library/app:1');
    assert.equal(r.configDigest, a.config.digest);
    const untagged = await writeTestImage(store.content, 51, 100);
    assert.equal((await store.resolve(`other@${untagged.descriptor.digest}`)).configDigest, untagged.config.digest);
    await assert.rejects(store.resolve(`app@sha256:${'e'.repeat(64)}`), (e: unknown) => e instanceof NotFoundError && e.message.includes(`app@sha256:${'e'.repeat(64)}`));
  });
});
