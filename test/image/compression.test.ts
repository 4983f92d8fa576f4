import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { GZIP_CHUNK, ParallelGzip, createCompressor, createDecompressor } from '../../src/image/compression.js';

/** Deterministic, partly compressible bytes (text runs mixed with pseudo-random bytes). */
function data(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; ) {
    x = (x * 1103515245 + 12345) >>> 0;
    if (x & 0x10000) {
      const s = `line ${i % 977} of the layer, value ${x % 101}\n`;
      i += out.write(s, i);
    } else {
      for (let k = 0; k < 64 && i < n; k++, i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        out[i] = x >>> 24;
      }
    }
  }
  return out;
}

/** Writes `input` in pieces of `piece` bytes through a fresh compressor and collects the output. */
async function gz(input: Buffer, piece: number, opts: { level?: number; inFlight?: number } = {}): Promise<Buffer> {
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let off = 0; off < input.length; off += piece) yield Buffer.from(input.subarray(off, Math.min(off + piece, input.length)));
  }
  return await buffer(Readable.from(pieces(), { objectMode: false }).pipe(new ParallelGzip(opts)));
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('ParallelGzip', () => {
  for (const level of [1, 6, 9]) {
    it(`gives zlib.gzipSync's bytes for an input under one chunk (level ${level})`, async () => {
      const input = data(300_000, level);
      const got = await gz(input, 65536, { level });
      const want = zlib.gzipSync(input, { level });
      assert.equal(sha(got), sha(want));
    });
  }

  it('gives zlib.gzipSync bytes for an empty input', async () => {
    const got = await buffer(Readable.from([]).pipe(new ParallelGzip()));
    assert.deepEqual(got, zlib.gzipSync(Buffer.alloc(0), { level: 6 }));
  });

  it('is deterministic across write sizes and concurrency, and round-trips', async () => {
    const input = data(3 * GZIP_CHUNK + 12345, 7);
    const a = await gz(input, 1 << 16, { inFlight: 2 });
    const b = await gz(input, 777_777, { inFlight: 8 });
    const c = await gz(input, input.length, { inFlight: 3 });
    assert.equal(sha(a), sha(b));
    assert.equal(sha(a), sha(c));
    assert.deepEqual(zlib.gunzipSync(a), input);
    // One gzip member: the header appears once, the trailer holds the whole input's CRC and size.
    assert.equal(a.readUInt32LE(a.length - 4), input.length);
    assert.equal(a.readUInt32LE(a.length - 8), zlib.crc32(input) >>> 0);
  });

  it('handles an input that is an exact multiple of the chunk size', async () => {
    const input = data(2 * GZIP_CHUNK, 3);
    const got = await gz(input, 100_000);
    assert.deepEqual(zlib.gunzipSync(got), input);
  });

  it('compresses about as well as single-stream zlib (the dictionary carries across chunks)', async () => {
    const input = data(4 * GZIP_CHUNK, 11);
    const got = await gz(input, 1 << 16);
    const want = zlib.gzipSync(input, { level: 6 });
    assert.ok(got.length <= want.length * 1.01, `parallel ${got.length} vs zlib ${want.length}`);
  });

  it('is read by the real gzip tool', { skip: existsSync('/bin/gzip') || existsSync('/usr/bin/gzip') ? false : 'gzip is not installed' }, async () => {
    const input = data(2 * GZIP_CHUNK + 5, 5);
    const got = await gz(input, 1 << 16);
    const out = execFileSync('gzip', ['-dc'], { input: got, maxBuffer: 64 << 20 });
    assert.deepEqual(out, input);
  });

  it('is what createCompressor("gzip") returns, and createDecompressor reads it', async () => {
    const input = data(GZIP_CHUNK + 1, 9);
    const c = createCompressor('gzip');
    assert.ok(c instanceof ParallelGzip);
    const z = await buffer(Readable.from([input]).pipe(c));
    const back = await buffer(Readable.from([z]).pipe(createDecompressor('gzip')));
    assert.deepEqual(back, input);
  });
});
