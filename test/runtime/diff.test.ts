import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, unlink, writeFile, link, utimes, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { LayerEntry } from '../../src/image/layer-entry.js';
import { diffSnapshot } from '../../src/runtime/diff.js';
import { writeLayer } from '../../src/image/layer-writer.js';
import { openLayer } from '../../src/image/layer-reader.js';
import { LocalContentStore } from '../../src/store/content-store.js';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { mountAll, unmountAll } from '../../src/runtime/mount.js';
import { ensureLayerChain, NativeSnapshotter, OverlaySnapshotter, probeFuseOverlay, probeOverlay, type Snapshotter } from '../../src/runtime/snapshotter.js';
import { notRoot } from './snapshotter-suite.js';
import { diffIdOf, tarBuffer } from './tar-helpers.js';

const overlaySkip = notRoot || ((await probeOverlay(os.tmpdir())) ? false : 'overlayfs cannot be mounted here');
const fuseSkip = notRoot || ((await probeFuseOverlay(os.tmpdir())) ? false : 'fuse-overlayfs cannot mount here (apt-get install fuse-overlayfs; /dev/fuse)');

/** Path → type and content (files), target (symlinks), mode bits. */
async function treeOf(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function rec(rel: string): Promise<void> {
    for (const n of (await readdir(path.join(root, rel))).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = await lstat(path.join(root, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        await rec(r);
      } else if (st.isSymbolicLink()) out[r] = `link ${await readlink(path.join(root, r))}`;
      else out[r] = `file ${mode} ${await readFile(path.join(root, r), 'utf8')}`;
    }
  }
  await rec('');
  return out;
}

function summary(entries: LayerEntry[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) out[e.path] = e.type === 'hardlink' ? `hardlink:${e.linkname}` : e.type;
  return out;
}

for (const [name, make, skip] of [
  ['overlay', (r: string) => new OverlaySnapshotter(r), overlaySkip],
  ['native', (r: string) => new NativeSnapshotter(r), notRoot],
  ['fuse-overlayfs', (r: string) => new OverlaySnapshotter(r, 'fuse-overlayfs'), fuseSkip],
] as const) {
  describe(`diffSnapshot (${name})`, { skip }, () => {
    const dirs: string[] = [];
    after(async () => {
      for (const d of dirs) {
        await unmountAll(d);
        await rm(d, { recursive: true, force: true });
      }
    });

    async function changed(fn: (root: string) => Promise<void>): Promise<{ sn: Snapshotter; entries: LayerEntry[] }> {
      const base = await mkdtemp(path.join(os.tmpdir(), `mybuild-diff-${name}-`));
      dirs.push(base);
      const sn = make(path.join(base, 'sn'));
      const l1 = await tarBuffer([
        { name: 'etc/', type: 'directory' },
        { name: 'etc/keep', content: 'keep' },
        { name: 'etc/edit', content: 'old' },
        { name: 'etc/gone', content: 'gone' },
        { name: 'etc/mode', content: 'm' },
        { name: 'tree/', type: 'directory' },
        { name: 'tree/a', content: 'a' },
        { name: 'tree/sub/', type: 'directory' },
        { name: 'tree/sub/b', content: 'b' },
        { name: 'opq/', type: 'directory' },
        { name: 'opq/old', content: 'o' },
        { name: 'same/', type: 'directory' },
        { name: 'same/file', content: 'aaaa', mtime: new Date(1_000_000_000) },
      ]);
      const parent = await ensureLayerChain(sn, [{ diffId: diffIdOf(l1), open: async () => Readable.from([l1]) }]);
      await sn.prepare('work', parent);
      const mnt = path.join(base, 'mnt');
      await mkdir(mnt);
      await mountAll(await sn.mounts('work'), mnt);
      try {
        await fn(mnt);
      } finally {
        await unmountAll(mnt);
      }
      return { sn, entries: await diffSnapshot(sn, 'work') };
    }

    it('reports added, modified and deleted paths, whiteouts and hardlinks', async () => {
      const { entries } = await changed(async (r) => {
        await writeFile(path.join(r, 'etc/edit'), 'new content');
        await unlink(path.join(r, 'etc/gone'));
        await chmod(path.join(r, 'etc/mode'), 0o600);
        await rm(path.join(r, 'tree'), { recursive: true });
        await mkdir(path.join(r, 'new/deep'), { recursive: true });
        await writeFile(path.join(r, 'new/deep/f'), 'f');
        await link(path.join(r, 'new/deep/f'), path.join(r, 'new/deep/g'));
        await rm(path.join(r, 'opq'), { recursive: true });
        await mkdir(path.join(r, 'opq'));
        await writeFile(path.join(r, 'opq/fresh'), 'x');
        // Same size and mtime, different bytes: only the content check can see it.
        await writeFile(path.join(r, 'same/file'), 'bbbb');
        await utimes(path.join(r, 'same/file'), new Date(1_000_000_000), new Date(1_000_000_000));
      });
      const got = summary(entries);
      const want: Record<string, string> = {
        etc: 'directory',
        'etc/edit': 'file',
        'etc/.wh.gone': 'file',
        'etc/mode': 'file',
        '.wh.tree': 'file',
        new: 'directory',
        'new/deep': 'directory',
        'new/deep/f': 'file',
        'new/deep/g': 'hardlink:new/deep/f',
        opq: 'directory',
        'opq/fresh': 'file',
        same: 'directory',
        'same/file': 'file',
      };
      if (name !== 'native') want['opq/.wh..wh..opq'] = 'file';
      else want['opq/.wh.old'] = 'file';
      assert.deepEqual(got, want);
      const edit = entries.find((e) => e.path === 'etc/edit')!;
      assert.equal(edit.size, 'new content'.length);
      assert.ok(edit.source && edit.source.endsWith('etc/edit'));
      assert.equal(entries.find((e) => e.path === 'etc/mode')!.mode, 0o600);
      const wh = entries.find((e) => e.path === 'etc/.wh.gone')!;
      assert.equal(wh.size, 0);
      assert.equal(entries.some((e) => Object.keys(e.xattrs ?? {}).some((k) => k.startsWith('trusted.overlay.'))), false, 'overlay bookkeeping xattrs stay out');
    });

    it('round trip: diff → writeLayer → ensureLayerChain reproduces the RUN result', async () => {
      let merged: Record<string, string> = {};
      const { sn, entries } = await changed(async (r) => {
        await writeFile(path.join(r, 'etc/edit'), 'edited');
        await rm(path.join(r, 'tree'), { recursive: true });
        await rm(path.join(r, 'opq'), { recursive: true });
        await mkdir(path.join(r, 'opq'));
        await writeFile(path.join(r, 'opq/fresh'), 'x');
        await symlink('etc/keep', path.join(r, 'ln'));
        merged = await treeOf(r);
      });
      const base = path.dirname((await sn.layerDirs('work')).dir);
      const store = await LocalContentStore.open(path.join(base, 'store'));
      const layer = await writeLayer(entries, store, { compression: 'none' });
      const parent = (await sn.stat('work')).parent!;
      // The base layer's snapshot is named by its diffId (a one-layer ChainID).
      const parentDiffId = parent;
      const top = await ensureLayerChain(sn, [
        { diffId: parentDiffId, open: async () => { throw new Error('the parent layer is cached'); } },
        { diffId: layer.diffId, open: () => openLayer(store, layer.descriptor) },
      ]);
      assert.match(parent, /^sha256:[0-9a-f]{64}$/);
      await sn.view('rt-view', top);
      const mnt = path.join(base, 'rt-mnt');
      await mkdir(mnt);
      await mountAll(await sn.mounts('rt-view'), mnt);
      try {
        assert.deepEqual(await treeOf(mnt), merged);
      } finally {
        await unmountAll(mnt);
      }
    });

    it('reports nothing for an untouched snapshot', async () => {
      const { entries } = await changed(async () => undefined);
      assert.deepEqual(entries, []);
    });
  });
}
