import { NativeSnapshotter, OverlaySnapshotter, probeFuseOverlay, probeOverlay, createSnapshotter, snapshotterType } from '../../src/runtime/snapshotter.js';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { mountOne, unmountAll } from '../../src/runtime/mount.js';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { chainId } from '../../src/runtime/snapshotter.js';
import { describeSnapshotter, notRoot } from './snapshotter-suite.js';

const overlaySkip = notRoot || ((await probeOverlay(os.tmpdir())) ? false : 'overlayfs cannot be mounted here');

describeSnapshotter('overlay', async (root) => new OverlaySnapshotter(path.join(root, 'overlay')), overlaySkip);
describeSnapshotter('native', async (root) => new NativeSnapshotter(path.join(root, 'native')));
const fuseSkip = notRoot || ((await probeFuseOverlay(os.tmpdir())) ? false : 'fuse-overlayfs cannot mount here (apt-get install fuse-overlayfs; /dev/fuse)');
describeSnapshotter('fuse-overlayfs', async (root) => new OverlaySnapshotter(path.join(root, 'fuse-overlayfs'), 'fuse-overlayfs'), fuseSkip);

it('MYBUILD_SNAPSHOTTER forces the snapshotter (overlay, fuse-overlayfs, native); another value is refused naming the choices', { skip: fuseSkip }, async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mybuild-sn-env-'));
  const saved = process.env.MYBUILD_SNAPSHOTTER;
  try {
    for (const t of ['fuse-overlayfs', 'native', 'overlay'] as const) {
      process.env.MYBUILD_SNAPSHOTTER = t;
      assert.equal((await createSnapshotter(root)).type, t);
      assert.equal(await snapshotterType(root), t);
    }
    // fuse-overlayfs really mounts the snapshot: a FUSE mount, not the kernel's overlay.
    process.env.MYBUILD_SNAPSHOTTER = 'fuse-overlayfs';
    const sn = await createSnapshotter(root);
    const base = await sn.prepare('base');
    assert.equal(base[0].type, 'bind');
    await sn.commit('base-c', 'base');
    const mounts = await sn.prepare('top', 'base-c');
    assert.equal(mounts[0].type, 'fuse-overlayfs');
    const target = path.join(root, 'mnt');
    await mkdir(target);
    await mountOne(mounts[0], target);
    try {
      const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === target);
      assert.match(line ?? '', / - fuse\.fuse-overlayfs /, line);
    } finally {
      await unmountAll(target);
    }
    process.env.MYBUILD_SNAPSHOTTER = 'zfs';
    await assert.rejects(createSnapshotter(root), /MYBUILD_SNAPSHOTTER=zfs: expected one of auto, overlay, fuse-overlayfs, native/);
  } finally {
    if (saved === undefined) delete process.env.MYBUILD_SNAPSHOTTER;
    else process.env.MYBUILD_SNAPSHOTTER = saved;
    await unmountAll(root);
    await rm(root, { recursive: true, force: true });
  }
});

it('chainId follows the OCI image spec', () => {
  const a = 'sha256:' + 'a'.repeat(64);
  const b = 'sha256:' + 'b'.repeat(64);
  assert.equal(chainId([a]), a);
  // sha256("sha256:aaa… sha256:bbb…"), computed independently with sha256sum.
  assert.equal(chainId([a, b]), 'sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c');
  assert.equal(chainId([]), '');
});

it('createSnapshotter picks overlay when it can be mounted', { skip: overlaySkip }, async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mybuild-sn-auto-'));
  try {
    assert.equal((await createSnapshotter(root)).type, 'overlay');
    assert.equal((await createSnapshotter(root, { type: 'native' })).type, 'native');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

it('createSnapshotter remembers a working overlay per kernel release and device, and probes again when they change', { skip: overlaySkip }, async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mybuild-sn-probe-'));
  const marker = path.join(root, 'overlay-probe.json');
  try {
    assert.equal((await createSnapshotter(root)).type, 'overlay');
    const first = JSON.parse(await readFile(marker, 'utf8'));
    assert.equal(first.release, os.release());
    assert.equal(first.dev, Number((await stat(root)).dev));
    // Another kernel: the marker is not trusted; the probe runs and rewrites it.
    await writeFile(marker, JSON.stringify({ ...first, release: 'some-other-kernel' }));
    assert.equal((await createSnapshotter(root)).type, 'overlay');
    assert.deepEqual(JSON.parse(await readFile(marker, 'utf8')), first);
    // No probe directory is left behind, whichever path was taken.
    assert.deepEqual((await readdir(root)).filter((n) => n.startsWith('.probe-')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

it('mounts overlays whose lowerdir list is longer than a page', { skip: overlaySkip }, async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mybuild-long-lowerdir-' + 'x'.repeat(40) + '-'));
  try {
    const lowers: string[] = [];
    for (let i = 0; i < 100; i++) {
      const d = path.join(root, 'layers', `layer-with-a-rather-long-name-${i}`);
      await mkdir(d, { recursive: true });
      await writeFile(path.join(d, `f${i}`), String(i));
      lowers.push(d);
    }
    for (const d of ['u', 'w', 'm']) await mkdir(path.join(root, d));
    const opt = `lowerdir=${lowers.join(':')}`;
    assert.ok(opt.length > 4096);
    await mountOne({ type: 'overlay', source: 'overlay', options: [opt, `upperdir=${root}/u`, `workdir=${root}/w`] }, path.join(root, 'm'));
    assert.equal((await readdir(path.join(root, 'm'))).length, 100);
  } finally {
    await unmountAll(root);
    await rm(root, { recursive: true, force: true });
  }
});
