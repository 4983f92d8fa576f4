import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { exportDockerArchive } from '../../src/image/formats/docker-archive.js';
import { importArchive } from '../../src/image/formats/import.js';
import { validateImage } from '../../src/image/validate.js';
import { DirStore } from './dir-store.js';
import { smallImage } from './images.js';

const noSkopeo = spawnSync('skopeo', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'skopeo is not installed';

function cli(args: string[], root: string, stdin?: NodeJS.ReadableStream) {
  return runCli(['--root', root, ...args], { stdin, env: { ...process.env, SOURCE_DATE_EPOCH: '0' } });
}

describe('load, save and import commands', () => {
  let tmp: string;
  let root: string;
  let src: DirStore;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mybuild-cli-image-'));
    root = path.join(tmp, 'root');
    src = await DirStore.create();
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
    await src.cleanup();
  });

  it('loads a docker archive from a file and from stdin, and saves it again', { skip: noSkopeo }, async () => {
    const img = await smallImage(src);
    const archive = path.join(tmp, 'in.tar');
    await exportDockerArchive(src, [{ names: ['app:1'], descriptor: img.manifestDescriptor }], archive);
    let r = await cli(['load', '-i', archive], root);
    assert.equal(r.err, '');
    assert.equal(r.out, 'Loaded image: app:1\n');
    assert.equal(r.code, 0);
    r = await cli(['load'], root, createReadStream(archive));
    assert.equal(r.out, 'Loaded image: app:1\n');

    const saved = path.join(tmp, 'saved.tar');
    r = await cli(['save', '-o', saved, 'app:1'], root);
    assert.equal(r.code, 0, r.err);
    const info = JSON.parse(execFileSync('skopeo', ['--insecure-policy', 'inspect', '--config', `docker-archive:${saved}`], { encoding: 'utf8' })) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(info.rootfs.diff_ids, img.config.rootfs.diff_ids);
    const back = await DirStore.create();
    try {
      const { images } = await importArchive(back, saved);
      assert.equal(images[0].configDigest, img.configDescriptor.digest);
      assert.deepEqual(images[0].names, ['app:1']);
    } finally {
      await back.cleanup();
    }
  });

  it('imports a rootfs tarball, tags it and prints its ID', async () => {
    const rootfs = path.join(tmp, 'rootfs');
    await fs.mkdir(rootfs);
    await fs.writeFile(path.join(rootfs, 'hello'), 'hi\n');
    const tarball = path.join(tmp, 'rootfs.tgz');
    execFileSync('tar', ['-czf', tarball, '-C', rootfs, '.']);
    const r = await cli(['import', '-c', 'CMD ["/hello"]', tarball, 'imported:2'], root);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^sha256:[0-9a-f]{64}\n$/);
    const saved = path.join(tmp, 'imported.tar');
    const s = await cli(['save', '--format', 'oci', '-o', saved, 'imported:2'], root);
    assert.equal(s.code, 0, s.err);
    const back = await DirStore.create();
    try {
      const { images } = await importArchive(back, saved);
      assert.equal(images[0].configDigest, r.out.trim());
      await validateImage(back, images[0].manifestDescriptor.digest);
    } finally {
      await back.cleanup();
    }
  });

  it('reports usage errors', async () => {
    const r = await cli(['save', 'x'], root, undefined);
    // stdout is a PassThrough (not a TTY): saving to it is fine, but "x" is not an image.
    assert.notEqual(r.code, 0);
    const u = await cli(['import'], root);
    assert.equal(u.code, 2);
    assert.match(u.err, /requires 1 or 2 arguments/);
  });
});
