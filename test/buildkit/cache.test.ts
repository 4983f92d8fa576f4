/**
 * BuildKit's cache tests (frontend/dockerfile/dockerfile_cache_test.go) as cases: local and
 * registry cache export/import (the registry is Debian's docker-registry on 127.0.0.1), --no-cache,
 * reproducible image IDs, cache keys of wildcards. Upstream's "prune all" is a new store here.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseCacheTo } from '../../src/cache/remote/spec.js';
import { buildContext, mountsUnder, runcContainers, runCliProcess, storeProblems, tempDir } from '../helpers/build.js';
import { registryMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeBkStore, runCases, type Case, type CaseResult } from './harness.js';

let registry: TestRegistry | undefined;
if (!registryMissing) registry = await startRegistry('anonymous');
after(() => registry?.stop());
const reg = (): string => registry!.domain;

const uniqueDf = 'FROM busybox AS base\nCOPY foo const\n#RUN echo -n foobar > const\nRUN cat /dev/urandom | head -c 100 | sha256sum > unique\nFROM scratch\nCOPY --from=base const /\nCOPY --from=base unique /\n';

/** Builds `r`'s context again in a new store (upstream: after pruning all cache) and returns the export's /unique and the image. */
async function rebuildElsewhere(r: CaseResult, opts: Parameters<typeof buildContext>[2]) {
  const out = path.join(await tempDir('mybuild-bkout-'), 'out');
  const b = await buildContext(await makeBkStore(), r.contextDir, { ...opts, outputs: [{ type: 'image' }, { type: 'local', dest: out }] });
  return { b, out };
}

let first = '';
let second = '';
const remember = async (r: CaseResult) => {
  first = await r.read('unique');
};

