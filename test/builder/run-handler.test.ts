/**
 * The RUN handler against a fake worker (a recording executor on the real NativeSnapshotter,
 * nothing mounted, nothing run): what it asks the executor to run, the mounts it prepares,
 * that what the "process" writes becomes the layer and a secret never does, and its errors.
 * Runs without root or runc (test/builder/run.test.ts runs RUN for real).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tarStream from 'tar-stream';
import type { ExecSpec } from '../../src/runtime/spec.js';
import { BuildError } from '../../src/errors.js';
import { openLayer } from '../../src/image/layer-reader.js';
import type { LayerResult } from '../../src/image/layer-writer.js';
import { ImageStore } from '../../src/store/image-store.js';
import { snapshotWorker, type FakeProcess } from './fake-worker.js';
import { stepKeys, type StepKeysInput } from './step-keys.js';

const images = { base: { digest: `sha256:${'a'.repeat(64)}`, config: { Env: ['PATH=/usr/bin:/bin'], WorkingDir: '/app' } } };

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-runh-'));
});
after(() => rm(tmp, { recursive: true, force: true }));

/** Runs the last step of `lines` (on `base`) with a recording executor; returns what it recorded and the layer. */
async function run(lines: string[], process?: FakeProcess, more: Partial<StepKeysInput> = {}): Promise<{ spec: ExecSpec; layer: LayerResult | null; root: string; store: ImageStore }> {
  const root = await mkdtemp(path.join(tmp, 'root-'));
  const store = await ImageStore.open(path.join(root, 'store'));
  const worker = await snapshotWorker(root, store.content, process);
  const keys = await stepKeys({ dockerfile: `FROM base\n${lines.join('\n')}\n`, images, root, worker, ...more });
  const layer = await keys[keys.length - 1]!.step.produce();
  assert.equal(worker.executor.runs.length, 1);
  return { spec: worker.executor.runs[0]!.spec, layer, root, store };
}

async function layerFiles(store: ImageStore, layer: LayerResult): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ex = tarStream.extract();
  (await openLayer(store.content, layer.descriptor)).pipe(ex);
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    out[e.header.name] = e.header.type === 'directory' ? '<dir>' : Buffer.concat(chunks).toString();
  }
  return out;
}

describe('RUN handler (fake worker)', () => {
  it('runs the shell form with the stage env, build args in scope, proxy args, workdir, the sandbox network', async () => {
    const { spec, layer } = await run(['ENV E=1', 'ARG A', 'RUN echo hi'], undefined, { buildArgs: { A: 'a', HTTP_PROXY: 'http://p' } });
    assert.deepEqual(spec.args, ['/bin/sh', '-c', 'echo hi']);
    assert.deepEqual([...spec.env].sort(), ['A=a', 'E=1', 'HTTP_PROXY=http://p', 'PATH=/usr/bin:/bin', 'http_proxy=http://p']);
    assert.equal(spec.cwd, '/app');
    assert.equal(spec.hostname, 'buildkitsandbox');
    assert.equal(spec.network, 'sandbox');
    assert.deepEqual(spec.mounts, []);
    // As BuildKit: a process that changes nothing still gives a layer, the empty tar.
    assert.equal(layer?.diffId, 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef');
  });

  it('exec form, --network=host, and the build\'s --network host', async () => {
    assert.deepEqual((await run(['RUN ["/bin/true", "x"]'])).spec.args, ['/bin/true', 'x']);
    assert.equal((await run(['RUN --network=host true'])).spec.network, 'host');
    assert.equal((await run(['RUN true'], undefined, { options: { network: 'host' } })).spec.network, 'host');
    assert.equal((await run(['RUN true'], undefined, { options: { network: 'none' } })).spec.network, 'none');
    assert.equal((await run(['RUN --network=default true'], undefined, { options: { network: 'none' } })).spec.network, 'none');
    assert.equal((await run(['RUN --network=none true'])).spec.network, 'none');
    assert.equal((await run(['RUN --network=default true'])).spec.network, 'sandbox');
  });

  it('what the process writes becomes the layer', async () => {
    const { layer, store } = await run(['RUN make'], async (_spec, dir) => {
      await writeFile(path.join(dir, 'out.txt'), 'made');
    });
    assert.ok(layer);
    assert.deepEqual(await layerFiles(store, layer), { 'out.txt': 'made' });
  });

  it('a secret is a 0400 file outside the rootfs, gone afterwards, never in the layer', async () => {
    process.env.MYBUILD_TEST_RUNH = 's3cret';
    let seen: { source: string; target: string; mode: number; data: string } | undefined;
    try {
      const { spec, layer, store } = await run(['RUN --mount=type=secret,id=tok cat /run/secrets/tok > /copy'], async (s, dir) => {
        const m = s.mounts![0]!;
        seen = { source: m.source, target: m.target ?? '', mode: statSync(m.source).mode & 0o777, data: readFileSync(m.source, 'utf8') };
        assert.ok(!m.source.startsWith(dir), 'the secret is not inside the rootfs');
        await writeFile(path.join(dir, 'copy'), 'not the secret');
      }, { options: { secrets: [{ id: 'tok', env: 'MYBUILD_TEST_RUNH' }] } });
      assert.equal(spec.mounts!.length, 1);
      assert.deepEqual({ ...seen!, source: '' }, { source: '', target: '/run/secrets/tok', mode: 0o400, data: 's3cret' });
      assert.ok(!existsSync(seen!.source), 'the secret file is removed after the step');
      assert.ok(layer);
      assert.ok(!JSON.stringify(await layerFiles(store, layer)).includes('s3cret'));
    } finally {
      delete process.env.MYBUILD_TEST_RUNH;
    }
  });

  it('a required secret that is not given fails with a hint', async () => {
    await assert.rejects(run(['RUN --mount=type=secret,id=nope,required true']), (err: BuildError) => {
      assert.match(err.message, /secret nope not found/);
      assert.match(err.hint ?? '', /--secret id=nope/);
      return true;
    });
  });

  it('tmpfs and cache mounts', async () => {
    const { spec, root } = await run(['RUN --mount=type=tmpfs,target=/t,size=4096 --mount=type=cache,target=/c,id=x true']);
    const [tmpfs, cache] = spec.mounts!;
    assert.deepEqual(tmpfs, { type: 'tmpfs', source: 'tmpfs', target: '/t', options: ['nosuid', 'nodev', 'size=4096'] });
    assert.equal(cache!.target, '/c');
    assert.ok(cache!.source.startsWith(path.join(root, 'cache-mounts')), cache!.source);
    assert.ok(statSync(cache!.source).isDirectory());
  });

  it('a failing process is STEP_FAILED with its last output and a hint', async () => {
    await assert.rejects(
      run(['RUN frobnicate'], async (spec) => {
        spec.stderr!.write('sh: frobnicate: not found\n');
        return 127;
      }),
      (err: BuildError) => {
        assert.equal(err.code, 'STEP_FAILED');
        assert.match(err.message, /exit code: 127/);
        assert.ok(err.details?.some((l) => l.includes('frobnicate: not found')));
        assert.match(err.hint ?? '', /not found/);
        return true;
      },
    );
  });

  it('--security=insecure needs the entitlement', async () => {
    await assert.rejects(run(['RUN --security=insecure true']), /security\.insecure entitlement/);
  });
});
