/**
 * BuildKit's image export tests (frontend/dockerfile/dockerfile_image_test.go) as cases: images
 * FROM scratch, their config, an OCI layout with several names.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { buildContext, tempDir } from '../helpers/build.js';
import { runCases, type Case } from './harness.js';

interface IndexJson { manifests: { digest: string; mediaType: string; size: number; platform?: unknown; annotations?: Record<string, string> }[] }

function validateIdx(idx: IndexJson): void {
  assert.equal(idx.manifests.length, 2, JSON.stringify(idx));
  const [a, b] = idx.manifests;
  assert.equal(a.digest, b.digest);
  assert.deepEqual(a.platform, b.platform);
  assert.equal(a.mediaType, b.mediaType);
  assert.equal(a.size, b.size);
  assert.equal(a.annotations?.['io.containerd.image.name'], 'docker.io/org/repo:tag1');
  assert.equal(b.annotations?.['io.containerd.image.name'], 'docker.io/org/repo:tag2');
  assert.equal(a.annotations?.['org.opencontainers.image.ref.name'], 'tag1');
  assert.equal(b.annotations?.['org.opencontainers.image.ref.name'], 'tag2');
}

async function indexOfTar(file: string, name = 'index.json'): Promise<IndexJson> {
  const extract = tarStream.extract();
  let found: string | undefined;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      let body = '';
      stream.on('data', (d: unknown) => (body += String(d)));
      stream.on('end', () => {
        if (header.name.replace(/^\.\//, '') === name) found = body;
        next();
      });
    });
    extract.on('finish', resolve).on('error', reject);
  });
  Readable.from([await readFile(file)]).pipe(extract);
  await done;
  assert.ok(found, `${name} in the tar`);
  return JSON.parse(found) as IndexJson;
}

const cases: Case[] = [
  {
    name: 'testPullScratch',
    what: 'an image FROM scratch is a base: its labels carry over, one layer for the COPY',
    dockerfile: 'FROM scratch\nLABEL foo=bar\n',
    opts: { tags: ['bk-testpullscratch:latest'] },
    builds: [
      {
        dockerfile: 'FROM bk-testpullscratch:latest\nLABEL bar=baz\nCOPY foo .\n',
        update: { foo: 'foo-contents' },
        opts: { tags: ['bk-testpullscratch2:latest'] },
        check: (r) => {
          assert.equal(r.build.config.rootfs.type, 'layers');
          assert.equal(r.build.config.rootfs.diff_ids.length, 1);
          assert.equal(r.build.config.config?.Labels?.foo, 'bar');
          assert.equal(r.build.config.config?.Labels?.bar, 'baz');
        },
      },
    ],
    // upstream's last part mounts the image into an LLB busybox run; no Dockerfile form of it
  },
  {
    name: 'testDockerfileScratchConfig',
    dockerfile: 'FROM scratch\nENV foo=bar\n',
    config: (img) => {
      assert.notEqual(img.os ?? '', '');
      assert.notEqual(img.architecture ?? '', '');
      assert.notEqual(img.config?.WorkingDir ?? '', '');
      assert.equal(img.rootfs.type, 'layers');
      assert.equal(img.rootfs.diff_ids.length, 0);
      assert.equal(img.history?.length, 1);
      assert.ok(img.history?.[0].created_by?.includes('ENV foo=bar'));
      assert.equal(img.history?.[0].empty_layer, true);
      assert.ok(img.config?.Env?.includes('foo=bar'));
      assert.ok(img.config?.Env?.some((e) => e.startsWith('PATH=')));
    },
  },
  {
    name: 'testOCILayoutMultiname',
    what: 'an OCI layout (dir and tar) of an image with two names has two index entries',
    dockerfile: 'FROM scratch\nCOPY <<EOF /foo\nhello\nEOF\n',
    check: async (r) => {
      const out = await tempDir('mybuild-bkoci-');
      const names = ['org/repo:tag1', 'org/repo:tag2'];
      await buildContext(r.root, r.contextDir, { tags: names, outputs: [{ type: 'oci', dest: path.join(out, 'dir'), tar: false }, { type: 'oci', dest: path.join(out, 'img.tar'), tar: true }] });
      validateIdx(JSON.parse(await readFile(path.join(out, 'dir', 'index.json'), 'utf8')) as IndexJson);
      validateIdx(await indexOfTar(path.join(out, 'img.tar')));
    },
  },
  {
    name: 'testMultiNilRefsOCIExporter',
    what: 'FROM scratch for two platforms gives an index of two manifests',
    dockerfile: 'FROM scratch',
    check: async (r) => {
      const out = path.join(await tempDir('mybuild-bkoci-'), 'out.tar');
      await buildContext(r.root, r.contextDir, { platform: 'linux/arm64,linux/amd64', outputs: [{ type: 'oci', dest: out, tar: true }] });
      const idx = await indexOfTar(out);
      assert.equal(idx.manifests.length, 1);
      const list = await indexOfTar(out, `blobs/sha256/${idx.manifests[0].digest.slice(7)}`);
      assert.equal(list.manifests?.length, 2, JSON.stringify(list));
    },
  },
];

runCases('buildkit: images (dockerfile_image_test.go)', cases);
