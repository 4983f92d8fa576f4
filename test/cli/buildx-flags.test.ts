/**
 * The buildx flags of issue 17 through the CLI: --add-host, --ulimit and --shm-size reach RUN
 * steps (and their cache keys), --no-cache-filter rebuilds only the stage it names,
 * --annotation lands on the image manifest (read back from an OCI layout output), --load keeps
 * the image in the store next to another output, and --cgroup-parent is refused naming the flag
 * (--ssh: test/builder/ssh.test.ts; --provenance, --sbom: test/registry/provenance-e2e.test.ts) (=false accepted); with -H the new flags are
 * refused by name before anything is sent. Real builds (busybox base, runc).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, writeContext } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { EXIT_CODES } from '../../src/errors.js';
import { parseAddHost, parseAnnotation, parseShmSize, parseUlimit } from '../../src/cli/build-flags.js';
import { RemoteEngine } from '../../src/engine/remote.js';
import { defaultBuildOptions } from '../../src/builder/options.js';
import type { DaemonClient } from '../../src/client/client.js';

describe('buildx flags: values', () => {
  it('parse as buildx and go-units do', () => {
    assert.deepEqual(parseAddHost('db.local:10.0.0.5'), { host: 'db.local', ip: '10.0.0.5' });
    assert.deepEqual(parseAddHost('v6=::1'), { host: 'v6', ip: '::1' });
    assert.throws(() => parseAddHost('x:host-gateway'), /host-gateway is not supported/);
    assert.throws(() => parseAddHost('x:notanip'), /invalid IP address/);
    assert.deepEqual(parseUlimit('nofile=1024:2048'), { name: 'nofile', soft: 1024, hard: 2048 });
    assert.deepEqual(parseUlimit('nproc=64'), { name: 'nproc', soft: 64, hard: 64 });
    assert.throws(() => parseUlimit('bogus=1'), /unknown ulimit type "bogus"/);
    assert.throws(() => parseUlimit('nofile=10:5'), /soft limit 10 is larger than the hard limit 5/);
    assert.equal(parseShmSize('64m'), 64 * 1024 * 1024);
    assert.equal(parseShmSize('1g'), 1024 ** 3);
    assert.equal(parseShmSize('4096'), 4096);
    assert.throws(() => parseShmSize('lots'), /invalid --shm-size/);
    const a: Record<string, string> = {};
    parseAnnotation('org.example.a=1', a);
    parseAnnotation('manifest:org.example.b=2', a);
    assert.deepEqual(a, { 'org.example.a': '1', 'org.example.b': '2' });
    assert.throws(() => parseAnnotation('index:org.example.c=3', {}), /index annotations are not supported/);
    assert.throws(() => parseAnnotation('manifest[linux/amd64]:k=v', {}), /not supported/);
  });

  it('with -H the new flags are refused by name before anything is sent', async () => {
    const engine = new RemoteEngine({} as DaemonClient, {});
    const o = { ...defaultBuildOptions('/nonexistent'), extraHosts: [{ host: 'a', ip: '1.2.3.4' }], shmSize: 1024 };
    await assert.rejects(engine.build(o, {}), /--add-host, --shm-size are not supported with -H/);
  });
});

const skip = buildSkipReason();

describe('buildx flags: builds', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  async function cli(args: string[], files: Record<string, string>) {
    const ctx = await writeContext(files);
    const r = await runCli(['--root', root, 'build', '--progress', 'json', ...args, ctx], { cwd: ctx, env: { PATH: process.env.PATH } });
    const events = r.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; hit?: boolean; step?: number; reason?: string });
    return { ...r, events, hits: events.filter((e) => e.type === 'step-cache' && e.hit).length, misses: events.filter((e) => e.type === 'step-cache' && !e.hit) };
  }

  it('--add-host, --ulimit and --shm-size reach RUN, and are part of its cache key', async () => {
    const df = { Dockerfile: 'FROM busybox\nRUN grep db.local /etc/hosts > /hosts; ulimit -n > /soft; ulimit -Hn > /hard; df -k /dev/shm | tail -1 > /shm\n' };
    const out = await tempDir('mybuild-bx-');
    const flags = ['--add-host', 'db.local:10.1.2.3', '--ulimit', 'nofile=1000:2000', '--shm-size', '32m'];
    const r = await cli([...flags, '--output', `type=local,dest=${out}`], df);
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(path.join(out, 'hosts'), 'utf8'), '10.1.2.3\tdb.local\n');
    assert.equal(readFileSync(path.join(out, 'soft'), 'utf8').trim(), '1000');
    assert.equal(readFileSync(path.join(out, 'hard'), 'utf8').trim(), '2000');
    assert.match(readFileSync(path.join(out, 'shm'), 'utf8'), /\s32768\s/);
    const again = await cli(flags, df);
    assert.equal(again.misses.length, 0, 'same flags: the RUN hits');
    const other = await cli(['--add-host', 'db.local:10.9.9.9', '--ulimit', 'nofile=1000:2000', '--shm-size', '32m'], df);
    assert.equal(other.misses.length, 1, 'another --add-host: the RUN misses');
  });

  it('--no-cache-filter STAGE rebuilds only that stage, and a COPY --from of it takes the new result', async () => {
    const df = { Dockerfile: 'FROM busybox AS base\nRUN head -c 16 /dev/urandom | od -x > /a\nFROM busybox\nRUN echo b > /b\nCOPY --from=base /a /a\n' };
    const out1 = await tempDir('mybuild-bx-ncf-');
    const first = await cli(['--output', `type=local,dest=${out1}`], df);
    assert.equal(first.code, 0, first.err);
    const out2 = await tempDir('mybuild-bx-ncf-');
    const r = await cli(['--no-cache-filter', 'base', '--output', `type=local,dest=${out2}`], df);
    assert.equal(r.code, 0, r.err);
    assert.match(r.misses[0]!.reason ?? '', /--no-cache-filter base/);
    assert.equal(r.misses.length, 2, 'the base RUN and the COPY of its new result miss; RUN echo b hits');
    assert.notEqual(readFileSync(path.join(out2, 'a'), 'utf8'), readFileSync(path.join(out1, 'a'), 'utf8'));
  });

  it('--annotation (and manifest:) go on the image manifest', async () => {
    const out = await tempDir('mybuild-bx-oci-');
    const r = await cli(['--annotation', 'org.example.a=1', '--annotation', 'manifest:org.example.b=two', '--output', `type=oci,dest=${out},tar=false`], { Dockerfile: 'FROM busybox\nRUN echo x > /x\n' });
    assert.equal(r.code, 0, r.err);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const [alg, hex] = index.manifests[0]!.digest.split(':');
    const manifest = JSON.parse(readFileSync(path.join(out, 'blobs', alg!, hex!), 'utf8')) as { annotations?: Record<string, string> };
    assert.deepEqual(manifest.annotations, { 'org.example.a': '1', 'org.example.b': 'two' });
  });

  it('--load keeps the image in the store when another output is given', async () => {
    const out = await tempDir('mybuild-bx-load-');
    const r = await cli(['--load', '-t', 'loaded:1', '--output', `type=local,dest=${out}`], { Dockerfile: 'FROM busybox\nRUN echo l > /l\n' });
    assert.equal(r.code, 0, r.err);
    const images = await runCli(['--root', root, 'images'], { env: { PATH: process.env.PATH } });
    assert.match(images.out, /loaded\s+1/);
  });

  // --provenance / --attest type=provenance work (test/registry/provenance-e2e.test.ts); --sbom is refused there.
  for (const [args, flag] of [
    [['--cgroup-parent', 'x'], '--cgroup-parent'],
  ] as const) {
    it(`${flag} is refused naming the flag`, async () => {
      const r = await cli([...args], { Dockerfile: 'FROM busybox\n' });
      assert.equal(r.code, EXIT_CODES.USAGE, r.err);
      assert.match(r.err, new RegExp(`${flag} is not supported by mybuild`));
    });
  }

  it('--provenance=false and --sbom=false are accepted (nothing is attached)', async () => {
    const r = await cli(['--provenance=false', '--sbom=false'], { Dockerfile: 'FROM busybox\n' });
    assert.equal(r.code, 0, r.err);
  });
});
