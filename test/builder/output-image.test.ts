/**
 * `--output` image keys (src/builder/output-spec.ts, src/builder/image-export.ts), through the
 * CLI: type=image names the image (`name=`, a comma list), type=registry pushes to the real
 * registry (Debian's docker-registry on 127.0.0.1; skopeo reads it back), store=false keeps it
 * out of the store, push-by-digest pushes no tag, compression / compression-level /
 * force-compression / oci-mediatypes re-encode the layers and manifest, rewrite-timestamp
 * clamps the mtimes of the layers after the base image's to SOURCE_DATE_EPOCH; every other key
 * is refused by name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { parseOutput } from '../../src/builder/output-spec.js';
import { UsageError } from '../../src/errors.js';
import { openLayer } from '../../src/image/layer-reader.js';
import type { Manifest } from '../../src/oci/types.js';
import { ImageStore } from '../../src/store/image-store.js';
import { buildSkipReason, cleanupTemp, distributableOf, makeStoreRoot, writeContext } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { registryMissing, run, skopeoMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
const TAR = 'application/vnd.oci.image.layer.v1.tar';

describe('--output keys: parsing', () => {
  it('reads every honoured key', () => {
    assert.deepEqual(parseOutput('type=image,"name=a:1,b:2",push=true,store=false'), { type: 'image', names: ['a:1', 'b:2'], push: true, store: false });
    assert.deepEqual(parseOutput('type=registry,name=r.example/a:1'), { type: 'image', names: ['r.example/a:1'], push: true });
    assert.deepEqual(parseOutput('type=registry,name=a,push-by-digest=true,registry.insecure=true'), { type: 'image', names: ['a'], push: true, pushByDigest: true, insecure: true });
    assert.deepEqual(parseOutput('type=image,name=a,compression=zstd,compression-level=12,force-compression=true,oci-mediatypes=false,rewrite-timestamp=true'), {
      type: 'image', names: ['a'], compression: 'zstd', compressionLevel: 12, forceCompression: true, format: 'docker', rewriteTimestamp: true,
    });
    assert.deepEqual(parseOutput('type=oci,dest=x,compression=uncompressed,name=app:1'), { type: 'oci', dest: 'x', tar: true, names: ['app:1'], compression: 'none' });
    assert.deepEqual(parseOutput('type=local,dest=d,platform-split=false'), { type: 'local', dest: 'd', platformSplit: false });
    assert.deepEqual(parseOutput('type=cacheonly'), { type: 'cacheonly' });
    assert.deepEqual(parseOutput('type=oci,dest=x,source-date-epoch=12'), { type: 'oci', dest: 'x', tar: true, sourceDateEpoch: 12 });
    assert.deepEqual(parseOutput('type=image,source-date-epoch='), { type: 'image', sourceDateEpoch: null });
    assert.deepEqual(parseOutput('type=image,unpack=false'), { type: 'image' });
  });

  it('refuses what is not honoured, naming the key', () => {
    const cases: [string, RegExp][] = [
      ['type=image,name=a,bogus=1', /type=image: bogus: unknown key/],
      ['type=image,compression=estargz', /compression: estargz is not supported/],
      ['type=image,compression=lz4', /compression: must be uncompressed, gzip or zstd/],
      ['type=image,compression-level=10', /compression-level: must be 0\.\.9 for gzip/],
      ['type=image,compression=zstd,compression-level=25', /compression-level: must be 1\.\.19 for zstd/],
      ['type=image,compression=uncompressed,compression-level=1', /compression-level: uncompressed layers have no level/],
      ['type=image,unpack=true', /unpack: true is not supported/],
      ['type=image,name-canonical=true', /name-canonical: not supported/],
      ['type=image,dangling-name-prefix=x', /dangling-name-prefix: not supported/],
      ['type=image,annotation.org.opencontainers.image.title=t', /annotation\.org\.opencontainers\.image\.title: not supported/],
      ['type=registry,oci-artifact=true', /type=registry: oci-artifact: not supported/],
      ['type=image,push=maybe', /push: must be true or false/],
      ['type=image,source-date-epoch=soon', /source-date-epoch: invalid SOURCE_DATE_EPOCH: soon/],
      ['type=image,name=UPPER/Case', /name: invalid reference "UPPER\/Case"/],
      ['type=local,dest=d,platform-split=true', /platform-split: true is not supported/],
      ['type=local,dest=d,compression=gzip', /type=local: compression: unknown key/],
      ['type=tar,dest=-', /dest: writing to stdout is not supported/],
      ['type=zip,dest=x', /unknown type "zip"/],
    ];
    for (const [value, re] of cases) {
      assert.throws(() => parseOutput(value), (e: unknown) => e instanceof UsageError && re.test(e.message), value);
    }
  });
});

const skip = buildSkipReason() || registryMissing || skopeoMissing;

describe('--output image and registry exporters', { skip }, () => {
  let reg: TestRegistry;
  let root: string;
  let ctx: string;
  before(async () => {
    reg = await startRegistry('anonymous');
    root = await makeStoreRoot();
    ctx = await writeContext({ Dockerfile: 'FROM busybox\nCOPY f /f\nRUN echo built > /built\n', f: 'file f\n' });
  });
  after(async () => {
    await reg?.stop();
    await cleanupTemp();
  });
  const build = async (...args: string[]) => {
    // BUILDX_NO_DEFAULT_ATTESTATIONS: the pushes here are of the image itself (buildx's default provenance: test/registry/provenance-e2e.test.ts).
    const r = await runCli(['--root', root, 'build', '-q', ...args, ctx], { env: { PATH: process.env.PATH, HOME: root, DOCKER_CONFIG: `${root}/docker`, SOURCE_DATE_EPOCH: '1000', BUILDX_NO_DEFAULT_ATTESTATIONS: '1' } });
    assert.equal(r.code, 0, r.err);
    return r.out.trim();
  };
  const refs = async () => (await (await ImageStore.open(root)).listRefs()).map((r) => r.name);
  const manifestOf = async (name: string): Promise<Manifest> => {
    const store = await ImageStore.open(root);
    const img = await store.resolve(name);
    return img.manifest;
  };
  const remote = async (ref: string) => JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`])) as Manifest;

  it('type=image,name=X names the image (a comma list names it twice), and nothing else', async () => {
    const id = await build('-o', 'type=image,"name=out:a,out:b"');
    const names = await refs();
    assert.ok(names.includes('docker.io/library/out:a') && names.includes('docker.io/library/out:b'), names.join(' '));
    const store = await ImageStore.open(root);
    assert.equal((await store.resolve('out:a')).configDigest, id);
  });

  it('type=registry pushes to the registry; store=false keeps it out of the store', async () => {
    const name = `${reg.domain}/app:1`;
    await build('-o', `type=registry,name=${name},store=false`);
    const m = await remote(name);
    assert.equal(m.layers.length, 3);
    assert.ok(!(await refs()).includes(name), 'store=false: not in the store');
    // type=image,push=true with -t does the same and keeps the name locally.
    const tagged = `${reg.domain}/app:2`;
    await build('-t', tagged, '-o', 'type=image,push=true');
    // The store keeps the build's layers uncompressed; the registry got their gzip variants.
    const store = await ImageStore.open(root);
    assert.deepEqual(await remote(tagged), (await distributableOf(root, (await store.resolve(tagged)).descriptor)).manifest);
  });

  it('push-by-digest=true pushes the manifest without its tag', async () => {
    await build('-o', `type=registry,name=${reg.domain}/bydigest:1,push-by-digest=true`);
    const store = await ImageStore.open(root);
    const { digest, manifest: local } = await distributableOf(root, (await store.resolve(`${reg.domain}/bydigest:1`)).descriptor);
    assert.deepEqual(await remote(`${reg.domain}/bydigest@${digest}`), local);
    await assert.rejects(remote(`${reg.domain}/bydigest:1`), /manifest unknown|not found/i);
  });

  it('compression=zstd re-encodes the layers this build made; force-compression=true the base layer too', async () => {
    await build('-o', 'type=image,name=z:1,compression=zstd');
    assert.deepEqual((await manifestOf('z:1')).layers.map((l) => l.mediaType), [GZIP, ZSTD, ZSTD]);
    await build('-o', 'type=image,name=z:2,compression=zstd,force-compression=true');
    assert.deepEqual((await manifestOf('z:2')).layers.map((l) => l.mediaType), [ZSTD, ZSTD, ZSTD]);
    await build('-o', 'type=image,name=z:3,compression=uncompressed');
    assert.deepEqual((await manifestOf('z:3')).layers.map((l) => l.mediaType), [GZIP, TAR, TAR]);
    // The content is the same: the diff IDs (and so the config) do not change.
    const store = await ImageStore.open(root);
    assert.equal((await store.resolve('z:1')).configDigest, (await store.resolve('z:2')).configDigest);
  });

  it('compression-level=9 rewrites the build\'s gzip layers at that level; oci-mediatypes=false writes Docker media types', async () => {
    const plain = await manifestOf('out:a');
    await build('-o', 'type=image,name=lvl:9,compression-level=9');
    const lvl = await manifestOf('lvl:9');
    assert.equal(lvl.layers[0].digest, plain.layers[0].digest, 'the base layer is kept');
    assert.equal(lvl.layers[1].mediaType, GZIP);
    await build('-o', 'type=image,name=docker:1,oci-mediatypes=false');
    const d = await manifestOf('docker:1');
    assert.equal(d.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.deepEqual(d.layers.map((l) => l.mediaType), Array(3).fill('application/vnd.docker.image.rootfs.diff.tar.gzip'));
  });

  it('rewrite-timestamp=true clamps the mtimes of the build\'s layers to SOURCE_DATE_EPOCH and annotates them; the base image\'s layer is kept (BuildKit)', async () => {
    await build('-o', 'type=image,name=ts:1,rewrite-timestamp=true');
    const store = await ImageStore.open(root);
    const m = await manifestOf('ts:1');
    let newest = 0;
    let entries = 0;
    for (const l of m.layers.slice(1)) {
      assert.equal(l.annotations?.['buildkit/rewritten-timestamp'], '1000');
      const extract = tarStream.extract();
      extract.on('entry', (h, s, next) => {
        entries++;
        newest = Math.max(newest, (h.mtime?.getTime() ?? 0) / 1000);
        s.resume();
        s.on('end', next);
      });
      await new Promise<void>((resolve, reject) => {
        extract.on('finish', resolve).on('error', reject);
        void openLayer(store.content, l).then((s) => (s as Readable).pipe(extract), reject);
      });
    }
    assert.ok(entries > 0, 'the build\'s layers were read');
    assert.ok(newest <= 1000, `newest mtime ${newest}`);
    assert.deepEqual(m.layers[0], (await manifestOf('out:a')).layers[0], 'the base layer is kept, unannotated');
    // Without SOURCE_DATE_EPOCH it is refused (before the build runs); so is a push without a name.
    const noName = await runCli(['--root', root, 'build', '-q', '-o', 'type=registry', ctx], { env: { PATH: process.env.PATH } });
    assert.equal(noName.code, 2);
    assert.match(noName.err, /push=true needs a name to push to/);
    const r = await runCli(['--root', root, 'build', '-q', '-o', 'type=image,name=ts:2,rewrite-timestamp=true', ctx], { env: { PATH: process.env.PATH } });
    assert.equal(r.code, 2);
    assert.match(r.err, /rewrite-timestamp=true needs SOURCE_DATE_EPOCH/);
  });

  it('source-date-epoch=N of the exporter wins over the build\'s SOURCE_DATE_EPOCH; source-date-epoch= turns rewrite-timestamp off', async () => {
    await build('-o', 'type=image,name=sde:1,source-date-epoch=500,rewrite-timestamp=true');
    const store = await ImageStore.open(root);
    const img = await store.resolve('sde:1');
    const config = JSON.parse((await store.content.readBytes(img.configDigest)).toString('utf8')) as { created?: string; history?: { created?: string }[] };
    assert.equal(config.created, '1970-01-01T00:08:20Z');
    assert.ok(config.history?.length && config.history.every((h) => h.created && Date.parse(h.created) <= 500_000), JSON.stringify(config.history));
    const ts = await manifestOf('ts:1');
    assert.notEqual(img.manifest.layers.at(-1)!.digest, ts.layers.at(-1)!.digest, 'the layers are clamped to 500, not to the build\'s 1000');
    // No SOURCE_DATE_EPOCH at all, and the exporter says none: no rewrite (BuildKit warns), not an error.
    const r = await runCli(['--root', root, 'build', '-q', '-o', 'type=image,name=sde:2,source-date-epoch=,rewrite-timestamp=true', ctx], { env: { PATH: process.env.PATH } });
    assert.equal(r.code, 0, r.err);
    const plain = await runCli(['--root', root, 'build', '-q', '-o', 'type=image,name=sde:3', ctx], { env: { PATH: process.env.PATH } });
    assert.equal(plain.code, 0, plain.err);
    assert.deepEqual((await manifestOf('sde:2')).layers, (await manifestOf('sde:3')).layers);
  });
});
