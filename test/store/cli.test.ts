/** The store's CLI commands through `run` (src/cli.ts) with fake streams and --root in a temp dir. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { run } from '../../src/cli.js';
import { ImageStore } from '../../src/store/image-store.js';
import { createdSince, humanDuration, humanSize, table } from '../../src/store/display.js';
import { bytes, Sink, tempRoot, writeTestImage, type TestImage } from './helpers.js';

const roots: string[] = [];
after(async () => {
  for (const r of roots) await fs.rm(r, { recursive: true, force: true });
});

async function cli(root: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await run(['--root', root, ...argv], { stdout: stdout as unknown as NodeJS.WritableStream, stderr: stderr as unknown as NodeJS.WritableStream, env: {} });
  return { code, out: stdout.text, err: stderr.text };
}

/** A store with app:1 (two layers, 1.5 MB) and docker.io/user/tool:v2. */
async function fixture(): Promise<{ root: string; store: ImageStore; app: TestImage; tool: TestImage }> {
  const root = await tempRoot('mybuild-cli-test-');
  roots.push(root);
  const store = await ImageStore.open(root);
  const app = await writeTestImage(store.content, 1, [1_000_000, 500_000], { created: new Date(Date.now() - 2 * 3_600_000).toISOString() });
  const tool = await writeTestImage(store.content, 2, [2000], { created: '2020-01-01T00:00:00Z' });
  await store.setRef('docker.io/library/app:1', app.descriptor);
  await store.setRef('docker.io/user/tool:v2', tool.descriptor);
  return { root, store, app, tool };
}

describe('display helpers', () => {
  it('formats sizes and durations like the Docker CLI', () => {
    const cases: [number, string][] = [
      [0, '0B'],
      [999, '999B'],
      [1000, '1kB'],
      [1500000, '1.5MB'],
      [7_801_234, '7.8MB'],
      [123_456_789, '123MB'],
      [999_900, '1e+03kB'],
      [1_234_567_890, '1.23GB'],
    ];
    for (const [n, want] of cases) assert.equal(humanSize(n), want, String(n));
    assert.equal(humanDuration(500), 'Less than a second');
    assert.equal(humanDuration(45_000), '45 seconds');
    assert.equal(humanDuration(90_000), 'About a minute');
    assert.equal(humanDuration(2 * 3_600_000), '2 hours');
    assert.equal(humanDuration(5 * 86_400_000), '5 days');
    assert.equal(humanDuration(3 * 365 * 86_400_000), '3 years');
    assert.equal(createdSince(undefined), 'N/A');
    assert.equal(table([['A', 'BB'], ['CCCCCCCCCCCC', 'D']]), 'A              BB\nCCCCCCCCCCCC   D\n');
  });
});

