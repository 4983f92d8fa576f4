/**
 * One suite for every Snapshotter implementation (as containerd's snapshots/testsuite):
 * `describeSnapshotter(name, make)` registers the tests; `make(root)` opens a snapshotter there.
 * Needs root (mounts); skips otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { AlreadyExistsError, BuildError, NotFoundError } from '../../src/errors.js';
import { mountAll, mountPointsUnder, unmountAll } from '../../src/runtime/mount.js';
import { type Mount } from '../../src/runtime/mount.js';
import { chainId, ensureLayerChain, type Snapshotter } from '../../src/runtime/snapshotter.js';
import { diffIdOf, tarBuffer } from './tar-helpers.js';

export const notRoot = process.getuid?.() === 0 ? false : 'needs root (mounts)';

async function withMounted<T>(mounts: Mount[], fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-mnt-'));
  try {
    await mountAll(mounts, dir);
    return await fn(dir);
  } finally {
    await unmountAll(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

export function describeSnapshotter(name: string, make: (root: string) => Promise<Snapshotter>, skip: string | false = notRoot): void {
  describe(`snapshotter ${name}`, { skip }, () => {
    let base: string;
    let sn: Snapshotter;
    before(async () => {
      base = await mkdtemp(path.join(os.tmpdir(), `mybuild-sn-${name}-`));
      sn = await make(base);
    });
    after(async () => {
      if (!base) return;
      await unmountAll(base);
      await rm(base, { recursive: true, force: true });
    });

    it('prepare/commit/prepare child: children see parent content, changes stay in the child', async () => {
      const m1 = await sn.prepare('k1');
      await withMounted(m1, async (d) => {
        await writeFile(path.join(d, 'a'), 'A');
        await mkdir(path.join(d, 'dir'));
        await writeFile(path.join(d, 'dir', 'b'), 'B');
      });
      await sn.commit('n1', 'k1');
      await assert.rejects(sn.stat('k1'), NotFoundError);
      assert.equal((await sn.stat('n1')).kind, 'committed');

      const m2 = await sn.prepare('k2', 'n1');
      await withMounted(m2, async (d) => {
        assert.equal(await readFile(path.join(d, 'a'), 'utf8'), 'A');
        await unlink(path.join(d, 'a'));
        await writeFile(path.join(d, 'dir', 'c'), 'C');
      });
      await sn.commit('n2', 'k2');
      assert.equal((await sn.stat('n2')).parent, 'n1');

      const v1 = await sn.view('v1', 'n1');
      await withMounted(v1, async (d) => {
        assert.deepEqual((await readdir(d)).sort(), ['a', 'dir']);
        assert.deepEqual((await readdir(path.join(d, 'dir'))).sort(), ['b']);
        await assert.rejects(writeFile(path.join(d, 'x'), 'x'), /EROFS/);
      });
      const v2 = await sn.view('v2', 'n2');
      await withMounted(v2, async (d) => {
        assert.deepEqual((await readdir(d)).sort(), ['dir']);
        assert.deepEqual((await readdir(path.join(d, 'dir'))).sort(), ['b', 'c']);
      });
      assert.deepEqual(await sn.mounts('v2'), v2);
      await sn.remove('v1');
      await sn.remove('v2');
      await assert.rejects(sn.commit('x', 'v1'), NotFoundError);
    });

    it('refuses duplicates, missing parents and removing a parent with children', async () => {
      await sn.prepare('dup');
      await assert.rejects(sn.prepare('dup'), AlreadyExistsError);
      await assert.rejects(sn.prepare('orphan', 'no-such-parent'), NotFoundError);
      await assert.rejects(sn.commit('n1', 'dup'), AlreadyExistsError);
      assert.equal((await sn.stat('dup')).kind, 'active', 'a failed commit keeps the active snapshot');
      await sn.remove('dup');
      await sn.prepare('child', 'n1');
      await assert.rejects(sn.remove('n1'), /has children/);
      await sn.remove('child');
      await assert.rejects(sn.remove('child'), NotFoundError);
    });

    it('cleanup removes active snapshots and orphan directories, keeps committed ones', async () => {
      await sn.prepare('stale', 'n2');
      const root = path.join(base, sn.type);
      await mkdir(path.join(root, 's', 'orphan', 'fs'), { recursive: true });
      await sn.cleanup({ all: true });
      await assert.rejects(sn.stat('stale'), NotFoundError);
      assert.equal(existsSync(path.join(root, 's', 'orphan')), false);
      const names = (await sn.list()).map((i) => i.name).sort();
      assert.deepEqual(names, ['n1', 'n2']);
      assert.equal((await readdir(path.join(root, 's'))).length, 2, 'one directory per committed snapshot');
    });

    it("cleanup() running while another instance prepares snapshots never removes a live one's directory", async () => {
      // Two instances on one root, as two builds in two processes: one keeps preparing, the
      // other cleans up at the same time (a build's start-up). Every prepared snapshot must
      // keep its directory.
      const other = await make(base);
      const keys: string[] = [];
      let cleaning = true;
      const cleaner = (async () => {
        while (cleaning) await sn.cleanup();
      })();
      try {
        for (let i = 0; i < 150; i++) {
          const key = `race-${i}`;
          keys.push(key);
          const mounts = await other.prepare(key, 'n1');
          const dirs = mounts.flatMap((m) => [m.source, ...m.options.filter((o) => o.startsWith('upperdir=')).map((o) => o.slice('upperdir='.length))]);
          await new Promise((r) => setImmediate(r));
          for (const d of dirs) if (d.startsWith(base)) assert.ok(existsSync(d), `${key}: ${d} was removed by a concurrent cleanup()`);
        }
      } finally {
        cleaning = false;
        await cleaner;
        for (const k of keys) await other.remove(k).catch(() => undefined);
      }
    });

    it('cleanup() without options removes only non-persistent active snapshots of dead processes', async () => {
      await sn.prepare('mine', 'n1');
      await sn.prepare('crashed', 'n1');
      await sn.prepare('kept', 'n1', { persistent: true });
      // Simulate a killed build: give "crashed" and "kept" the pid of a process that has exited.
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
      const metaDir = path.join(base, sn.type, 'meta');
      for (const f of await readdir(metaDir)) {
        const m = JSON.parse(await readFile(path.join(metaDir, f), 'utf8')) as { name: string; pid?: number };
        if (m.name === 'crashed' || m.name === 'kept') await writeFile(path.join(metaDir, f), JSON.stringify({ ...m, pid: Number(dead) }));
      }
      await sn.cleanup();
      await assert.rejects(sn.stat('crashed'), NotFoundError);
      assert.equal((await sn.stat('mine')).kind, 'active');
      assert.equal((await sn.stat('kept')).kind, 'active', 'a persistent snapshot outlives its process');
      await sn.remove('mine');
      await sn.remove('kept');
    });

    it('ensureLayerChain extracts each layer once, names snapshots by ChainID, applies whiteouts', async () => {
      const l1 = await tarBuffer([
        { name: 'etc/', type: 'directory' },
        { name: 'etc/keep', content: 'k' },
        { name: 'etc/gone', content: 'g' },
        { name: 'opq/', type: 'directory' },
        { name: 'opq/old', content: 'o' },
      ]);
      const l2 = await tarBuffer([
        { name: 'etc/.wh.gone' },
        { name: 'opq/', type: 'directory' },
        { name: 'opq/.wh..wh..opq' },
        { name: 'opq/new', content: 'n' },
      ]);
      let opens = 0;
      const layers = [
        { diffId: diffIdOf(l1), open: async () => (opens++, Readable.from([l1])) },
        { diffId: diffIdOf(l2), open: async () => (opens++, Readable.from([l2])) },
      ];
      const [a, b] = await Promise.all([ensureLayerChain(sn, layers), ensureLayerChain(sn, layers)]);
      assert.equal(a, b);
      assert.equal(a, chainId(layers.map((l) => l.diffId)));
      assert.equal(opens, 2);
      assert.equal(await ensureLayerChain(sn, layers), a);
      assert.equal(opens, 2, 'present layers are not extracted again');
      const v = await sn.view('chain-view', a);
      await withMounted(v, async (d) => {
        assert.deepEqual((await readdir(path.join(d, 'etc'))).sort(), ['keep']);
        assert.deepEqual((await readdir(path.join(d, 'opq'))).sort(), ['new']);
      });
      await sn.remove('chain-view');
    });

    it('two snapshotters on different roots extract the same chain independently, at the same time', async () => {
      const l = await tarBuffer([{ name: 'same', content: 's' }]);
      const other = await make(path.join(base, 'second-root'));
      const layers = [{ diffId: diffIdOf(l), open: async () => Readable.from([l]) }];
      const [a, b] = await Promise.all([ensureLayerChain(sn, layers), ensureLayerChain(other, layers)]);
      assert.equal(a, b);
      assert.equal((await sn.stat(a)).kind, 'committed');
      assert.equal((await other.stat(b)).kind, 'committed');
    });

    it('a failed extraction leaves no committed snapshot and no active one', async () => {
      const good = await tarBuffer([{ name: 'x', content: 'x'.repeat(10000) }]);
      const broken = () =>
        new Readable({
          read() {
            this.push(good.subarray(0, 1024));
            this.destroy(new Error('connection reset'));
          },
        });
      const layers = [{ diffId: diffIdOf(good), open: async () => broken() }];
      await assert.rejects(ensureLayerChain(sn, layers), /connection reset/);
      await assert.rejects(sn.stat(layers[0].diffId), NotFoundError);
      assert.deepEqual((await sn.list()).filter((i) => i.kind !== 'committed'), []);
      assert.deepEqual(await mountPointsUnder(base), []);
    });

    it('a layer whose bytes do not hash to its diffId is refused naming both; nothing is committed', async () => {
      const real = await tarBuffer([{ name: 'real', content: 'r' }]);
      const claimed = diffIdOf(await tarBuffer([{ name: 'claimed', content: 'c' }]));
      const layers = [{ diffId: claimed, name: 'the-blob', open: async () => Readable.from([real]) }];
      await assert.rejects(ensureLayerChain(sn, layers), (e: unknown) => e instanceof BuildError && e.code === 'DIGEST_MISMATCH' && e.message.includes('the-blob') && e.message.includes(diffIdOf(real)) && e.message.includes(claimed));
      await assert.rejects(sn.stat(claimed), NotFoundError);
      assert.deepEqual((await sn.list()).filter((i) => i.kind !== 'committed'), []);
    });
  });
}
