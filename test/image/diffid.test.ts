/**
 * diffIDs are verified when a layer first enters the store or is extracted (issue 14): an
 * image whose config claims a diff_id its layer does not uncompress to (the compressed blob
 * itself valid, matching its descriptor) is refused by `load` (OCI layout directory and tar,
 * docker archive), by `pull` from the real registry, and by the extraction of a build FROM it
 * when a store already holds it; the error names the layer and both digests, nothing is tagged
 * and `system check` stays clean. `system check` reports such an image in a store that holds it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { runCli } from '../helpers/cli.js';
import { registryMissing, startRegistry, tarOf, type TestRegistry } from '../helpers/registry.js';
import { ImageStore } from '../../src/store/image-store.js';
import { push } from '../../src/registry/push.js';
import { chainId, createSnapshotter, ensureLayerChain } from '../../src/runtime/snapshotter.js';
import { isDigestMismatch } from '../../src/errors.js';
import { MediaTypes, type Descriptor, type Digest } from '../../src/oci/types.js';

const sha = (b: Buffer | string): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const notRoot = process.getuid?.() === 0 ? false : 'needs root (overlay snapshots)';

/** An image's blobs: one gzip layer whose config claims `claimedDiffId` (default: the true one). */
function imageBlobs(claimedDiffId?: Digest) {
  const tar = tarOf({ 'hello.txt': 'hello from the real layer\n' });
  const layer = gzipSync(tar);
  const diffId = sha(tar);
  const claimed = claimedDiffId ?? diffId;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [claimed] }, history: [{ created_by: 'test' }] }));
  const layerDesc: Descriptor = { mediaType: MediaTypes.OCI_LAYER_GZIP, digest: sha(layer), size: layer.length };
  const configDesc: Descriptor = { mediaType: MediaTypes.OCI_CONFIG, digest: sha(config), size: config.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST, config: configDesc, layers: [layerDesc] }));
  const manifestDesc: Descriptor = { mediaType: MediaTypes.OCI_MANIFEST, digest: sha(manifest), size: manifest.length };
  return { tar, layer, diffId, claimed, config, manifest, layerDesc, configDesc, manifestDesc, blobs: [layer, config, manifest] };
}

/** The wrong diffId used throughout: a real layer's, only not this one's. */
const WRONG = sha(tarOf({ 'other.txt': 'some other layer\n' }));

async function writeLayout(dir: string, img: ReturnType<typeof imageBlobs>, name: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const b of img.blobs) await fs.writeFile(path.join(dir, 'blobs', 'sha256', sha(b).slice(7)), b);
  await fs.writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await fs.writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...img.manifestDesc, annotations: { 'io.containerd.image.name': name } }] }));
}

/** Stores the image's blobs and names it `name` directly, as a store made before this check may hold it. */
async function storeDirectly(root: string, img: ReturnType<typeof imageBlobs>, name: string): Promise<ImageStore> {
  const store = await ImageStore.open(root);
  for (const b of img.blobs) await store.content.writeBytes(b);
  await store.setRef(name, img.manifestDesc);
  return store;
}

