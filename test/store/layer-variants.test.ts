/**
 * Lazy layer compression (issue 21, src/store/layer-variants.ts), through the CLI with the real
 * registry (Debian's docker-registry), skopeo and umoci: a build stores its layers uncompressed
 * and writes no gzip blob; a push makes each layer's gzip variant once, records it and reuses it
 * (a second push, an OCI export and a prune make no new blob); the pushed manifest of a
 * SOURCE_DATE_EPOCH build is the one main (which gzipped while it built) pushed; prune keeps the
 * variants of live images and drops those of removed ones; an image loaded from a docker archive
 * is pushed gzipped; `images` shows uncompressed sizes and `system df` counts shared layers once.
 */
import assert from 'node:assert/strict';
import { open, readdir, readFile, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../../src/oci/types.js';
import { ImageStore } from '../../src/store/image-store.js';
import { buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, writeContext } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { registryMissing, run, skopeoMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const DOCKER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/**
 * The manifest digest main (commit dcfd385, layers gzipped while building) pushed for this
 * build with SOURCE_DATE_EPOCH=1000 (same config: image ID sha256:7875a466…).
 */
const MAIN_PUSHED_DIGEST = 'sha256:888035a00ace4b157f49f0242f7dc816adae8d4a3b684876d82f6d732354ef8c';
const MAIN_IMAGE_ID = 'sha256:7875a466cf1cff124d562edf65e9804b97071a96b4fc8086a5cd44e99cb63c82';

const skip = buildSkipReason() || registryMissing || skopeoMissing;

/** Digests of the blobs in the store whose bytes start with the gzip magic. */
async function gzipBlobs(root: string): Promise<Set<string>> {
  const dir = path.join(root, 'oci', 'blobs', 'sha256');
  const out = new Set<string>();
  for (const hex of await readdir(dir)) {
    const fh = await open(path.join(dir, hex), 'r');
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    await fh.close();
    if (b[0] === 0x1f && b[1] === 0x8b) out.add(`sha256:${hex}`);
  }
  return out;
}

async function blobCount(root: string): Promise<number> {
  return (await readdir(path.join(root, 'oci', 'blobs', 'sha256'))).length;
}

/** Variant record files under <root>/variants, with their mtimes. */
async function variantRecords(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const dir = path.join(root, 'variants');
  let dirs: string[] = [];
  try {
    dirs = await readdir(dir);
  } catch {
    return out;
  }
  for (const d of dirs) {
    if (!/^[0-9a-f]{64}$/.test(d)) continue;
    for (const f of await readdir(path.join(dir, d))) out.set(`${d}/${f}`, (await stat(path.join(dir, d, f))).mtimeMs);
  }
  return out;
}

describe('lazy layer compression', { skip }, () => {
  let reg: TestRegistry;
  let root: string;
  let ctx: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    reg = await startRegistry('anonymous');
    root = await makeStoreRoot();
    ctx = await writeContext({ Dockerfile: 'FROM busybox\nCOPY f /f\nRUN echo built > /built && mkdir -p /d && echo x > /d/y\nWORKDIR /w\n', f: 'lazy f\n'.repeat(5000) });
    for (const p of ['f', 'Dockerfile', '.']) await utimes(path.join(ctx, p), 1000, 1000);
    // buildx's default provenance on --push (test/registry/provenance-e2e.test.ts) left out: these tests look at the image itself.
    env = { PATH: process.env.PATH, HOME: root, DOCKER_CONFIG: `${root}/docker`, SOURCE_DATE_EPOCH: '1000', BUILDX_NO_DEFAULT_ATTESTATIONS: '1' };
  });
  after(async () => {
    await reg?.stop();
    await cleanupTemp();
  });
  const cli = async (...args: string[]) => {
    const r = await runCli(['--root', root, ...args], { env });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const remote = async (ref: string) => JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`])) as Manifest;

  it('a build writes no gzip blob: its layers are stored as plain tars (digest = diffID)', async () => {
    const before = await gzipBlobs(root);
    const id = (await cli('build', '-q', '-t', 'lazy:1', ctx)).trim();
    assert.equal(id, MAIN_IMAGE_ID, 'the image ID does not depend on compression');
    assert.deepEqual([...(await gzipBlobs(root))].filter((d) => !before.has(d)), [], 'no new gzip blob');
    const img = await (await ImageStore.open(root)).resolve('lazy:1');
    assert.deepEqual(img.manifest.layers.map((l) => l.mediaType), [GZIP, TAR, TAR, TAR], 'busybox keeps its gzip layer');
    assert.deepEqual(img.manifest.layers.slice(1).map((l) => l.digest), img.config.rootfs.diff_ids.slice(1));
    assert.equal((await variantRecords(root)).size, 0, 'no variant made yet');
  });

  it('push makes each gzip variant once: the manifest main pushed; a second push reuses the variants', async () => {
    const before = await blobCount(root);
    await cli('tag', 'lazy:1', `${reg.domain}/lazy:1`);
    await cli('push', `${reg.domain}/lazy:1`);
    const m = await remote(`${reg.domain}/lazy:1`);
    assert.deepEqual(m.layers.map((l) => l.mediaType), [GZIP, GZIP, GZIP, GZIP]);
    const digest = (await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${reg.domain}/lazy:1`])).trim();
    assert.equal(digest, MAIN_PUSHED_DIGEST, 'same pushed manifest as before lazy compression');
    const variants = await variantRecords(root);
    assert.equal(variants.size, 3, [...variants.keys()].join(' '));
    assert.ok([...variants.keys()].every((k) => k.endsWith('/gzip-6')));
    const afterFirst = await blobCount(root);
    assert.equal(afterFirst, before + 4, '3 gzip layers and the pushed manifest');
    // inspect's RepoDigests: the digest the registry serves.
    const inspect = JSON.parse(await cli('inspect', `${reg.domain}/lazy:1`)) as { RepoDigests: string[] }[];
    assert.ok(inspect[0].RepoDigests.includes(`${reg.domain}/lazy@${MAIN_PUSHED_DIGEST}`), inspect[0].RepoDigests.join(' '));
    // Second push to another repository: no recompression, no new blob, records untouched.
    await cli('tag', 'lazy:1', `${reg.domain}/other:1`);
    await cli('push', `${reg.domain}/other:1`);
    assert.equal(await blobCount(root), afterFirst);
    assert.deepEqual(await variantRecords(root), variants);
    assert.equal((await remote(`${reg.domain}/other:1`)).layers[1].digest, m.layers[1].digest);
    // A build with --push of the same image: same digest, still no new blob.
    const b = await runCli(['--root', root, 'build', '--progress', 'plain', '-t', `${reg.domain}/third:1`, '--push', ctx], { env });
    assert.equal(b.code, 0, b.err);
    assert.match(b.out + b.err, new RegExp(`push manifest ${MAIN_PUSHED_DIGEST}`));
    assert.equal(await blobCount(root), afterFirst);
  });

  it('--output type=oci gives gzip layers that skopeo and umoci read, from the kept variants', async () => {
    const n = await blobCount(root);
    const dir = path.join(await tempDir(), 'layout');
    await cli('build', '-q', '--output', `type=oci,tar=false,dest=${dir}`, ctx);
    assert.equal(await blobCount(root), n, 'no new blob: the variants were reused');
    const raw = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci:${dir}:latest`])) as Manifest;
    assert.deepEqual(raw.layers.map((l) => l.mediaType), [GZIP, GZIP, GZIP, GZIP]);
    const bundle = path.join(path.dirname(dir), 'bundle');
    await run('umoci', ['unpack', '--image', `${dir}:latest`, bundle]);
    assert.equal(await readFile(path.join(bundle, 'rootfs', 'f'), 'utf8'), 'lazy f\n'.repeat(5000));
    assert.equal(await readFile(path.join(bundle, 'rootfs', 'd', 'y'), 'utf8'), 'x\n');
    // save --format oci: gzip layers too.
    const tar = path.join(path.dirname(dir), 'saved.tar');
    await cli('save', '--format', 'oci', '-o', tar, 'lazy:1');
    const saved = JSON.parse(await run('skopeo', ['inspect', '--raw', `oci-archive:${tar}`])) as Manifest;
    assert.equal(saved.layers[2].mediaType, GZIP);
    assert.equal(await blobCount(root), n);
  });

  it('prune keeps the variants of live images and drops those of removed ones', async () => {
    const variants = await variantRecords(root);
    const gz = await gzipBlobs(root);
    await cli('prune');
    assert.deepEqual(await variantRecords(root), variants, 'live image: variants kept');
    assert.deepEqual(await gzipBlobs(root), gz);
    await cli('tag', 'lazy:1', `${reg.domain}/fourth:1`);
    await cli('push', `${reg.domain}/fourth:1`);
    // Only the (unreferenced, pruned) distribution manifest is written again: no layer is recompressed.
    assert.deepEqual(await gzipBlobs(root), gz, 'push after prune: no recompression');
    assert.deepEqual(await variantRecords(root), variants);
    for (const name of ['lazy:1', `${reg.domain}/lazy:1`, `${reg.domain}/other:1`, `${reg.domain}/third:1`, `${reg.domain}/fourth:1`]) await cli('rmi', name);
    await cli('prune', '-a');
    assert.equal((await variantRecords(root)).size, 0, 'removed image: variant records dropped');
    const left = await gzipBlobs(root);
    const store = await ImageStore.open(root);
    const busybox = (await store.resolve('busybox')).manifest.layers[0].digest;
    assert.deepEqual([...left], [busybox], 'only the base image gzip layer is left');
  });

  it('an image loaded from a docker archive is pushed gzipped', async () => {
    const r2 = await makeStoreRoot();
    const tar = path.join(await tempDir(), 'docker.tar');
    await cli('build', '-q', '-t', 'arch:1', ctx);
    await cli('save', '-o', tar, 'arch:1');
    const load = await runCli(['--root', r2, 'load', '-i', tar], { env });
    assert.equal(load.code, 0, load.err);
    assert.equal((await runCli(['--root', r2, 'tag', 'arch:1', `${reg.domain}/arch:1`], { env })).code, 0);
    const p = await runCli(['--root', r2, 'push', `${reg.domain}/arch:1`], { env });
    assert.equal(p.code, 0, p.err);
    const m = await remote(`${reg.domain}/arch:1`);
    for (const l of m.layers) assert.ok(l.mediaType === DOCKER_GZIP || l.mediaType === GZIP, l.mediaType);
  });

  it('images shows uncompressed sizes; system df counts a layer shared by several tags once', async () => {
    const store = await ImageStore.open(root);
    const img = await store.resolve('arch:1');
    const plain = img.manifest.layers.slice(1).reduce((n, l) => n + l.size, 0);
    const { images } = await store.listImages();
    const row = images.find((i) => i.name === 'docker.io/library/arch:1')!;
    assert.ok(row.size > img.manifest.layers.reduce((n, l) => n + l.size, 0), `uncompressed ${row.size} > compressed sum`);
    assert.ok(row.size > plain + 2_000_000, 'busybox counts uncompressed (its gzip ISIZE)');
    const df1 = await cli('system', 'df');
    for (let i = 0; i < 5; i++) await cli('tag', 'arch:1', `many:${i}`);
    const df2 = await cli('system', 'df');
    const imagesLine = (s: string) => s.split('\n').find((l) => l.startsWith('Images'))!.replace(/\s+/g, ' ');
    assert.equal(imagesLine(df2), imagesLine(df1), `${df1}\n${df2}`);
  });
});
