import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { INLINE_LIMIT, StreamSha256, terminateWorkerForTests } from '../../src/util/sha256.js';

/** Deterministic bytes (SHA-256 in counter mode). */
function bytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++) off += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

const reference = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Feeds `data` in pieces of varying sizes (1 byte to ~3 MiB) and returns the digest. */
async function streamed(data: Buffer, seed = 1): Promise<string> {
  const h = new StreamSha256();
  let x = seed;
  for (let off = 0; off < data.length; ) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = Math.min(data.length - off, 1 + (x % (3 << 20)));
    h.update(data.subarray(off, off + n));
    off += n;
  }
  return h.digest();
}

/** Runs `body` in a fresh Node process with `h`, a new StreamSha256; killed after 10 s. */
function inChild(body: string): SpawnSyncReturns<string> {
  const mod = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'util', 'sha256.js');
  const script = `const { StreamSha256 } = await import(${JSON.stringify(mod)}); const h = new StreamSha256(); ${body}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
}

describe('StreamSha256', () => {
  it('matches createHash on the calling thread (small) and on the worker (past the inline limit)', async () => {
    for (const n of [0, 1, 4096, INLINE_LIMIT, INLINE_LIMIT + 1, INLINE_LIMIT + (1 << 20), 3 * INLINE_LIMIT + 12345]) {
      const data = bytes(n, n);
      assert.equal(await streamed(data, n + 7), reference(data), `${n} bytes`);
    }
  });

  it('keeps concurrent streams apart', async () => {
    const inputs = [bytes(20 << 20, 1), bytes(9 << 20, 2), bytes(100, 3), bytes(17 << 20, 4)];
    const hashes = inputs.map(() => new StreamSha256());
    // Interleave the updates of all streams, 256 KiB at a time.
    for (let off = 0; off < 20 << 20; off += 256 << 10) {
      inputs.forEach((b, i) => {
        if (off < b.length) hashes[i].update(b.subarray(off, Math.min(off + (256 << 10), b.length)));
      });
    }
    assert.deepEqual(await Promise.all(hashes.map((h) => h.digest())), inputs.map(reference));
  });

  it('hashes a copy: the caller may reuse its buffer after update', async () => {
    const data = bytes(INLINE_LIMIT + (3 << 20), 5);
    const h = new StreamSha256();
    const scratch = Buffer.alloc(1 << 20);
    for (let off = 0; off < data.length; off += scratch.length) {
      const n = data.copy(scratch, 0, off, off + scratch.length);
      h.update(scratch.subarray(0, n));
      scratch.fill(0xee); // overwritten right away, as a producer reusing its buffer would
    }
    assert.equal(await h.digest(), reference(data));
  });

  it('refuses update after digest; drop forgets a stream', async () => {
    const h = new StreamSha256();
    h.update(bytes(10, 6));
    await h.digest();
    assert.throws(() => h.update(Buffer.from('x')), /after digest/);
    const abandoned = new StreamSha256();
    abandoned.update(bytes(INLINE_LIMIT + 1, 7));
    abandoned.drop();
    const next = bytes(INLINE_LIMIT * 2, 8);
    assert.equal(await streamed(next), reference(next));
  });

  it('a stream whose worker died fails its digest (never a wrong one); the next stream gets a new worker', async () => {
    const a = new StreamSha256();
    a.update(bytes(INLINE_LIMIT + (2 << 20), 9));
    await terminateWorkerForTests();
    a.update(bytes(1 << 20, 10));
    await assert.rejects(a.digest(), /hashing worker exited/);
    const data = bytes(INLINE_LIMIT * 2, 11);
    assert.equal(await streamed(data), reference(data));
  });

  it('a process that awaits a worker digest gets it, then exits (the idle worker does not hold it)', () => {
    // Nothing else keeps the event loop busy: only the awaited digest does.
    const r = inChild(`h.update(Buffer.alloc(${INLINE_LIMIT * 3}, 7)); h.digest().then((hex) => process.stdout.write(hex));`);
    assert.equal(r.signal, null, 'the worker kept the process alive until the timeout');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, createHash('sha256').update(Buffer.alloc(INLINE_LIMIT * 3, 7)).digest('hex'));
  });

  it('a process whose off-thread hash was dropped (a failed write) still exits', () => {
    const r = inChild(`h.update(Buffer.alloc(${INLINE_LIMIT * 3}, 1)); h.drop(); process.stdout.write('dropped');`);
    assert.equal(r.signal, null, 'the worker kept the process alive until the timeout');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'dropped');
  });
});
