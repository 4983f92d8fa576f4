/** The remote cache's pure parts: --cache-to/--cache-from parsing and the cache config format. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCacheFrom, parseCacheTo } from '../../src/cache/remote/spec.js';
import { decodeCacheConfig, encodeCacheConfig, fromExported, toExported, type ExportedRecord } from '../../src/cache/remote/format.js';
import { BuildError, UsageError } from '../../src/errors.js';

const D = (c: string): `sha256:${string}` => `sha256:${c.repeat(64)}`;

describe('parseCacheTo / parseCacheFrom', () => {
  const good: { name: string; input: string; want: unknown; from?: boolean }[] = [
    { name: 'registry, default mode min', input: 'type=registry,ref=127.0.0.1:5000/app:cache', want: { type: 'registry', ref: '127.0.0.1:5000/app:cache', mode: 'min' } },
    { name: 'registry max + zstd', input: 'type=registry,ref=r.example/a/b:c,mode=max,compression=zstd', want: { type: 'registry', ref: 'r.example/a/b:c', mode: 'max', compression: 'zstd' } },
    { name: 'local dest relative to cwd', input: 'type=local,dest=ci-cache', want: { type: 'local', dest: '/w/ci-cache', tag: 'latest', mode: 'min' } },
    { name: 'inline', input: 'type=inline', want: { type: 'inline' } },
    { name: 'from: bare ref', input: '127.0.0.1:5000/app:1', want: { type: 'registry', ref: '127.0.0.1:5000/app:1' }, from: true },
    { name: 'from: local src with tag', input: 'type=local,src=/c,tag=main', want: { type: 'local', src: '/c', tag: 'main' }, from: true },
    { name: 'from: registry', input: 'type=registry,ref=r.example/x', want: { type: 'registry', ref: 'r.example/x:latest' }, from: true },
  ];
  for (const { name, input, want, from } of good) {
    it(name, () => {
      const got = from ? parseCacheFrom(input, '/w') : parseCacheTo(input, '/w');
      assert.deepEqual(got, want);
    });
  }
  const bad: { name: string; input: string; want: RegExp; from?: boolean }[] = [
    { name: 'unknown type', input: 'type=s3,bucket=x', want: /unknown type "s3"/ },
    { name: 'bad mode', input: 'type=registry,ref=r.example/a,mode=all', want: /mode must be min or max, got "all"/ },
    { name: 'registry without ref', input: 'type=registry,mode=max', want: /needs ref=/ },
    { name: 'local without dest', input: 'type=local', want: /needs dest=DIR/ },
    { name: 'unknown field', input: 'type=registry,ref=r.example/a,colour=blue', want: /unknown field "colour"/ },
    { name: 'bad compression', input: 'type=registry,ref=r.example/a,compression=xz', want: /compression must be gzip or zstd/ },
    { name: 'bare value for --cache-to', input: 'r.example/a', want: /needs type=registry/ },
    { name: 'from: bad ref', input: 'UPPER/Case', want: /invalid ref/, from: true },
  ];
  for (const { name, input, want, from } of bad) {
    it(`rejects: ${name}`, () => {
      assert.throws(() => (from ? parseCacheFrom(input, '/w') : parseCacheTo(input, '/w')), (err: unknown) => err instanceof UsageError && want.test(err.message));
    });
  }
});

describe('cache config format', () => {
  const rec = (k: string, layer = true): ExportedRecord => ({
    key: D(k),
    parent: D('f'),
    parts: [`parent=${D('f')}`, `cmd=RUN ${k}`],
    ...(layer ? { layer: { digest: D('1'), diffId: D('2'), size: 10, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' } } : {}),
    createdBy: `RUN ${k}`,
  });

  it('encodes deterministically (sorted by key, duplicates once) and decodes back', () => {
    const a = encodeCacheConfig([rec('b'), rec('a', false), rec('b')]);
    const b = encodeCacheConfig([rec('a', false), rec('b')]);
    assert.equal(a.toString(), b.toString());
    const got = decodeCacheConfig(a, 'test');
    assert.deepEqual([...got.keys()], [D('a'), D('b')]);
    assert.deepEqual(got.get(D('b')), rec('b'));
  });

  it('local records round-trip (parts kept, or reduced to the parent without them)', () => {
    const local = fromExported(rec('c'));
    assert.deepEqual(toExported(local, true), rec('c'));
    const { parts, ...noParts } = rec('c');
    void parts;
    assert.deepEqual(fromExported(noParts).parts, [`parent=${D('f')}`]);
    assert.equal(toExported(local, false).parts, undefined);
  });

  const corrupt: { name: string; input: string; want: RegExp }[] = [
    { name: 'not JSON', input: '{', want: /not valid JSON/ },
    { name: 'wrong version', input: '{"version":2,"records":[]}', want: /not a mybuild cache config/ },
    { name: 'bad key', input: '{"version":1,"records":[{"key":"md5:x"}]}', want: /malformed cache record/ },
    { name: 'bad layer', input: `{"version":1,"records":[{"key":"${D('a')}","layer":{"digest":"x","size":1}}]}`, want: /malformed layer/ },
    { name: 'bad parts', input: `{"version":1,"records":[{"key":"${D('a')}","parts":[1]}]}`, want: /malformed parts/ },
  ];
  for (const { name, input, want } of corrupt) {
    it(`rejects a corrupt config: ${name}`, () => {
      assert.throws(() => decodeCacheConfig(input, 'test'), (err: unknown) => err instanceof BuildError && err.code === 'REGISTRY' && want.test(err.message));
    });
  }
});

describe('mybuild build --cache-from/--cache-to', () => {
  it('are repeatable and resolve local paths against the working directory', async () => {
    const { parseBuildArgs } = await import('../../src/cli/commands/build.js');
    const { Readable } = await import('node:stream');
    const { options } = await parseBuildArgs(
      ['--cache-from', 'r.example/app:cache', '--cache-from', 'type=local,src=c', '--cache-to', 'type=registry,ref=r.example/app:cache,mode=max', '--cache-to', 'type=inline', '.'],
      { cwd: '/w', env: {}, stdin: Readable.from([]) },
    );
    assert.deepEqual(options.cacheFrom, [{ type: 'registry', ref: 'r.example/app:cache' }, { type: 'local', src: '/w/c', tag: 'latest' }]);
    assert.deepEqual(options.cacheTo, [{ type: 'registry', ref: 'r.example/app:cache', mode: 'max' }, { type: 'inline' }]);
  });
});