describe('mybuild images', () => {
  it('lists tagged images newest first with Docker columns', async () => {
    const { root, app, tool } = await fixture();
    const r = await cli(root, 'images');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(lines[1], new RegExp(`^app\\s+1\\s+${app.config.digest.slice(7, 19)}\\s+2 hours ago\\s+1\\.5MB$`));
    assert.match(lines[2], new RegExp(`^user/tool\\s+v2\\s+${tool.config.digest.slice(7, 19)}\\s+\\d+ years ago\\s+2kB$`));
    assert.equal(lines.length, 3);
    // Columns line up: IMAGE ID starts at the same offset in every row.
    const col = lines[0].indexOf('IMAGE ID');
    assert.equal(lines[1].indexOf(app.config.digest.slice(7, 19)), col);
  });

  it('supports -q, --digests, --format json and a repository filter', async () => {
    const { root, app, tool } = await fixture();
    const q = await cli(root, 'images', '-q');
    assert.equal(q.out, `${app.config.digest.slice(7, 19)}\n${tool.config.digest.slice(7, 19)}\n`);
    const d = await cli(root, 'images', '--digests');
    assert.match(d.out.split('\n')[0], /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID/);
    assert.ok(d.out.includes(app.descriptor.digest));
    // docker fills Digest only with --digests (checked against the docker CLI in test/cli/format)
    const plain = await cli(root, 'images', '--format', 'json');
    assert.deepEqual(plain.out.trim().split('\n').map((l) => (JSON.parse(l) as Record<string, string>).Digest), ['<none>', '<none>']);
    const j = await cli(root, 'images', '--format', 'json', '--digests');
    const rows = j.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(
      rows.map((x) => [x.Repository, x.Tag, x.ID, x.Size, x.Digest]),
      [
        ['app', '1', app.config.digest.slice(7, 19), '1.5MB', app.descriptor.digest],
        ['user/tool', 'v2', tool.config.digest.slice(7, 19), '2kB', tool.descriptor.digest],
      ],
    );
    assert.equal(rows[1].CreatedAt, '2020-01-01 00:00:00 +0000 UTC');
    const f = await cli(root, 'images', 'user/tool');
    assert.equal(f.out.trimEnd().split('\n').length, 2);
    const bad = await cli(root, 'images', '--bogus');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /mybuild images: unknown flag: --bogus\n/);
    // any other text is a Go template, as docker's: `yaml` prints yaml per image
    assert.equal((await cli(root, 'images', '--format', 'yaml')).out, 'yaml\nyaml\n');
    const badFormat = await cli(root, 'images', '--format', '{{.Yaml}}');
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.err, /can't evaluate field Yaml/);
  });

  it('prints only the header for an empty store', async () => {
    const root = await tempRoot('mybuild-cli-test-');
    roots.push(root);
    const r = await cli(root, 'images');
    assert.equal(r.code, 0);
    assert.match(r.out, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n$/);
  });
});

describe('mybuild tag / rmi / inspect', () => {
  it('tags by name and by short ID, and inspect shows the Docker fields', async () => {
    const { root, store, app } = await fixture();
    assert.deepEqual(await cli(root, 'tag', 'app:1', 'app:latest'), { code: 0, out: '', err: '' });
    assert.equal((await cli(root, 'tag', app.config.digest.slice(7, 19), 'localhost:5000/app:ci')).code, 0);
    assert.deepEqual(await store.getRef('docker.io/library/app:latest'), app.descriptor);
    assert.deepEqual(await store.getRef('localhost:5000/app:ci'), app.descriptor);

    const r = await cli(root, 'inspect', 'app');
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.startsWith('[\n    {\n        "Id": '), 'indented with 4 spaces like docker');
    const [obj] = JSON.parse(r.out) as Record<string, unknown>[];
    assert.equal(obj.Id, app.config.digest);
    assert.deepEqual(obj.RepoTags, ['app:1', 'app:latest', 'localhost:5000/app:ci']);
    assert.deepEqual(obj.RepoDigests, [`app@${app.descriptor.digest}`, `localhost:5000/app@${app.descriptor.digest}`]);
    assert.equal(obj.Architecture, 'amd64');
    assert.equal(obj.Os, 'linux');
    assert.equal(obj.Size, 1_500_000);
    assert.deepEqual(obj.RootFS, { Type: 'layers', Layers: app.layers.map((l) => l.digest) });
    // dockerd's image inspect writes every Config field, null or empty where unset.
    assert.deepEqual(obj.Config, { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'], Entrypoint: null, Labels: null, OnBuild: null, User: '', Volumes: null, WorkingDir: '' });
    assert.equal(obj.ManifestDigest, app.descriptor.digest);

    const bad = await cli(root, 'tag', 'nope:1', 'x:1');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /No such image: nope:1/);
    assert.equal((await cli(root, 'tag', 'app:1', 'x@sha256:' + 'a'.repeat(64))).code, 1);
    assert.equal((await cli(root, 'tag', 'app:1')).code, 2);
    assert.equal((await cli(root, 'tag', 'app:1', 'Bad:Name')).code, 1);
  });

  it('inspect prints found images and fails for missing ones', async () => {
    const { root, tool } = await fixture();
    const r = await cli(root, 'inspect', 'user/tool:v2', 'missing');
    assert.equal(r.code, 1);
    assert.match(r.err, /No such image: missing/);
    const arr = JSON.parse(r.out) as { Id: string }[];
    assert.deepEqual(arr.map((x) => x.Id), [tool.config.digest]);
    const none = await cli(root, 'inspect', 'missing');
    assert.equal(none.out, '[]\n');
  });

  it('rmi untags by name, deletes on the last tag, needs -f for an ID with several tags', async () => {
    const { root, store, app, tool } = await fixture();
    await cli(root, 'tag', 'app:1', 'app:2');
    let r = await cli(root, 'rmi', 'app:1');
    assert.deepEqual(r, { code: 0, out: 'Untagged: app:1\n', err: '' });
    r = await cli(root, 'rmi', app.config.digest.slice(7, 19));
    assert.deepEqual(r, { code: 0, out: `Untagged: app:2\nDeleted: ${app.config.digest}\n`, err: '' });

    await cli(root, 'tag', 'user/tool:v2', 'tool:a');
    r = await cli(root, 'rmi', tool.config.digest.slice(7, 19));
    assert.equal(r.code, 1);
    assert.match(r.err, /must be forced/);
    r = await cli(root, 'rmi', '-f', tool.config.digest, 'nothing:here');
    assert.equal(r.code, 1);
    assert.equal(r.out, `Untagged: tool:a\nUntagged: user/tool:v2\nDeleted: ${tool.config.digest}\n`);
    assert.match(r.err, /No such image: nothing:here/);
    assert.deepEqual(await store.listRefs(), []);
    assert.ok(await store.content.info(app.layers[0].digest), 'blobs stay until prune');
    assert.equal((await cli(root, 'rmi')).code, 2);
  });
});

