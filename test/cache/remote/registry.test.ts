/**
 * --cache-to/--cache-from type=registry against the real registry, with separate stores as
 * separate CI runners: a full hit on a fresh runner with the same image digest and only the
 * needed layers fetched; a one-file change; four concurrent exporters; a registry that fails
 * mid-import.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildContext, buildSkipReason, cleanupTemp, distributableOf, makeStoreRoot, writeContext } from '../../helpers/build.js';
import { ImageStore } from '../../../src/store/image-store.js';
import { registryMissing, startFaultProxy, startRegistry, type FaultProxy, type TestRegistry } from '../../helpers/registry.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { classifyManifest } from '../../../src/registry/pull.js';
import { CACHE_ARTIFACT_TYPE, CACHE_CONFIG_MEDIA_TYPE, decodeCacheConfig } from '../../../src/cache/remote/format.js';
import { blobGets, hitSources, project, SDE, spawnBuild, stepOf, warnings } from './helpers.js';

const skip = buildSkipReason() || registryMissing;

describe('remote cache: type=registry', { skip }, () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  before(async () => {
    registry = await startRegistry('anonymous');
    proxy = await startFaultProxy(registry.domain);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await cleanupTemp();
  });

  it('runner B (empty store) hits every step of what runner A exported, same digest, fetching only the layers it needs', async () => {
    const ref = `${proxy.domain}/cache/app:main`;
    const ctx = await writeContext(project());
    const a = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheTo: [{ type: 'registry', ref, mode: 'max' }] });
    assert.equal(a.hits.length, 0, 'runner A builds everything');
    assert.deepEqual(warnings(a), []);

    // The export is an OCI artifact: cache config + the layers of every step (mode=max).
    const client = new RegistryClient(proxy.domain);
    const m = await client.getManifest('cache/app', 'main');
    const parsed = classifyManifest(m.bytes, m.mediaType);
    assert.equal(parsed.kind, 'manifest');
    const manifest = parsed.kind === 'manifest' ? parsed.manifest : undefined;
    assert.equal(manifest?.artifactType, CACHE_ARTIFACT_TYPE);
    assert.equal(manifest?.config.mediaType, CACHE_CONFIG_MEDIA_TYPE);
    client.close();
    // The cache holds the gzip variants of the build's (uncompressed) layers: what a push sends.
    const builtLayers = (await a.distributable()).manifest.layers.slice(1).map((l) => l.digest);
    for (const d of builtLayers) assert.ok(manifest!.layers.some((l) => l.digest === d), `export holds final layer ${d}`);
    assert.ok(manifest!.layers.length > builtLayers.length, 'mode=max holds the intermediate stage layers too');

    proxy.log.length = 0;
    const rootB = await makeStoreRoot();
    const b = await buildContext(rootB, ctx, { sourceDateEpoch: SDE, cacheFrom: [{ type: 'registry', ref }] });
    assert.deepEqual(b.misses, [], 'every step a hit');
    assert.equal(b.hits.length, a.misses.length);
    assert.equal(b.result.imageId, a.result.imageId, 'same image');
    assert.equal((await b.distributable()).digest, (await a.distributable()).digest, 'same pushed digest');
    for (const [, source] of hitSources(b)) assert.equal(source, `registry:${ref}`);
    // Fetched: the cache config and the final image's own layers (not the base's, which B has;
    // not the intermediate stage's, whose filesystem no step needed).
    const gets = blobGets(proxy.log);
    assert.deepEqual(new Set(gets), new Set([manifest!.config.digest, ...builtLayers]));
    assert.equal(gets.length, new Set(gets).size, 'each blob fetched once');

    // Fetched layers were recorded locally: B's next build, without the source, hits the final
    // stage's steps in its own store; the intermediate stage's (never fetched) build again.
    const b2 = await buildContext(rootB, ctx, { sourceDateEpoch: SDE });
    const finalSteps = ['COPY --from=build /src/out.txt /out.txt', 'COPY c.txt /c.txt', 'RUN cat /out.txt /c.txt > /all.txt'].map((i) => stepOf(b2, i));
    assert.deepEqual([...hitSources(b2)].sort((x, y) => x[0] - y[0]), finalSteps.sort((x, y) => x - y).map((s) => [s, 'local']));
    assert.equal((await b2.distributable()).digest, (await a.distributable()).digest);
  });

  it('after a one-file change only the steps from that COPY on run', async () => {
    const ref = `${proxy.domain}/cache/app:onefile`;
    const a = await buildContext(await makeStoreRoot(), await writeContext(project()), { sourceDateEpoch: SDE, cacheTo: [{ type: 'registry', ref, mode: 'max' }] });
    const changed = await buildContext(await makeStoreRoot(), await writeContext(project('B changed\n')), { sourceDateEpoch: SDE, cacheFrom: [{ type: 'registry', ref }] });
    const hit = (i: string) => changed.hits.includes(stepOf(changed, i));
    assert.ok(hit('RUN echo base > /base.txt') && hit('WORKDIR /src'), 'steps before the COPY hit');
    for (const i of ['COPY a.txt b.txt ./', 'RUN cat a.txt b.txt > out.txt', 'COPY --from=build /src/out.txt /out.txt', 'COPY c.txt /c.txt', 'RUN cat /out.txt /c.txt > /all.txt']) {
      assert.ok(changed.misses.includes(stepOf(changed, i)), `${i} runs`);
    }
    assert.notEqual(changed.result.manifestDescriptor.digest, a.result.manifestDescriptor.digest);
  });

  it('four runners exporting to the same ref in parallel never leave it incomplete; the last complete export wins', async () => {
    const ref = `${registry.domain}/cache/app:shared`;
    const roots = await Promise.all([0, 1, 2, 3].map(() => makeStoreRoot()));
    const ctxs = await Promise.all([0, 1, 2, 3].map((i) => writeContext(project('b\n', `c${i}\n`))));
    const client = new RegistryClient(registry.domain);
    let done = false;
    let checks = 0;
    const seen = new Set<string>();
    const poll = (async () => {
      while (!done) {
        const digest = await client.manifestDigest('cache/app', 'shared');
        if (digest) {
          // Whatever the tag names now is a complete export: its config parses and every layer is there.
          const m = await client.getManifest('cache/app', digest);
          const p = classifyManifest(m.bytes, m.mediaType);
          assert.equal(p.kind, 'manifest');
          if (p.kind !== 'manifest') return;
          const { body } = await client.blobStream('cache/app', p.manifest.config.digest);
          const chunks: Buffer[] = [];
          for await (const c of body) chunks.push(c as Buffer);
          const records = decodeCacheConfig(Buffer.concat(chunks), 'poll');
          assert.ok(records.size > 0);
          for (const l of p.manifest.layers) assert.equal(await client.blobSize('cache/app', l.digest), l.size, `layer ${l.digest} of ${digest} is present`);
          seen.add(digest);
          checks++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    // Separate processes, as separate CI runners (and each its own store).
    const metas = roots.map((root) => path.join(root, 'metadata.json'));
    let runs;
    try {
      runs = await Promise.all(roots.map((root, i) => spawnBuild(root, ['--cache-to', `type=registry,ref=${ref},mode=max`, '--metadata-file', metas[i], ctxs[i]], { SOURCE_DATE_EPOCH: String(SDE) })));
    } finally {
      done = true;
      await poll;
    }
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const metadata = await Promise.all(metas.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as Record<string, unknown>));
    for (const r of runs) assert.doesNotMatch(r.stdout + r.stderr, /cache export .* failed/);
    const exported = metadata.map((md) => (md['mybuild.remoteCache'] as { exports: { digest: string }[] }).exports[0]?.digest);
    assert.equal(new Set(exported).size, 4, 'four different exports');
    const final = await client.manifestDigest('cache/app', 'shared');
    client.close();
    const winner = exported.indexOf(final ?? '');
    assert.ok(winner >= 0, 'the ref names one of the complete exports');
    for (const d of seen) assert.ok(exported.includes(d), 'every state the ref went through was a complete export');
    assert.ok(checks > 0, 'the ref was checked while the exports ran');
    const b = await buildContext(await makeStoreRoot(), ctxs[winner], { sourceDateEpoch: SDE, cacheFrom: [{ type: 'registry', ref }] });
    assert.deepEqual(b.misses, []);
    assert.equal(b.result.imageId, metadata[winner]['containerimage.config.digest']);
    const winnerImage = await (await ImageStore.open(roots[winner])).resolve(String(metadata[winner]['containerimage.digest']));
    assert.equal((await b.distributable()).digest, (await distributableOf(roots[winner], winnerImage.descriptor)).digest, 'the same image as the winner pushes');
  });

  it('unreachable, missing and corrupt sources are warnings; the next source still serves', async () => {
    const ref = `${registry.domain}/cache/app:faults`;
    const ctx = await writeContext(project('b\n', 'faults\n'));
    const a = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheTo: [{ type: 'registry', ref, mode: 'max' }] });
    const corrupt = await startFaultProxy(registry.domain);
    corrupt.faults.push({ match: (r) => r.method === 'GET' && r.url.includes('/blobs/'), action: 'corrupt', times: 1000 });
    try {
      const b = await buildContext(await makeStoreRoot(), ctx, {
        sourceDateEpoch: SDE,
        cacheFrom: [
          { type: 'registry', ref: `${registry.domain}/cache/app:does-not-exist` },
          { type: 'registry', ref: `${corrupt.domain}/cache/app:faults` },
          { type: 'registry', ref },
        ],
      });
      const w = warnings(b);
      assert.equal(w.length, 2, w.join('\n'));
      assert.match(w[0], /does-not-exist.*unusable|unusable.*does-not-exist/);
      assert.match(w[1], new RegExp(`${corrupt.domain}.*unusable`));
      assert.deepEqual(b.misses, []);
      for (const [, source] of hitSources(b)) assert.equal(source, `registry:${ref}`);
      assert.equal((await b.distributable()).digest, (await a.distributable()).digest);
    } finally {
      await corrupt.stop();
    }
  });

  it('the cache registry going away mid-import: the build still succeeds by building, with a warning', async () => {
    const ref = `${registry.domain}/cache/app:midway`;
    const ctx = await writeContext(project('b\n', 'midway\n'));
    const a = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheTo: [{ type: 'registry', ref, mode: 'max' }] });
    const client = new RegistryClient(registry.domain);
    const m = await client.getManifest('cache/app', 'midway');
    client.close();
    const p = classifyManifest(m.bytes, m.mediaType);
    const configDigest = p.kind === 'manifest' ? p.manifest.config.digest : '';
    // The manifest and the cache config come through; then every layer download is cut off.
    const flaky = await startFaultProxy(registry.domain);
    flaky.faults.push({ match: (r) => r.method === 'GET' && r.url.includes('/blobs/') && !r.url.includes(configDigest), action: 'reset', times: 1000 });
    try {
      const b = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheFrom: [{ type: 'registry', ref: `${flaky.domain}/cache/app:midway` }] });
      assert.ok(b.hits.length > 0, 'the first attempt hit the remote records');
      assert.ok(warnings(b).some((w) => /fetching layer .* failed.*building again without the imported cache/s.test(w)), warnings(b).join('\n'));
      assert.ok(b.misses.length >= a.misses.length, 'the steps were built');
      assert.equal((await b.distributable()).digest, (await a.distributable()).digest);
      assert.ok(flaky.log.some((l) => l.fault === 'reset'));
    } finally {
      await flaky.stop();
    }
  });
});
