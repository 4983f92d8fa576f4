// Chaos: pushes and pulls through a registry proxy that injects faults (issue 22, chaos item 2).
// test/helpers/chaos-proxy.ts sits in front of the real registry and gives a seeded share of the
// requests a fault: 500/503, 429 with Retry-After, a reset, a stall, a connection dropped in the
// middle of a blob (down or up), a flipped byte (down or up). Each round pushes a fresh image
// (`mybuild push`, or every third round the library's chunked push with 256 KiB PATCHes) and
// pulls it back (`mybuild pull` into one store). Each operation succeeds, or fails with one clear
// error (not exit 70, no stack trace), within its time limit; after every successful push the
// image is pulled straight from the registry (every digest and diffID verified) and must be the
// one pushed; after every pull `system check` of the store is clean. 0 corrupt blobs either way.
// docker-registry (distribution 2.8) answers 404 to the status GET of an upload whose PATCH was
// cut short after the first chunk (it cancels it), so such a chunk starts a new upload: a try.
// Prints its figures on every run. 40 operations by default, 200 with `CHAOS=long`;
// `CHAOS_SEED=<n>` picks another seed.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BuildError, InternalError } from '../../src/errors.js';
import { pull } from '../../src/registry/pull.js';
import { push } from '../../src/registry/push.js';
import { ImageStore } from '../../src/store/image-store.js';
import { startChaosProxy, type ChaosProxy } from '../helpers/chaos-proxy.js';
import { runCli } from '../helpers/cli.js';
import { storeProblems } from '../helpers/build.js';
import { makeImage, makeStore, registryMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

const LONG = process.env.CHAOS === 'long';
const OPS = LONG ? 200 : 40;
const SEED = process.env.CHAOS_SEED !== undefined ? Number(process.env.CHAOS_SEED) : 0x22fa;
/** Share of requests that get a fault. */
const RATE = 0.3;
/** The client's idle timeout, and how long the proxy's stalls last (longer). */
const IDLE_MS = 700;
const STALL_MS = 1500;
/** The limit of one push or pull. */
const OP_LIMIT_MS = 60_000;

function say(t: TestContext, line: string): void {
  console.log(`chaos: ${line}`);
  t.diagnostic(line);
}

/** A clear failure: a one-line `error: …` (with an optional hint), no stack, not exit 70. */
function clearFailure(code: number, stderr: string): boolean {
  return code !== 70 && /^error: /m.test(stderr) && !/^\s+at /m.test(stderr);
}

describe('chaos: pushes and pulls through a fault-injecting registry proxy', { skip: registryMissing }, () => {
  let reg: TestRegistry;
  let proxy: ChaosProxy;
  let tmp: string;
  before(async () => {
    reg = await startRegistry('anonymous');
    proxy = await startChaosProxy(reg.domain, { seed: SEED, rate: RATE, stallMs: STALL_MS });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-chaos-registry-'));
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it(`${OPS} pushes and pulls (seed ${SEED}, ${RATE * 100} % of requests faulty): each succeeds or fails clearly in time, 0 corrupt blobs`, { timeout: OPS * OP_LIMIT_MS }, async (t) => {
    say(t, `registry faults: seed ${SEED} (CHAOS_SEED=${SEED} to replay), ${OPS} operations, ${RATE * 100} % of requests get a fault`);
    const env = { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: path.join(tmp, 'docker'), MYBUILD_REGISTRY_TIMEOUT_MS: String(IDLE_MS) };
    const clientOptions = { env };
    const pushRoot = path.join(tmp, 'push');
    const pullRoot = path.join(tmp, 'pull');
    const images = await ImageStore.open(pushRoot);
    const t0 = Date.now();
    const results = { ok: 0, clear: 0, slowest: 0 };
    const failures: string[] = [];
    const clearErrors: string[] = [];
    let corrupt = 0;
    let pushed: { name: string; digest: string } | undefined;
    for (let i = 0; i < OPS; i++) {
      const isPush = i % 2 === 0 || !pushed;
      const t1 = Date.now();
      let ok: boolean;
      let what: string;
      let detail = '';
      if (isPush) {
        const chunked = i % 6 === 0;
        const name = `${proxy.domain}/chaos/img${i}:1`;
        const img = await makeImage(images.content, [{ big: randomBytes(chunked ? 1_200_000 : 600_000) }, { small: `round ${i}\n` }], { compression: 'none' });
        what = `push ${i}${chunked ? ' (chunked)' : ''}`;
        // The digest pushed: the library pushes the manifest as it is; the CLI may compress its layers first (it prints the digest).
        let digest = img.manifest.digest as string;
        if (chunked) {
          try {
            await push(name, images.content, img.manifest, { clientOptions, chunkSize: 256 << 10 });
            ok = true;
          } catch (err) {
            ok = false;
            detail = (err as Error).message;
            if (!(err instanceof BuildError) || err instanceof InternalError) failures.push(`${what}: not a clear error: ${(err as Error).stack}`);
          }
        } else {
          await images.setRef(name, img.manifest);
          const r = await runCli(['--root', pushRoot, 'push', name], { env });
          ok = r.code === 0;
          detail = r.err.trim();
          if (!ok && !clearFailure(r.code, r.err)) failures.push(`${what}: exit ${r.code}, not a clear error: ${r.err}`);
          digest = /digest: (sha256:[0-9a-f]{64})/.exec(r.out)?.[1] ?? 'none printed';
        }
        if (ok) {
          pushed = { name, digest };
          // Straight from the registry: the image pushed, every blob verified by the pull.
          const check = await makeStore(path.join(tmp, `verify-${i}`));
          try {
            const got = await pull(`${reg.domain}/chaos/img${i}:1`, check, undefined, { platform: 'linux/amd64' });
            if (got.descriptor.digest !== digest) {
              corrupt++;
              failures.push(`${what}: the registry has ${got.descriptor.digest} under the tag, not ${digest}`);
            }
          } catch (err) {
            corrupt++;
            failures.push(`${what}: the pushed image does not pull back intact: ${(err as Error).message}`);
          }
        }
      } else {
        what = `pull ${i}`;
        const r = await runCli(['--root', pullRoot, 'pull', '--platform', 'linux/amd64', pushed!.name], { env });
        ok = r.code === 0;
        detail = r.err.trim();
        if (ok && !r.out.includes(`Digest: ${pushed!.digest}`)) failures.push(`${what}: pulled another digest: ${r.out}`);
        if (!ok && !clearFailure(r.code, r.err)) failures.push(`${what}: exit ${r.code}, not a clear error: ${r.err}`);
        const problems = await storeProblems(pullRoot);
        corrupt += problems.filter((p) => p.kind === 'blob').length;
        if (problems.length) failures.push(`${what}: system check: ${problems.map((p) => p.message).join('; ')}`);
      }
      const ms = Date.now() - t1;
      results.slowest = Math.max(results.slowest, ms);
      if (ms > OP_LIMIT_MS) failures.push(`${what}: took ${ms} ms, over its limit of ${OP_LIMIT_MS} ms`);
      if (ok) results.ok++;
      else {
        results.clear++;
        clearErrors.push(`${what}: ${detail.split('\n')[0]}`);
      }
    }
    const faults = Object.entries(proxy.counts).map(([k, v]) => `${k} ${v}`).join(', ');
    say(t, `registry faults: ${OPS} operations, ${results.ok} succeeded, ${results.clear} failed with a clear error, ${failures.length} bad; corrupt blobs: ${corrupt}; ${proxy.requests} requests, faults injected: ${faults}; downloads resumed with Range: ${proxy.ranged}, upload status asked: ${proxy.uploadStatus}; slowest ${results.slowest} ms, ${Date.now() - t0} ms in all`);
    for (const e of clearErrors) say(t, `registry faults: failed clearly: ${e}`);
    assert.deepEqual(failures, [], `seed ${SEED}`);
    assert.equal(corrupt, 0);
  });
});
