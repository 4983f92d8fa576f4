import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportOciLayout, refAnnotations } from '../../src/image/formats/oci-layout.js';
import { exportDockerArchive } from '../../src/image/formats/docker-archive.js';
import { importArchive, importRootfs } from '../../src/image/formats/import.js';
import { validateImage } from '../../src/image/validate.js';
import { readImage, serializeIndex, writeImage } from '../../src/image/manifest.js';
import { appendHistory, withContainerConfig } from '../../src/image/config.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { resolveImageManifest } from '../../src/image/formats/walk.js';
import { MediaTypes } from '../../src/oci/types.js';
import { BuildError } from '../../src/errors.js';
import { DirStore } from './dir-store.js';
import { smallImage } from './images.js';

function have(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}
const noSkopeo = have('skopeo') ? false : 'skopeo is not installed (scripts/install-system-deps.sh)';
const noUmoci = have('umoci') ? false : 'umoci is not installed (scripts/install-system-deps.sh)';
const notRoot = process.getuid?.() === 0 ? false : 'umoci unpack needs root here';

function skopeo(...args: string[]): string {
  return execFileSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('image formats', () => {
  let store: DirStore;
  let tmp: string;
  before(async () => {
    store = await DirStore.create();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mybuild-formats-'));
  });
  after(async () => {
    await store.cleanup();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('exports an OCI layout directory that skopeo inspects and umoci unpacks', { skip: noSkopeo || noUmoci || notRoot }, async () => {
    const img = await smallImage(store);
    const dir = path.join(tmp, 'layout');
    await exportOciLayout(store, [{ name: 'app:1', descriptor: img.manifestDescriptor }], dir, { tar: false });
    const info = JSON.parse(skopeo('inspect', `oci:${dir}:1`)) as { Digest: string; Layers: string[]; Env: string[] };
    assert.equal(info.Digest, img.manifestDescriptor.digest);
    assert.deepEqual(info.Layers, [img.layer.descriptor.digest]);
    assert.deepEqual(info.Env, ['PATH=/usr/bin:/bin']);
    const bundle = path.join(tmp, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${dir}:1`, bundle], { stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(await fs.readFile(path.join(bundle, 'rootfs', 'etc', 'hello'), 'utf8'), 'hello from a test image\n');
    // A second export into the same layout keeps the first tag and replaces a reused one.
    // (skopeo's oci: transport only sees OCI-typed manifests, so the second image is OCI too.)
    const second = await writeImage(store, withContainerConfig(img.config, { User: 'nobody' }), [img.layer.descriptor]);
    await exportOciLayout(store, [{ name: 'app:2', descriptor: img.manifestDescriptor }], dir, { tar: false });
    await exportOciLayout(store, [{ name: 'app:2', descriptor: second.manifestDescriptor }], dir, { tar: false });
    const index = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    assert.deepEqual(
      index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest]),
      [
        ['1', img.manifestDescriptor.digest],
        ['2', second.manifestDescriptor.digest],
      ],
    );
    assert.equal((JSON.parse(skopeo('inspect', `oci:${dir}:2`)) as { Digest: string }).Digest, second.manifestDescriptor.digest);
  });

  it('exports a deterministic OCI layout tar that skopeo reads and we load back', { skip: noSkopeo }, async () => {
    const img = await smallImage(store);
    const a = path.join(tmp, 'a.tar');
    const b = path.join(tmp, 'b.tar');
    await exportOciLayout(store, [{ name: 'x', descriptor: img.manifestDescriptor }], a, { tar: true });
    await exportOciLayout(store, [{ name: 'x', descriptor: img.manifestDescriptor }], b, { tar: true });
    assert.deepEqual(await fs.readFile(a), await fs.readFile(b));
    const info = JSON.parse(skopeo('inspect', `oci-archive:${a}:x`)) as { Digest: string };
    assert.equal(info.Digest, img.manifestDescriptor.digest);
    const other = await DirStore.create();
    try {
      const { images } = await importArchive(other, a);
      assert.deepEqual(images, [{ names: ['x'], manifestDescriptor: img.manifestDescriptor, configDigest: img.configDescriptor.digest }]);
      await validateImage(other, img.manifestDescriptor.digest);
    } finally {
      await other.cleanup();
    }
  });

  it('writes a docker archive that skopeo copies, and loads it back with the same image ID', { skip: noSkopeo }, async () => {
    const img = await smallImage(store);
    const file = path.join(tmp, 'docker.tar');
    await exportDockerArchive(store, [{ names: ['app:1'], descriptor: img.manifestDescriptor }], file);
    const listing = execFileSync('tar', ['-tf', file], { encoding: 'utf8' });
    assert.match(listing, /^manifest\.json$/m);
    const out = path.join(tmp, 'from-docker');
    skopeo('copy', `docker-archive:${file}`, `oci:${out}:x`);
    const info = JSON.parse(skopeo('inspect', '--config', `oci:${out}:x`)) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(info.rootfs.diff_ids, img.config.rootfs.diff_ids);
    // It is an OCI layout too (as Docker 25+ writes), with uncompressed layers.
    const asOci = JSON.parse(skopeo('inspect', `oci-archive:${file}:1`)) as { Layers: string[] };
    assert.deepEqual(asOci.Layers, img.config.rootfs.diff_ids);
    const other = await DirStore.create();
    try {
      const { images } = await importArchive(other, createReadStream(file));
      assert.equal(images.length, 1);
      assert.deepEqual(images[0].names, ['app:1']);
      assert.equal(images[0].configDigest, img.configDescriptor.digest);
      const { manifest } = await validateImage(other, images[0].manifestDescriptor.digest);
      assert.equal(manifest.mediaType, MediaTypes.DOCKER_MANIFEST);
      assert.equal(manifest.layers[0].mediaType, MediaTypes.DOCKER_LAYER);
      assert.equal(manifest.layers[0].digest, img.config.rootfs.diff_ids[0]);
    } finally {
      await other.cleanup();
    }
  });

  it('loads skopeo-made OCI layouts and docker archives with identical config digests', { skip: noSkopeo }, async () => {
    const img = await smallImage(store);
    const dir = path.join(tmp, 'src-layout');
    await exportOciLayout(store, [{ name: 'src', descriptor: img.manifestDescriptor }], dir, { tar: false });
    const skDir = path.join(tmp, 'skopeo-layout');
    const skTar = path.join(tmp, 'skopeo-docker.tar');
    skopeo('copy', `oci:${dir}:src`, `oci:${skDir}:copied`);
    skopeo('copy', `oci:${dir}:src`, `docker-archive:${skTar}:example.com/app:2`);
    for (const input of [skDir, skTar]) {
      const other = await DirStore.create();
      try {
        const { images } = await importArchive(other, input);
        assert.equal(images.length, 1, input);
        assert.equal(images[0].configDigest, img.configDescriptor.digest, input);
        assert.deepEqual(images[0].names, [input === skDir ? 'copied' : 'example.com/app:2']);
        await validateImage(other, images[0].manifestDescriptor.digest);
      } finally {
        await other.cleanup();
      }
    }
  });

  it('writes deterministic docker archives, sharing layers between images, from an index', async () => {
    const img = await smallImage(store);
    const cfg2 = appendHistory(img.config, { created_by: 'LABEL second=1' });
    const second = await writeImage(store, withContainerConfig(cfg2, { Labels: { second: '1' } }), [img.layer.descriptor]);
    const index = await store.writeBytes(
      serializeIndex({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: [{ ...second.manifestDescriptor, platform: hostPlatform() }, { ...img.manifestDescriptor, platform: { os: 'linux', architecture: 'made-up' } }] }),
    );
    const indexDesc = { mediaType: MediaTypes.OCI_INDEX, digest: index.digest, size: index.size };
    const images = [
      { names: ['app:1', 'app:latest'], descriptor: img.manifestDescriptor },
      { names: [], descriptor: indexDesc },
    ];
    const a = path.join(tmp, 'two-a.tar');
    const b = path.join(tmp, 'two-b.tar');
    await exportDockerArchive(store, images, a);
    await exportDockerArchive(store, images, b);
    assert.deepEqual(await fs.readFile(a), await fs.readFile(b));
    const listing = execFileSync('tar', ['-tf', a], { encoding: 'utf8' }).trim().split('\n');
    const layerFile = `blobs/sha256/${img.config.rootfs.diff_ids[0].slice(7)}`;
    assert.equal(listing.filter((l) => l === layerFile).length, 1, 'shared layer written once');
    const other = await DirStore.create();
    try {
      // index.json names the index of both platforms (manifest.json, for docker load, only the
      // host's): the archive is loaded from index.json, keeping the index.
      const { images: got } = await importArchive(other, a);
      assert.deepEqual(
        got.map((g) => [g.names, g.manifestDescriptor.mediaType]),
        [
          [['docker.io/library/app:1', 'docker.io/library/app:latest'], MediaTypes.OCI_MANIFEST],
          [[], MediaTypes.OCI_INDEX],
        ],
      );
      assert.equal(got[0].configDigest, img.configDescriptor.digest);
      const host = await resolveImageManifest(other, got[1].manifestDescriptor);
      assert.equal(host.manifest.config.digest, second.configDescriptor.digest);
      const madeUp = await resolveImageManifest(other, got[1].manifestDescriptor, { os: 'linux', architecture: 'made-up' });
      assert.equal(madeUp.manifest.config.digest, img.configDescriptor.digest);
      for (const d of [got[0].manifestDescriptor, host.descriptor, madeUp.descriptor]) await validateImage(other, d.digest);
      const entries = JSON.parse(execFileSync('tar', ['-xOf', a, 'manifest.json'], { encoding: 'utf8' })) as { Config: string }[];
      assert.deepEqual(entries.map((e) => e.Config.slice(13)), [img.configDescriptor.digest.slice(7), second.configDescriptor.digest.slice(7)]);
    } finally {
      await other.cleanup();
    }
    await assert.rejects(exportDockerArchive(store, [{ names: [], descriptor: { ...img.manifestDescriptor, digest: `sha256:${'2'.repeat(64)}` } }], path.join(tmp, 'missing.tar')), (e: unknown) => e instanceof BuildError && e.code === 'NOT_FOUND');
    await assert.rejects(fs.stat(path.join(tmp, 'missing.tar')), 'no partial file');
  });

  it('names layout entries as BuildKit does', () => {
    assert.deepEqual(refAnnotations('x'), { 'org.opencontainers.image.ref.name': 'x' });
    assert.deepEqual(refAnnotations('app:1'), { 'io.containerd.image.name': 'docker.io/library/app:1', 'org.opencontainers.image.ref.name': '1' });
    assert.deepEqual(refAnnotations('localhost:5000/a/b'), { 'io.containerd.image.name': 'localhost:5000/a/b:latest', 'org.opencontainers.image.ref.name': 'latest' });
    assert.deepEqual(refAnnotations(`app@sha256:${'a'.repeat(64)}`), { 'io.containerd.image.name': `docker.io/library/app@sha256:${'a'.repeat(64)}` });
  });

  it('rejects archives with corrupt or missing blobs', async () => {
    const img = await smallImage(store);
    const dir = path.join(tmp, 'corrupt');
    await exportOciLayout(store, [{ name: 'c', descriptor: img.manifestDescriptor }], dir, { tar: false });
    const layerPath = path.join(dir, 'blobs', 'sha256', img.layer.descriptor.digest.slice(7));
    const bytes = await fs.readFile(layerPath);
    bytes[bytes.length - 5] ^= 0xff;
    await fs.writeFile(layerPath, bytes);
    const other = await DirStore.create();
    try {
      await assert.rejects(importArchive(other, dir), (e: unknown) => e instanceof BuildError && e.code === 'DIGEST_MISMATCH');
      await fs.rm(layerPath);
      await assert.rejects(importArchive(other, dir), (e: unknown) => e instanceof BuildError && e.code === 'NOT_FOUND' && /lacks blob/.test(e.message));
      const junk = path.join(tmp, 'junk.tar');
      await fs.writeFile(junk, 'not a tar at all'.repeat(100));
      await assert.rejects(importArchive(other, junk), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT');
    } finally {
      await other.cleanup();
    }
  });

  it('imports a compressed rootfs tarball as a one-layer image with changes', async () => {
    const root = path.join(tmp, 'rootfs');
    await fs.mkdir(path.join(root, 'bin'), { recursive: true });
    await fs.writeFile(path.join(root, 'bin', 'tool'), 'tool\n');
    for (const [flag, ext] of [['-z', 'gz'], ['-J', 'xz'], ['-j', 'bz2']] as const) {
      const tarball = path.join(tmp, `rootfs.tar.${ext}`);
      execFileSync('tar', [flag, '-cf', tarball, '-C', root, '.']);
      const img = await importRootfs(store, tarball, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, changes: ['CMD ["/bin/tool"]', 'ENV A=1 B="two words"', 'EXPOSE 8080'], sourceDateEpoch: 0 });
      await validateImage(store, img.manifestDescriptor.digest);
      const { config } = await readImage(store, img.manifestDescriptor.digest);
      assert.deepEqual(config.config?.Cmd, ['/bin/tool']);
      assert.deepEqual(config.config?.Env, ['A=1', 'B=two words']);
      assert.deepEqual(config.config?.ExposedPorts, { '8080/tcp': {} });
      assert.equal(config.architecture, 'arm64');
      assert.equal(config.variant, 'v8');
      assert.deepEqual(config.history, [{ created: '1970-01-01T00:00:00Z', comment: `Imported from ${tarball}` }]);
    }
    await assert.rejects(
      importRootfs(store, path.join(tmp, 'rootfs', 'bin', 'tool'), { platform: { os: 'linux', architecture: 'amd64' } }),
      /is not a tar archive/,
    );
    const gz = await fs.readFile(path.join(tmp, 'rootfs.tar.gz'));
    const truncated = path.join(tmp, 'truncated.tar.gz');
    await fs.writeFile(truncated, gz.subarray(0, gz.length - 20));
    await assert.rejects(
      importRootfs(store, truncated, { platform: { os: 'linux', architecture: 'amd64' } }),
      (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT' && /could not read .*truncated\.tar\.gz \(gzip\)/.test(e.message),
    );
    await assert.rejects(importRootfs(store, path.join(tmp, 'rootfs.tar.gz'), { platform: { os: 'linux', architecture: 'amd64' }, changes: ['RUN x'] }), /RUN is not allowed/);
  });
});
