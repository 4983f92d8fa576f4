/**
 * Which instructions make a layer, as BuildKit's dockerfile2llb commitToHistory decides: RUN,
 * COPY and ADD always (an empty one when nothing changed), WORKDIR for any path but `/`, the
 * others none (`empty_layer: true`). Ports BuildKit's testExportedHistory (real runc builds).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot } from '../helpers/build.js';
import { ImageStore } from '../../src/store/image-store.js';

const skip = buildSkipReason();

/** The diff ID of an empty tar (1024 zero bytes), the layer of a step that changed nothing. */
const EMPTY_TAR_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

describe('builder: layers and empty_layer history, per instruction', { skip }, () => {
  let root: string;
  let baseLayers: number;
  let baseHistory: number;
  before(async () => {
    root = await makeStoreRoot();
    const b = await buildFiles(root, { Dockerfile: 'FROM busybox\n' });
    baseLayers = b.config.rootfs.diff_ids.length;
    baseHistory = b.config.history?.length ?? 0;
  });
  after(cleanupTemp);

  it('testExportedHistory: LABEL, COPY --from, WORKDIR /, RUN, RUN that changes nothing, EXPOSE', async () => {
    const r = await buildFiles(root, {
      Dockerfile: ['FROM busybox AS base', 'ENV foo=bar', 'COPY foo /foo2', 'FROM busybox', 'LABEL lbl=val', 'COPY --from=base foo2 foo3', 'WORKDIR /', 'RUN echo bar > foo4', 'RUN ["ls"]', 'EXPOSE 2375 5000 1234/udp'].join('\n'),
      foo: 'contents0',
    });
    assert.equal(r.config.rootfs.diff_ids.length, baseLayers + 3);
    assert.equal(r.manifest.layers.length, baseLayers + 3);
    const h = (r.config.history ?? []).slice(baseHistory);
    assert.equal(h.length, 6);
    const rows = h.map((e) => [e.created_by, e.empty_layer === true]);
    assert.match(String(rows[0]![0]), /lbl=val/);
    assert.equal(rows[0]![1], true);
    assert.match(String(rows[1]![0]), /COPY .*foo2 foo3/);
    assert.equal(rows[1]![1], false);
    assert.deepEqual(rows[2], ['WORKDIR /', true]);
    assert.deepEqual(rows[3], ['RUN /bin/sh -c echo bar > foo4 # buildkit', false]);
    assert.deepEqual(rows[4], ['RUN ls # buildkit', false]);
    assert.match(String(rows[5]![0]), /^EXPOSE/);
    assert.equal(rows[5]![1], true);
    for (const e of h) assert.ok(e.created, 'every entry has a time');
    // The no-op RUN's layer is the empty tar.
    assert.equal(r.config.rootfs.diff_ids.at(-1), EMPTY_TAR_DIFF_ID);
  });

  it('RUN true, WORKDIR of an existing directory, COPY and ADD each add a layer; ENV, ARG, USER, WORKDIR / do not', async () => {
    const r = await buildFiles(root, {
      Dockerfile: ['FROM busybox', 'ARG A=1', 'ENV E=1', 'RUN true', 'WORKDIR /tmp', 'WORKDIR /', 'USER root', 'COPY f /f', 'ADD f /g', 'RUN true'].join('\n'),
      f: 'F',
    });
    const h = (r.config.history ?? []).slice(baseHistory);
    assert.deepEqual(h.map((e) => [e.created_by?.split(' ')[0], e.empty_layer === true]), [
      ['ARG', true], ['ENV', true], ['RUN', false], ['WORKDIR', false], ['WORKDIR', true], ['USER', true], ['COPY', false], ['ADD', false], ['RUN', false],
    ]);
    assert.equal(r.config.rootfs.diff_ids.length, baseLayers + 5);
    assert.equal(r.config.rootfs.diff_ids.length, (r.config.history ?? []).filter((e) => !e.empty_layer).length);
  });

  it('a no-op RUN is cached like any other: the rebuild hits and gives the same image', async () => {
    const files = { Dockerfile: 'FROM busybox\nRUN true # again\n' };
    const a = await buildFiles(root, files);
    const b = await buildFiles(root, files);
    assert.deepEqual(b.misses, []);
    assert.equal(b.result.manifestDescriptor.digest, a.result.manifestDescriptor.digest);
    assert.equal(b.config.rootfs.diff_ids.at(-1), EMPTY_TAR_DIFF_ID);
  });

  it('a cached no-op RUN record without a layer (written before empty layers) is rebuilt, not reused', async () => {
    const files = { Dockerfile: 'FROM busybox\nRUN true # old record\n' };
    const a = await buildFiles(root, files);
    const ev = a.events.find((e) => e.type === 'step-cache' && e.step === 2);
    assert.ok(ev && ev.type === 'step-cache' && ev.key);
    const store = await ImageStore.open(root);
    const rec = (await store.cache.get(ev.key))!;
    await store.cache.put(ev.key, { parts: rec.parts, extra: rec.extra });
    const b = await buildFiles(root, files);
    assert.deepEqual(b.misses, [2]);
    assert.equal(b.config.rootfs.diff_ids.at(-1), EMPTY_TAR_DIFF_ID);
    assert.equal(b.config.history?.at(-1)?.empty_layer, undefined);
  });
});
