/** Outputs read back by real tools (skopeo, umoci, tar), --format docker, and a hostile base layer. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, toolSkipReason } from '../helpers/build.js';
import { importRootfs } from '../../src/image/formats/import.js';
import { ImageStore } from '../../src/store/image-store.js';
import { hostPlatform } from '../../src/oci/platform.js';

const skip = buildSkipReason();
const toolSkip = toolSkipReason('skopeo', 'umoci', 'tar');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}:\n${r.stderr}`);
  return r.stdout;
}

describe('builder: outputs', { skip: skip || toolSkip }, () => {
  let root: string;
  const files = { Dockerfile: 'FROM busybox\nRUN echo built > /built\nCOPY f /f\nLABEL l=v\nCMD ["cat", "/built"]\n', f: 'file f\n' };
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('type=oci,tar=false: skopeo inspects it and umoci unpacks it', async () => {
    const dir = path.join(await tempDir('mybuild-out-'), 'layout');
    const r = await buildFiles(root, files, { tags: ['out:1'], outputs: [{ type: 'oci', dest: dir, tar: false }] });
    const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
    const ref: string = index.manifests[0].annotations['org.opencontainers.image.ref.name'];
    assert.ok(ref === '1' || ref === 'docker.io/library/out:1', `ref.name ${ref}`);
    const info = JSON.parse(run('skopeo', ['inspect', `oci:${dir}:${ref}`]));
    assert.equal(info.Digest, (await r.distributable()).digest, 'the export has the gzip layers a push sends');
    assert.equal(info.Labels.l, 'v');
    const bundle = path.join(await tempDir('mybuild-umoci-'), 'b');
    run('umoci', ['unpack', '--image', `${dir}:${ref}`, bundle]);
    assert.equal(readFileSync(path.join(bundle, 'rootfs', 'built'), 'utf8'), 'built\n');
    assert.equal(readFileSync(path.join(bundle, 'rootfs', 'f'), 'utf8'), 'file f\n');
  });

  it('type=oci tar: skopeo reads the oci-archive; type=docker: skopeo copies the docker-archive', async () => {
    const out = await tempDir('mybuild-out-');
    const ociTar = path.join(out, 'img.tar');
    const dockerTar = path.join(out, 'docker.tar');
    const r = await buildFiles(root, files, { tags: ['out:2'], outputs: [{ type: 'oci', dest: ociTar, tar: true }, { type: 'docker', dest: dockerTar }] });
    const info = JSON.parse(run('skopeo', ['inspect', `oci-archive:${ociTar}`]));
    assert.equal(info.Digest, (await r.distributable()).digest, 'the export has the gzip layers a push sends');
    const copied = path.join(out, 'copied');
    run('skopeo', ['copy', `docker-archive:${dockerTar}`, `oci:${copied}:x`]);
    const cfg = JSON.parse(run('skopeo', ['inspect', '--config', `oci:${copied}:x`]));
    assert.deepEqual(cfg.config.Cmd, ['cat', '/built']);
    assert.deepEqual(cfg.rootfs.diff_ids, r.config.rootfs.diff_ids);
  });

  it('type=local and type=tar give the root filesystem', async () => {
    const out = await tempDir('mybuild-out-');
    const local = path.join(out, 'local');
    const tarFile = path.join(out, 'fs.tar');
    await buildFiles(root, files, { outputs: [{ type: 'local', dest: local }, { type: 'tar', dest: tarFile }] });
    assert.equal(readFileSync(path.join(local, 'built'), 'utf8'), 'built\n');
    assert.ok(existsSync(path.join(local, 'bin', 'busybox')));
    const list = run('tar', ['-tf', tarFile]).split('\n');
    assert.ok(list.includes('./built') && list.includes('./f'), list.slice(0, 20).join(' '));
  });

  it('--format docker writes Docker schema2 media types', async () => {
    const r = await buildFiles(root, files, { format: 'docker' });
    assert.equal(r.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(r.manifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
    // Stored: the base's gzip layer, the build's own uncompressed; pushed: all gzip.
    assert.deepEqual(r.manifest.layers.map((l) => l.mediaType), ['application/vnd.docker.image.rootfs.diff.tar.gzip', ...Array(r.manifest.layers.length - 1).fill('application/vnd.docker.image.rootfs.diff.tar')]);
    const pushed = (await r.distributable()).manifest;
    assert.equal(pushed.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    for (const l of pushed.layers) assert.equal(l.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  });

  it('a crafted base layer cannot write outside its snapshot', async () => {
    const hostDir = await tempDir('mybuild-host-');
    const outside = path.join(hostDir, 'outside');
    mkdirSync(outside);
    const pack = tarStream.pack();
    const entry = (h: Partial<tarStream.Header> & { name: string }, body = '') => new Promise<void>((res, rej) => pack.entry(h as tarStream.Header, body, (e) => (e ? rej(e) : res())));
    await entry({ name: 'bin/', type: 'directory', mode: 0o755 });
    await entry({ name: 'evil', type: 'symlink', linkname: outside });
    await entry({ name: 'evil/pwned', type: 'file', mode: 0o644 }, 'through the symlink');
    await entry({ name: `../../../../../../..${outside}/pwned2`, type: 'file', mode: 0o644 }, 'dot dot');
    await entry({ name: 'hard', type: 'link', linkname: `../../../../../..${outside}/target` });
    pack.finalize();
    const store = await ImageStore.open(root);
    const img = await importRootfs(store.content, Readable.from(pack), { platform: hostPlatform() });
    await store.setRef('docker.io/library/crafted:1', img.manifestDescriptor);
    let err: unknown;
    try {
      await buildFiles(root, { Dockerfile: 'FROM crafted:1\nCOPY f /f\n', f: 'x' }, { outputs: [{ type: 'local', dest: path.join(hostDir, 'local') }] });
    } catch (e) {
      err = e;
    }
    assert.deepEqual(readdirSync(outside), [], `nothing written outside (build ${err ? `failed: ${(err as Error).message}` : 'succeeded'})`);
  });
});
