/**
 * Extracted layers are given back: `prune -a` after `rmi` removes the committed snapshots no
 * image, cache record or container needs (plain `prune` keeps those of cache records), `system
 * df` counts them, a snapshot with a child is never removed, and prune runs safely alongside
 * builds that need those snapshots.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { chainId, createSnapshotter, diskUsage } from '../../src/runtime/snapshotter.js';
import { ImageStore } from '../../src/store/image-store.js';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, mountsUnder, runCliProcess, tempDir, writeContext } from '../helpers/build.js';

const skip = buildSkipReason() || cliSkipReason();
const MB = 1024 * 1024;

async function committed(root: string): Promise<string[]> {
  const sn = await createSnapshotter(path.join(root, 'snapshots'));
  return (await sn.list()).filter((s) => s.kind === 'committed').map((s) => s.name).sort();
}

async function snapshotBytes(root: string): Promise<number> {
  const dir = path.join(root, 'snapshots', 'overlay', 's');
  return (await readdir(dir).catch(() => [])).length ? diskUsage(dir) : 0;
}

describe('snapshot GC: prune gives extracted layers back', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('a snapshot with a child (active or committed) is kept; leaves go first, then their parents', async () => {
    const sn = await createSnapshotter(path.join(await tempDir(), 'snapshots'));
    await sn.prepare('a-key');
    await sn.commit('A', 'a-key', { diffId: 'sha256:aaaa' });
    await sn.prepare('b-key', 'A');
    await sn.commit('B', 'b-key');
    await sn.prepare('c-active', 'B');
    assert.deepEqual(await sn.removeUnused({ names: new Set() }), [], 'B has an active child, A has B');
    await sn.remove('c-active');
    assert.deepEqual((await sn.removeUnused({ names: new Set(), diffIds: new Set(['sha256:aaaa']) })).map((r) => r.name), ['B'], 'A is kept by its diffID');
    assert.deepEqual((await sn.removeUnused({ names: new Set() })).map((r) => r.name), ['A']);
    assert.deepEqual(await sn.list(), []);
  });

  it('rmi + prune -a remove the extracted layers of the image; system df counts them; the image builds again', async () => {
    const baseline = await committed(root);
    const ctx = await writeContext({ Dockerfile: 'FROM busybox\nRUN dd if=/dev/urandom of=/big bs=1M count=6 2>/dev/null\nRUN echo two > /two\n' });
    const b = await runCliProcess(['--root', root, 'build', '-q', '-t', 'big:1', ctx], { cwd: ctx });
    assert.equal(b.code, 0, b.stderr);
    const withImage = await committed(root);
    assert.ok(withImage.length >= baseline.length + 2, `the RUN layers are extracted: ${withImage.length} vs ${baseline.length}`);
    const bytes = await snapshotBytes(root);
    assert.ok(bytes > 6 * MB, `snapshots hold the 6 MB layer: ${bytes}`);
    const df = await runCliProcess(['--root', root, 'system', 'df']);
    assert.match(df.stdout, /^Snapshots\s+\d+\s+\d+(\.\d+)?\s*MB/m, df.stdout);

    // Plain prune keeps what the image needs (tagged) ...
    assert.equal((await runCliProcess(['--root', root, 'prune'])).code, 0);
    assert.deepEqual(await committed(root), withImage);
    assert.equal((await runCliProcess(['--root', root, 'rmi', 'big:1'])).code, 0);
    // ... and, untagged, what its cache records name.
    assert.equal((await runCliProcess(['--root', root, 'prune'])).code, 0);
    assert.deepEqual(await committed(root), withImage, 'the cache records still name the layers');
    const pr = await runCliProcess(['--root', root, 'prune', '-a']);
    assert.equal(pr.code, 0, pr.stderr);
    assert.match(pr.stdout, /Deleted \d+ extracted layer/);
    const baseIds = (await (await ImageStore.open(root)).resolve('busybox')).config.rootfs.diff_ids;
    const baseChains = baseIds.map((_d, i) => chainId(baseIds.slice(0, i + 1)));
    assert.deepEqual(await committed(root), [...new Set([...baseline, ...baseChains])].sort(), 'only the (tagged) base image layers stay extracted');
    const left = await snapshotBytes(root);
    assert.ok(left < bytes - 6 * MB, `the 6 MB are given back: ${bytes} -> ${left}`);
    const chk = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    const again = await runCliProcess(['--root', root, 'build', '-q', '-t', 'big:1', ctx], { cwd: ctx });
    assert.equal(again.code, 0, again.stderr);
  });

  it('prune -a over and over while builds run: every build succeeds, the store stays consistent', async () => {
    const ctxs = await Promise.all(
      [0, 1, 2].map((i) => writeContext({ Dockerfile: `FROM busybox\nRUN echo ${i} > /a\nCOPY f /f\nRUN cat /a /f > /b\nRUN ls / > /c\n`, f: `f${i}` })),
    );
    let stop = false;
    const pruner = (async () => {
      let n = 0;
      while (!stop) {
        const r = await runCliProcess(['--root', root, 'prune', '-a']);
        assert.equal(r.code, 0, r.stderr);
        n++;
      }
      return n;
    })();
    for (let round = 0; round < 2; round++) {
      const rs = await Promise.all(ctxs.map((c, i) => runCliProcess(['--root', root, 'build', '-q', '--no-cache', '-t', `conc${i}:${round}`, c], { cwd: c })));
      for (const r of rs) assert.equal(r.code, 0, r.stderr);
    }
    stop = true;
    assert.ok((await pruner) >= 1);
    assert.deepEqual(await mountsUnder(root), []);
    const chk = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
  });
});
