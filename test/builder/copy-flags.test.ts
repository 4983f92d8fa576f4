/**
 * COPY flags the installed peers cannot build (BuildKit 0.8, Buildah 1.28), checked on the built
 * root filesystem: --parents, --exclude, --link, --chmod on files and directories, wildcards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tarStream from 'tar-stream';
import { openLayer } from '../../src/image/layer-reader.js';
import { ImageStore } from '../../src/store/image-store.js';
import { buildContext, buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, writeContext } from '../helpers/build.js';

const skip = buildSkipReason();

/** Every path under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      if (lstatSync(path.join(dir, r)).isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

describe('builder: COPY flags', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  const context = {
    'src/a/one.txt': '1',
    'src/a/skip.log': 'log',
    'src/b/two.txt': '2',
    'src/b/deep/three.txt': '3',
    'other/four.txt': '4',
    'home.txt': 'h',
    'homer.md': 'm',
  };

  async function rootfs(dockerfile: string): Promise<string> {
    const out = await tempDir('mybuild-copyflags-');
    await buildFiles(root, { ...context, Dockerfile: dockerfile }, { outputs: [{ type: 'local', dest: out }] });
    return out;
  }

  it('--parents keeps each source\'s path from the context root (or from /./)', async () => {
    const out = await rootfs('FROM scratch\nCOPY --parents src/*/one.txt src/b/deep/three.txt /p/\nCOPY --parents ./src/./b/two.txt /q/\n');
    assert.deepEqual(tree(path.join(out, 'p')), ['src', 'src/a', 'src/a/one.txt', 'src/b', 'src/b/deep', 'src/b/deep/three.txt']);
    assert.deepEqual(tree(path.join(out, 'q')), ['b', 'b/two.txt']);
  });

  it('--exclude drops matches from the sources and from inside directories (paths relative to the source, as BuildKit)', async () => {
    const out = await rootfs('FROM scratch\nCOPY --exclude=**/*.log --exclude=b/deep src/ /e/\nCOPY --exclude=*.txt hom* /w/\n');
    assert.deepEqual(tree(path.join(out, 'e')), ['a', 'a/one.txt', 'b', 'b/two.txt']);
    // The Dockerfile reference's example: `COPY --exclude=*.txt hom* /mydir/`.
    assert.deepEqual(tree(path.join(out, 'w')), ['homer.md']);
  });

  it('--chmod applies to copied files and directories; wildcards with a directory destination', async () => {
    const out = await rootfs('FROM scratch\nCOPY --chmod=0640 src/a/*.txt src/b/two.txt /m/\nCOPY --chmod=0700 src/b/ /d/\n');
    assert.deepEqual(tree(path.join(out, 'm')), ['one.txt', 'two.txt']);
    assert.equal(lstatSync(path.join(out, 'm', 'one.txt')).mode & 0o7777, 0o640);
    assert.equal(lstatSync(path.join(out, 'd', 'deep')).mode & 0o7777, 0o700);
    assert.equal(lstatSync(path.join(out, 'd', 'deep', 'three.txt')).mode & 0o7777, 0o700);
  });

  it('--link gives the same files as a plain COPY', async () => {
    const out = await rootfs('FROM busybox\nCOPY --link other/four.txt /l/\n');
    assert.equal(readFileSync(path.join(out, 'l', 'four.txt'), 'utf8'), '4');
    assert.ok(lstatSync(path.join(out, 'bin', 'busybox')).isFile(), 'the base is still there');
  });

  it('several files into a destination without a trailing slash: each lands on it, the last stays (BuildKit has no "more than one source" error)', async () => {
    const out = await rootfs('FROM scratch\nCOPY src/a/one.txt src/b/two.txt /notadir\nCOPY src/b other /merged\nCOPY home.txt /merged\n');
    assert.equal(readFileSync(path.join(out, 'notadir'), 'utf8'), '2');
    // A directory source makes the destination a directory for the sources after it.
    assert.deepEqual(tree(path.join(out, 'merged')), ['deep', 'deep/three.txt', 'four.txt', 'home.txt', 'two.txt']);
  });
  it('hard-linked files stay one file and hard links in the layer (as BuildKit and Buildah write them)', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM scratch\nCOPY d/ /d/\nCOPY d/b /single\n', 'd/a': 'same inode\n', 'd/c': 'other\n' });
    linkSync(path.join(ctx, 'd', 'a'), path.join(ctx, 'd', 'b'));
    const built = await buildContext(root, ctx);
    const store = await ImageStore.open(root);
    const layers: { name: string; type: string; linkname?: string | null; size?: number }[][] = [];
    for (const desc of built.manifest.layers) {
      const entries: { name: string; type: string; linkname?: string | null; size?: number }[] = [];
      const ex = tarStream.extract();
      (await openLayer(store.content, desc)).pipe(ex);
      for await (const e of ex) {
        entries.push({ name: e.header.name, type: e.header.type ?? 'file', linkname: e.header.linkname, size: e.header.size });
        e.resume();
      }
      layers.push(entries);
    }
    const [dir, single] = layers;
    assert.deepEqual(dir.filter((e) => e.type !== 'directory'), [
      { name: 'd/a', type: 'file', linkname: null, size: 11 },
      { name: 'd/b', type: 'link', linkname: 'd/a', size: 0 },
      { name: 'd/c', type: 'file', linkname: null, size: 6 },
    ]);
    // Alone in its COPY, the other name of the inode is a plain file.
    assert.deepEqual(single.map((e) => [e.name, e.type]), [['single', 'file']]);
  });
});