describe('diffIDs are verified on load, pull and extraction', { concurrency: false }, () => {
  let tmp: string;
  const bad = imageBlobs(WRONG);
  const cli = (root: string, args: string[]) => runCli(['--root', root, ...args], { env: { PATH: process.env.PATH } });

  /** The error of a refused image: names the layer blob and both digests, and is no internal error. */
  function assertMismatch(r: { code: number; out: string; err: string }): void {
    assert.notEqual(r.code, 0, r.out + r.err);
    assert.match(r.err, new RegExp(bad.layerDesc.digest.replace('sha256:', '')), r.err);
    assert.ok(r.err.includes(bad.diffId), `the true diffId is named:\n${r.err}`);
    assert.ok(r.err.includes(WRONG), `the claimed diffId is named:\n${r.err}`);
    assert.doesNotMatch(r.err, /bug in mybuild|at .*\.js:\d+/);
  }

  async function assertNothingTagged(root: string): Promise<void> {
    const images = await cli(root, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.doesNotMatch(images.out, /bad/, images.out);
    const insp = await cli(root, ['inspect', 'bad:1']);
    assert.notEqual(insp.code, 0);
    const check = await cli(root, ['system', 'check']);
    assert.equal(check.code, 0, check.out + check.err);
  }

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mybuild-diffid-'));
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('load -i of an OCI layout directory with a wrong diff_id fails, names the layer and both digests, tags nothing', async () => {
    const dir = path.join(tmp, 'bad-layout');
    await writeLayout(dir, bad, 'bad:1');
    const root = path.join(tmp, 'root-layout');
    assertMismatch(await cli(root, ['load', '-i', dir]));
    await assertNothingTagged(root);
    // The same layout with the true diff_id loads (so the refusal is for the diff_id alone).
    const good = path.join(tmp, 'good-layout');
    await writeLayout(good, imageBlobs(), 'good:1');
    const ok = await cli(root, ['load', '-i', good]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /Loaded image: good:1/);
  });

  it('load of the OCI layout as a tar, and of a docker archive, with a wrong diff_id fail the same way', async () => {
    const dir = path.join(tmp, 'bad-layout-tar');
    await writeLayout(dir, bad, 'bad:1');
    const file = path.join(tmp, 'bad-layout.tar');
    execFileSync('tar', ['-C', dir, '-cf', file, 'oci-layout', 'index.json', 'blobs']);
    const root = path.join(tmp, 'root-tar');
    assertMismatch(await cli(root, ['load', '-i', file]));
    await assertNothingTagged(root);

    const docker = path.join(tmp, 'docker');
    await fs.mkdir(docker);
    await fs.writeFile(path.join(docker, 'config.json'), bad.config);
    await fs.writeFile(path.join(docker, 'layer.tar'), bad.layer);
    await fs.writeFile(path.join(docker, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['bad:1'], Layers: ['layer.tar'] }]));
    const archive = path.join(tmp, 'bad-docker.tar');
    execFileSync('tar', ['-C', docker, '-cf', archive, 'manifest.json', 'config.json', 'layer.tar']);
    const r = await cli(root, ['load', '-i', archive]);
    assert.notEqual(r.code, 0);
    assert.ok(r.err.includes(bad.diffId) && r.err.includes(WRONG), r.err);
    await assertNothingTagged(root);
  });

  it('a build FROM such an image already in a store fails at extraction; no snapshot is committed; system check reports the image', { skip: notRoot }, async () => {
    const root = path.join(tmp, 'root-build');
    await storeDirectly(root, bad, 'docker.io/library/bad:1');
    const ctx = path.join(tmp, 'ctx');
    await fs.mkdir(ctx, { recursive: true });
    await fs.writeFile(path.join(ctx, 'f'), 'x');
    await fs.writeFile(path.join(ctx, 'Dockerfile'), 'FROM bad:1\nCOPY f /f\n');
    const r = await cli(root, ['build', '--progress', 'plain', '-t', 'built:1', ctx]);
    assertMismatch(r);
    const images = await cli(root, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.doesNotMatch(images.out, /built/);
    // The claimed ChainID (= the claimed diffId for a first layer) names no snapshot.
    const sn = await createSnapshotter(path.join(root, 'snapshots'));
    await assert.rejects(sn.stat(chainId([WRONG])));
    // system check finds the image the old store holds, and only it; once removed, the store is clean.
    const check = await cli(root, ['system', 'check']);
    assert.equal(check.code, 1, check.out + check.err);
    assert.deepEqual(check.out.trim().split('\n'), [`ref: ref docker.io/library/bad:1: image ${bad.manifestDesc.digest}: layer 1 (${bad.layerDesc.digest}) uncompresses to ${bad.diffId}, but the config's diff_ids[0] says ${WRONG}`]);
    assert.equal((await cli(root, ['rmi', 'bad:1'])).code, 0);
    const clean = await cli(root, ['system', 'check']);
    assert.equal(clean.code, 0, clean.out + clean.err);
  });

  it('ensureLayerChain refuses a layer whose bytes do not hash to its diffId and leaves no snapshot', { skip: notRoot }, async () => {
    const sn = await createSnapshotter(path.join(tmp, 'sn'));
    await assert.rejects(
      ensureLayerChain(sn, [{ diffId: WRONG, name: bad.layerDesc.digest, open: async () => Readable.from([bad.tar]) }]),
      (e: unknown) => isDigestMismatch(e) && (e as Error).message.includes(bad.diffId) && (e as Error).message.includes(WRONG) && (e as Error).message.includes(bad.layerDesc.digest),
    );
    await assert.rejects(sn.stat(WRONG));
    assert.deepEqual((await sn.list()).map((s) => s.name), []);
    // The true diffId extracts.
    assert.equal(await ensureLayerChain(sn, [{ diffId: bad.diffId, open: async () => Readable.from([bad.tar]) }]), bad.diffId);
  });

  describe('pull', { skip: registryMissing }, () => {
    let reg: TestRegistry;
    before(async () => {
      reg = await startRegistry();
    });
    after(async () => {
      await reg?.stop();
    });

    it('pull of an image with a wrong diff_id fails and names nothing', async () => {
      const src = await storeDirectly(path.join(tmp, 'root-push-src'), bad, 'docker.io/library/bad:1');
      const name = `${reg.domain}/diffid/bad:1`;
      await push(name, src.content, bad.manifestDesc);
      const root = path.join(tmp, 'root-pull');
      const r = await cli(root, ['pull', name]);
      assertMismatch(r);
      const images = await cli(root, ['images']);
      assert.doesNotMatch(images.out, /diffid/);
      const check = await cli(root, ['system', 'check']);
      assert.equal(check.code, 0, check.out + check.err);
      assert.ok(readdirSync(root).length > 0);
    });
  });
});
