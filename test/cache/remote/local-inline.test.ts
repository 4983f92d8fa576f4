/** --cache-to/--cache-from type=local (an OCI layout directory) and type=inline (a label on a pushed image). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildContext, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, writeContext } from '../../helpers/build.js';
import { registryMissing, startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { decodeCacheConfig, INLINE_CACHE_LABEL } from '../../../src/cache/remote/format.js';
import { hitSources, project, SDE, stepOf, warnings } from './helpers.js';

const skip = buildSkipReason();

describe('remote cache: type=local', { skip }, () => {
  after(cleanupTemp);

  it('round trip through a directory (mode=max): every step a hit, same digest; re-export replaces the tag atomically', async () => {
    const dir = path.join(await tempDir('mybuild-cache-dir-'), 'cache');
    const ctx = await writeContext(project());
    const a = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheTo: [{ type: 'local', dest: dir, tag: 'latest', mode: 'max' }] });
    const b = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheFrom: [{ type: 'local', src: dir, tag: 'latest' }] });
    assert.deepEqual(b.misses, []);
    assert.equal((await b.distributable()).digest, (await a.distributable()).digest);
    for (const [, s] of hitSources(b)) assert.equal(s, `local:${dir}`);

    // Export again (another c.txt) to the same tag: one manifest for the tag, no temp files left.
    await buildContext(await makeStoreRoot(), await writeContext(project('b\n', 'other\n')), { sourceDateEpoch: SDE, cacheTo: [{ type: 'local', dest: dir, tag: 'latest', mode: 'max' }] });
    const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
    assert.equal(index.manifests.length, 1);
    const names = [...(await readdir(dir)), ...(await readdir(path.join(dir, 'blobs', 'sha256')))];
    assert.ok(!names.some((n) => n.includes('.tmp-')), names.join(' '));
  });

  it('mode=min keeps only the final image chain: the intermediate stage builds, the final steps hit', async () => {
    const dir = path.join(await tempDir('mybuild-cache-dir-'), 'cache');
    const ctx = await writeContext(project('b\n', 'min\n'));
    const a = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheTo: [{ type: 'local', dest: dir, tag: 'min', mode: 'min' }] });
    const b = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheFrom: [{ type: 'local', src: dir, tag: 'min' }] });
    const finals = ['COPY --from=build /src/out.txt /out.txt', 'COPY c.txt /c.txt', 'RUN cat /out.txt /c.txt > /all.txt'].map((i) => stepOf(b, i));
    assert.deepEqual([...b.hits].sort((x, y) => x - y), [...finals].sort((x, y) => x - y));
    assert.equal((await b.distributable()).digest, (await a.distributable()).digest);
  });

  it('a missing directory is a warning and the build builds', async () => {
    const b = await buildContext(await makeStoreRoot(), await writeContext(project('b\n', 'nodir\n')), { sourceDateEpoch: SDE, cacheFrom: [{ type: 'local', src: '/nonexistent/cache', tag: 'latest' }] });
    assert.equal(b.hits.length, 0);
    assert.match(warnings(b).join('\n'), /local:\/nonexistent\/cache is unusable/);
  });
});

describe('remote cache: type=inline', { skip: skip || registryMissing }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry('anonymous');
  });
  after(async () => {
    await registry?.stop();
    await cleanupTemp();
  });

  it('the cache rides in the pushed image; --cache-from IMAGE on a fresh store hits every step', async () => {
    const files = { Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt /a.txt > /b.txt\nENV X=1\n', 'a.txt': 'inline\n' };
    const ctx = await writeContext(files);
    const image = `${registry.domain}/app/inline:1`;
    const a = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, tags: [image], push: true, cacheTo: [{ type: 'inline' }] });
    const label = a.config.config?.Labels?.[INLINE_CACHE_LABEL];
    assert.ok(label, 'the image config carries the inline cache label');
    const records = decodeCacheConfig(label, 'label');
    assert.equal(records.size, 2);
    for (const r of records.values()) assert.equal(r.parts, undefined, 'inline records carry no readable parts');

    const b = await buildContext(await makeStoreRoot(), ctx, { sourceDateEpoch: SDE, cacheFrom: [{ type: 'registry', ref: image }], cacheTo: [{ type: 'inline' }] });
    assert.deepEqual(b.misses, []);
    assert.equal(b.hits.length, 2);
    assert.equal((await b.distributable()).digest, (await a.distributable()).digest);
  });
});
