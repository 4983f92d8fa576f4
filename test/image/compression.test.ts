import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { GZIP_CHUNK, ParallelGzip, createCompressor, createDecompressor, looksIncompressible, storedBlocks } from '../../src/image/compression.js';

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

/** Reproducible incompressible bytes: SHA-256 in counter mode over a seed. */
function randomBytesSeeded(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++) off += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
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

  it('stores chunks that do not compress and still deflates the ones that do', async () => {
    // Chunk 0 random, chunk 1 text, chunk 2 random with a text tail, then a short random tail.
    const text = Buffer.from('the same line of a text file, over and over\n'.repeat(GZIP_CHUNK / 32)).subarray(0, GZIP_CHUNK);
    const mixed = Buffer.concat([randomBytesSeeded(GZIP_CHUNK - 100_000, 3), text.subarray(0, 100_000)]);
    const input = Buffer.concat([randomBytesSeeded(GZIP_CHUNK, 1), text, mixed, randomBytesSeeded(1000, 2)]);
    const a = await gz(input, 1 << 16, { inFlight: 2 });
    const b = await gz(input, 999_999, { inFlight: 8 });
    assert.equal(sha(a), sha(b));
    assert.deepEqual(zlib.gunzipSync(a), input);
    assert.deepEqual(execFileSync('gzip', ['-dc'], { input: a, maxBuffer: 64 << 20 }), input);
    // The first chunk took the stored path: right after the 10-byte gzip header comes a stored
    // block header with LEN 0xffff (zlib's own stored blocks at level 6 are shorter).
    assert.deepEqual([...a.subarray(10, 15)], [0, 0xff, 0xff, 0, 0]);
    // Stored random chunk (~1 MiB + block headers) + deflated text (a few KiB) + the mixed chunk,
    // whose compressible tail keeps it deflated: never bigger than zlib's own stored blocks.
    const whole = zlib.gzipSync(input, { level: 6 });
    assert.ok(a.length <= whole.length * 1.01, `parallel ${a.length} vs zlib ${whole.length}`);
    assert.ok(a.length < 2 * GZIP_CHUNK + GZIP_CHUNK / 2, `the text chunk was compressed (${a.length})`);
  });

  it('writes stored blocks that zlib inflates, final or not', () => {
    const input = randomBytesSeeded(200_000, 9);
    const z = Buffer.concat(storedBlocks(input, true));
    assert.equal(z.length, input.length + 5 * Math.ceil(input.length / 0xffff));
    assert.deepEqual(zlib.inflateRawSync(z), input);
    // A non-final run followed by a final deflated piece is one valid stream.
    const tail = Buffer.from('and a compressible tail '.repeat(100));
    const joined = Buffer.concat([...storedBlocks(input, false), zlib.deflateRawSync(tail, { level: 6 })]);
    assert.deepEqual(zlib.inflateRawSync(joined), Buffer.concat([input, tail]));
  });

  it('probes chunks: random bytes are stored, text and mixed chunks are not', () => {
    const text = Buffer.from('a line of some source file, more or less repeated\n'.repeat(GZIP_CHUNK / 32)).subarray(0, GZIP_CHUNK);
    assert.equal(looksIncompressible(randomBytesSeeded(GZIP_CHUNK, 5)), true);
    assert.equal(looksIncompressible(text), false);
    assert.equal(looksIncompressible(data(GZIP_CHUNK, 6)), false);
    // A tar header and its zero padding inside random file contents do not make it compressible.
    const tarLike = randomBytesSeeded(GZIP_CHUNK, 8);
    tarLike.fill(0, 100, 100 + 1024);
    assert.equal(looksIncompressible(tarLike), true);
    // Text at the end only (the third sample) keeps the chunk deflated.
    assert.equal(looksIncompressible(Buffer.concat([randomBytesSeeded(GZIP_CHUNK - 8192, 7), text.subarray(0, 8192)])), false);
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