describe('mybuild prune / system', () => {
  it('prune reclaims the blobs of removed images and reports the space', async () => {
    const { root, store, app, tool } = await fixture();
    await cli(root, 'rmi', 'app:1');
    const stray = await store.content.writeBytes(bytes(3, 3000));
    const r = await cli(root, 'prune');
    assert.equal(r.code, 0, r.err);
    const freed = app.descriptor.size + app.config.size + 1_500_000 + 3000;
    assert.ok(r.out.startsWith('Deleted Images:\n'));
    for (const d of [app.descriptor.digest, app.config.digest, ...app.layers.map((l) => l.digest), stray.digest]) assert.ok(r.out.includes(`deleted: ${d}\n`), d);
    assert.ok(r.out.endsWith(`Total reclaimed space: ${humanSize(freed)}\n`), r.out);
    assert.ok(await store.content.info(tool.layers[0].digest));
    const again = await cli(root, 'prune', '-a', '-f');
    assert.equal(again.out, 'Total reclaimed space: 0B\n');
    assert.equal((await cli(root, 'prune', 'extra')).code, 2);
  });

  it('system check is clean (exit 0) and reports problems one per line (exit 1)', async () => {
    const { root, store, app } = await fixture();
    let r = await cli(root, 'system', 'check');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /No problems found/);
    await store.content.delete(app.layers[1].digest);
    await fs.writeFile(store.content.blobPath(app.layers[0].digest), 'garbage');
    r = await cli(root, 'system', 'check');
    assert.equal(r.code, 1);
    const lines = r.out.trimEnd().split('\n');
    assert.equal(lines.length, 3, r.out);
    assert.ok(lines.some((l) => l.startsWith('blob: ') && l.includes(app.layers[0].digest)));
    assert.ok(lines.some((l) => l.startsWith('ref: ') && l.includes(`${app.layers[1].digest} (application/vnd.oci.image.layer.v1.tar) is missing`)));
    assert.ok(lines.some((l) => l.startsWith('ref: ') && l.includes(`${app.layers[0].digest} has 7 bytes`)));
    assert.match(r.err, /3 problem\(s\) found/);
    assert.equal((await cli(root, 'system', 'frobnicate')).code, 2);
    const df = await cli(root, 'system', 'df');
    assert.match(df.out, /^TYPE\s+TOTAL\s+SIZE\nImages\s+2\s+/);
  });
});