const cases: Case[] = [
  {
    name: 'testCacheReleased',
    what: 'after a build nothing is held: no mounts, no containers, a consistent store',
    dockerfile: 'FROM busybox\n',
    freshStore: true,
    check: async (r) => {
      assert.deepEqual(await mountsUnder(r.root), []);
      assert.deepEqual(runcContainers(r.root), []);
      assert.deepEqual(await storeProblems(r.root), []);
    },
  },
  {
    name: 'testExportCacheLoop',
    what: 'a local cache exported, then exported again while imported, from a new store',
    // upstream's base is alpine; busybox serves
    dockerfile: 'FROM busybox as base\nRUN echo aa > /foo\nWORKDIR /bar\nFROM base as base1\nCOPY hello.txt .\nFROM base as base2\nCOPY --from=base1 /bar/hello.txt .\nRUN true\nFROM scratch\nCOPY --from=base2 /foo /f\n',
    context: { 'hello.txt': 'hello' },
    check: async (r) => {
      const dest = path.join(await tempDir('mybuild-bkcache-'), 'cache');
      await buildContext(await makeBkStore(), r.contextDir, { cacheTo: [{ type: 'local', dest, tag: 'latest', mode: 'min' }] });
      await buildContext(await makeBkStore(), r.contextDir, { cacheTo: [{ type: 'local', dest, tag: 'latest', mode: 'min' }], cacheFrom: [{ type: 'local', src: dest, tag: 'latest' }] });
    },
  },
  {
    name: 'testCacheMultiPlatformImportExport',
    what: 'inline cache of a two-platform image, pushed, imported from a new store: same index, same per-platform files',
    dockerfile: 'FROM --platform=$BUILDPLATFORM busybox AS base\nARG TARGETARCH\nRUN echo -n $TARGETARCH> arch && cat /dev/urandom | head -c 100 | sha256sum > unique\nFROM scratch\nCOPY --from=base unique /\nCOPY --from=base arch /\n',
    skip: registryMissing || undefined,
    check: async (r) => {
      const ref = `${reg()}/buildkit/testexportdf:multi-img`;
      const a = await buildContext(await makeBkStore(), r.contextDir, { platform: 'linux/amd64,linux/arm/v7', tags: [ref], push: true, cacheTo: [{ type: 'inline' }] });
      assert.equal(a.manifest.mediaType, 'application/vnd.oci.image.index.v1+json', 'a two-platform build pushes an index');
      const b = await buildContext(await makeBkStore(), r.contextDir, { platform: 'linux/amd64,linux/arm/v7', tags: [ref], push: true, cacheTo: [{ type: 'inline' }], cacheFrom: [{ type: 'registry', ref }] });
      // Upstream compares the pushed index (the stores differ: a fresh build keeps its layers uncompressed, a cache hit as the cache holds them).
      const pushed = (x: typeof a) => (x.result.metadata.pushed as Record<string, string>)[ref];
      assert.match(pushed(a), /^sha256:/);
      assert.equal(pushed(b), pushed(a));
    },
  },
  {
    name: 'testImageManifestCacheImportExport',
    what: 'a registry cache with oci-mediatypes=true is an OCI image manifest whose config is the cache config; importing it reuses the RUN',
    todo: 'issue 16: --cache-to type=registry refuses oci-mediatypes= and image-manifest=: --cache-to: unknown field "oci-mediatypes"',
    dockerfile: uniqueDf,
    context: { foo: 'foobar' },
    skip: registryMissing || undefined,
    noBuild: true,
    check: async (r) => {
      const ref = `${reg()}/buildkit/testexportdf:imgmanifest`;
      const a = await rebuildElsewhere(r, { cacheTo: [parseCacheTo(`type=registry,ref=${ref},oci-mediatypes=true,image-manifest=true`)] });
      const res = await fetch(`http://${ref.replace('/buildkit/', '/v2/buildkit/').replace(':imgmanifest', '/manifests/imgmanifest')}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' } });
      const m = (await res.json()) as { mediaType?: string; config?: { mediaType?: string } };
      assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(m.config?.mediaType, 'application/vnd.buildkit.cacheconfig.v0');
      const b = await rebuildElsewhere(r, { cacheFrom: [{ type: 'registry', ref }] });
      const { readFile } = await import('node:fs/promises');
      assert.equal(await readFile(path.join(b.out, 'const'), 'utf8'), 'foobar');
      assert.equal(await readFile(path.join(b.out, 'unique'), 'utf8'), await readFile(path.join(a.out, 'unique'), 'utf8'));
    },
  },
  {
    name: 'testCacheImportExport',
    what: 'a registry cache imported into a new store reuses the RUN',
    dockerfile: uniqueDf,
    context: { foo: 'foobar' },
    skip: registryMissing || undefined,
    noBuild: true,
    check: async (r) => {
      const ref = `${reg()}/buildkit/testexportdf:latest`;
      const a = await rebuildElsewhere(r, { cacheTo: [{ type: 'registry', ref, mode: 'min' }] });
      const b = await rebuildElsewhere(r, { cacheFrom: [{ type: 'registry', ref }] });
      const { readFile } = await import('node:fs/promises');
      assert.equal(await readFile(path.join(b.out, 'const'), 'utf8'), 'foobar');
      assert.equal(await readFile(path.join(b.out, 'unique'), 'utf8'), await readFile(path.join(a.out, 'unique'), 'utf8'));
    },
  },
  {
    name: 'testReproducibleIDs',
    what: 'the same build under two names is the same manifest',
    dockerfile: 'FROM busybox\nENV foo=bar\nCOPY foo /\nRUN echo bar > bar\n',
    context: { foo: 'foo-contents' },
    opts: { tags: ['example.com/moby/dockerfileids:test'] },
    check: async (r) => {
      const again = await buildContext(r.root, r.contextDir, { tags: ['example.com/moby/dockerfileids2:test'] });
      assert.equal(again.result.manifestDescriptor.digest, r.build.result.manifestDescriptor.digest);
    },
  },
  {
    name: 'testImportExportReproducibleIDs',
    what: 'an image rebuilt from its registry cache in a new store is the same manifest',
    dockerfile: 'FROM busybox\nENV foo=bar\nCOPY foo /\nRUN echo bar > bar\n',
    context: { foo: 'foobar' },
    skip: registryMissing || undefined,
    noBuild: true,
    check: async (r) => {
      const ref = `${reg()}/test/dockerfileexpids:cache`;
      const a = await rebuildElsewhere(r, { tags: ['example.com/moby/dockerfileexpids:test'], cacheTo: [{ type: 'registry', ref, mode: 'min' }] });
      const b = await rebuildElsewhere(r, { tags: ['example.com/moby/dockerfileexpids2:test'], cacheFrom: [{ type: 'registry', ref }] });
      // Lazy compression: the store keeps a fresh build's layers uncompressed and a cache hit's as
      // the cache holds them (gzip), so the two stores' manifests differ; the image ID and what a
      // push or export sends (BuildKit's exported manifest) are the same.
      assert.equal(b.b.result.imageId, a.b.result.imageId);
      assert.equal((await b.b.distributable()).digest, (await a.b.distributable()).digest);
    },
  },
  {
    name: 'testNoCache',
    what: '--no-cache reruns every RUN',
    dockerfile: 'FROM busybox AS s0\nRUN cat /dev/urandom | head -c 100 | sha256sum | tee unique\nFROM busybox AS s1\nRUN cat /dev/urandom | head -c 100 | sha256sum | tee unique2\nFROM scratch\nCOPY --from=s0 unique /\nCOPY --from=s1 unique2 /\n',
    check: async (r) => {
      await remember(r);
      second = await r.read('unique2');
    },
    builds: [
      {
        opts: { noCache: true },
        check: async (r) => {
          assert.notEqual(await r.read('unique'), first);
          assert.notEqual(await r.read('unique2'), second);
        },
      },
    ],
  },
  {
    name: 'testNoCache/filter',
    what: '--no-cache-filter s1 reruns only stage s1',
    dockerfile: 'FROM busybox AS s0\nRUN cat /dev/urandom | head -c 100 | sha256sum | tee unique\nFROM busybox AS s1\nRUN cat /dev/urandom | head -c 100 | sha256sum | tee unique2\nFROM scratch\nCOPY --from=s0 unique /\nCOPY --from=s1 unique2 /\n',
    check: async (r) => {
      const u1 = await r.read('unique');
      const u2 = await r.read('unique2');
      const out = path.join(await tempDir('mybuild-bkout-'), 'out');
      const p = await runCliProcess(['--root', r.root, 'build', '--no-cache-filter', 's1', '--output', `type=local,dest=${out}`, '.'], { cwd: r.contextDir });
      assert.equal(p.code, 0, p.stderr);
      const { readFile } = await import('node:fs/promises');
      assert.equal(await readFile(path.join(out, 'unique'), 'utf8'), u1);
      assert.notEqual(await readFile(path.join(out, 'unique2'), 'utf8'), u2);
    },
  },
  {
    name: 'testCacheMountModeNoCache',
    what: 'a --no-cache RUN gets a new cache mount with mode= (FOO=def sees no abc); a later build without --no-cache uses a kept one',
    dockerfile: 'FROM busybox AS base\nARG FOO=abc\nRUN --mount=type=cache,target=/cache,mode=0773 touch /cache/$FOO && ls -l /cache | wc -l > /out\nFROM scratch\nCOPY --from=base /out /\n',
    freshStore: true,
    files: { out: '2\n' },
    builds: [
      { opts: { noCache: true, buildArgs: { FOO: 'def' } }, files: { out: '2\n' } },
      { opts: { buildArgs: { FOO: 'ghi' } }, files: { out: '3\n' } },
    ],
  },
  {
    name: 'testWildcardRenameCache',
    what: 'renaming the file a wildcard matched breaks the cache of the COPY',
    // upstream's base is alpine; busybox serves
    dockerfile: 'FROM busybox\nCOPY file* /files/\nRUN ls /files/file1\n',
    context: { file1: 'foo' },
    builds: [{ update: { file1: null, file2: 'foo' }, error: /ls \/files\/file1|did not complete successfully/ }],
  },
];

runCases('buildkit: cache (dockerfile_cache_test.go)', cases);
