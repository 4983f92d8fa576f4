/**
 * Layer compression: gzip through Node's zlib, zstd (Node 20 has none) and bzip2/xz (import
 * only) through their command-line tools, streaming through stdin/stdout.
 *
 * gzip is compressed in parallel, the way pigz does it ({@link ParallelGzip}): the input is cut
 * into fixed 1 MiB chunks, each chunk is deflated on its own (primed with the last 32 KiB of the
 * chunk before it as dictionary, ended with a sync flush so it ends on a byte boundary) on
 * libuv's thread pool, and the pieces are joined, in order, into ONE gzip member with the CRC-32
 * and length of the whole input. Chunk boundaries depend only on byte offsets, never on timing or
 * the number of cores, so the output is the same for the same input and level on any machine with
 * the same zlib. An input under 1 MiB gives exactly the bytes of `zlib.gzipSync`. A full chunk
 * that does not compress (already compressed or random bytes, see {@link looksIncompressible})
 * is stored rather than deflated: a few percent bigger at most, without deflate's search for matches.
 *
 * Determinism: the gzip header has mtime 0, no file name and OS 3 (Unix), as zlib writes it.
 * zstd runs `zstd -q -c -3 -T0`: multi-threaded zstd output does not depend on the number of
 * worker threads (checked with -T1/-T2/-T0 on zstd 1.5.4).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { Duplex, PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { BuildError } from '../errors.js';
import { MediaTypes } from '../oci/types.js';

export type Compression = 'gzip' | 'zstd' | 'none';
/** Formats we can read (imports also accept bzip2 and xz). */
export type InputCompression = Compression | 'bzip2' | 'xz';

/** Default gzip level: zlib's default (6), the same trade-off as Go's DefaultCompression. */
export const DEFAULT_GZIP_LEVEL = 6;

/**
 * Runs `cmd args` as a filter: bytes written go to its stdin, its stdout is readable. The stream
 * ends only after the process exited with 0; a non-zero exit or a missing binary destroys it
 * with a BuildError carrying the tool's stderr. Destroying the stream kills the process.
 */
export function spawnFilter(cmd: string, args: string[]): Duplex {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  let stdoutEnded = false;
  let exitCode: number | null | undefined;
  let signal: NodeJS.Signals | null = null;
  const duplex = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      if (child.stdin.destroyed) return cb();
      if (child.stdin.write(chunk)) cb();
      else child.stdin.once('drain', () => cb());
    },
    final(cb) {
      child.stdin.end();
      cb();
    },
    read() {
      child.stdout.resume();
    },
    destroy(err, cb) {
      if (exitCode === undefined) child.kill('SIGKILL');
      cb(err);
    },
  });
  const maybeEnd = (): void => {
    if (!stdoutEnded || exitCode === undefined || duplex.destroyed) return;
    if (exitCode === 0) duplex.push(null);
    else
      duplex.destroy(
        new BuildError('IO', `${cmd} ${args.join(' ')} failed (${exitCode === null ? `signal ${signal}` : `exit ${exitCode}`}): ${stderr.trim() || 'no message'}`),
      );
  };
  child.stdout.on('data', (d: Buffer) => {
    if (!duplex.push(d)) child.stdout.pause();
  });
  child.stdout.on('end', () => {
    stdoutEnded = true;
    maybeEnd();
  });
  child.on('exit', (code, sig) => {
    exitCode = code;
    signal = sig;
    maybeEnd();
  });
  child.on('error', (err: NodeJS.ErrnoException) => {
    exitCode = -1;
    duplex.destroy(
      err.code === 'ENOENT'
        ? new BuildError('IO', `${cmd} is not installed`, { hint: `install ${cmd} (scripts/install-system-deps.sh installs it)`, cause: err })
        : new BuildError('IO', `could not run ${cmd}: ${err.message}`, { cause: err }),
    );
  });
  // EPIPE when the tool exits early: its exit code reports the real problem.
  child.stdin.on('error', () => {});
  return duplex;
}

/** Input bytes per independently deflated gzip chunk. Part of the output's identity: never tune it per machine. */
export const GZIP_CHUNK = 1 << 20;
/** Bytes of the previous chunk used as the deflate dictionary (the whole deflate window). */
const GZIP_DICT = 32 * 1024;

/** Bytes of each of the three samples {@link looksIncompressible} deflates. */
const PROBE_SAMPLE = 8 * 1024;
/**
 * A chunk "does not compress" when level-1 deflate keeps at least this share of its three
 * samples together. 0.92 and not higher: a tar of random or compressed files has a header and
 * zero padding every few KiB, which one sample can catch (measured on the 200 MB bench context:
 * 0.98 stored 179 of 200 chunks, 0.92 all 200, for 1.15 MiB = 0.6% more output; tars of
 * /usr/lib and node_modules stored none at either threshold).
 */
const PROBE_RATIO = 0.92;

/**
 * Deflates `input` in one trip to the thread pool: the output buffer (`chunkSize`) is sized to
 * deflate's worst case for the input, where zlib's default of 16 KiB would cost one round trip
 * (and one main-thread callback and copy) per 16 KiB of output.
 */
function deflateRawAsync(input: Buffer, opts: zlib.ZlibOptions): Promise<Buffer> {
  const chunkSize = Math.max(zlib.constants.Z_MIN_CHUNK, input.length + (input.length >> 10) + 1024);
  return new Promise((resolve, reject) => zlib.deflateRaw(input, { ...opts, chunkSize }, (err, out) => (err ? reject(err) : resolve(out))));
}

/**
 * Whether a full chunk is already compressed or random (media, archives, encrypted data): three
 * 8 KiB samples (start, middle, end) deflated at level 1 keep >= 92% of their size (about
 * 0.25 ms a chunk, done on the calling thread: a thread-pool hop queued behind file reads cost
 * more than the probe). Such a chunk is then stored ({@link storedBlocks}) instead of searched
 * for matches at level 6 (~47 MB/s a core on random data) for a gain of a few percent at most.
 * Compressible samples keep the chunk at the requested level. The answer depends only on the
 * bytes (and zlib), so the output stays deterministic.
 */
export function looksIncompressible(chunk: Buffer): boolean {
  const starts = [0, (chunk.length - PROBE_SAMPLE) >> 1, chunk.length - PROBE_SAMPLE];
  let kept = 0;
  for (const s of starts) kept += zlib.deflateRawSync(chunk.subarray(s, s + PROBE_SAMPLE), { level: 1 }).length;
  return kept >= starts.length * PROBE_SAMPLE * PROBE_RATIO;
}

/** Longest stored deflate block (RFC 1951 3.2.4: LEN is 16 bits). */
const STORED_BLOCK = 0xffff;

/**
 * `chunk` as stored (uncompressed) deflate blocks, without copying it: per block a 5-byte header
 * (BFINAL on the last block of the final chunk, BTYPE 00, then LEN and its complement) and a
 * view of the input. Each chunk starts on a byte boundary (the chunk before it ended with a sync
 * flush or with stored blocks), so the header needs no bit shifting. This is what zlib writes at
 * level 0, made here without a trip through the thread pool or a copy.
 */
export function storedBlocks(chunk: Buffer, final: boolean): Buffer[] {
  if (chunk.length === 0) throw new Error('storedBlocks: empty chunk');
  const out: Buffer[] = [];
  for (let off = 0; off < chunk.length; off += STORED_BLOCK) {
    const len = Math.min(STORED_BLOCK, chunk.length - off);
    const h = Buffer.allocUnsafe(5);
    h[0] = final && off + len === chunk.length ? 1 : 0;
    h.writeUInt16LE(len, 1);
    h.writeUInt16LE(~len & 0xffff, 3);
    out.push(h, chunk.subarray(off, off + len));
  }
  return out;
}

function deflateChunk(input: Buffer, level: number, dictionary: Buffer | undefined, final: boolean): Promise<Buffer> {
  const opts: zlib.ZlibOptions = { level, finishFlush: final ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
  if (dictionary) opts.dictionary = dictionary;
  return deflateRawAsync(input, opts);
}

/**
 * A gzip compressor that deflates 1 MiB chunks concurrently on libuv's thread pool and writes
 * one gzip member (see the module comment). At most `inFlight` chunks (default: twice the
 * number of cores, at least 2) are held at once, so memory stays at a few MiB whatever the
 * input size. Output is deterministic: it depends on the input bytes and the level only.
 * Errors from zlib destroy the stream.
 */
export class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly inFlight: number;
  /** The chunk being filled: our own copy, so callers may reuse the buffers they write. */
  private buf = Buffer.allocUnsafe(GZIP_CHUNK);
  private fill = 0;
  private readonly queue: Promise<Buffer | Buffer[]>[] = [];
  private dict: Buffer | undefined;
  private crc = 0;
  private size = 0;
  private headerDone = false;

  constructor(opts: { level?: number; inFlight?: number } = {}) {
    super();
    this.level = opts.level ?? DEFAULT_GZIP_LEVEL;
    this.inFlight = Math.max(2, opts.inFlight ?? 2 * os.availableParallelism());
  }

  private header(): void {
    if (this.headerDone) return;
    this.headerDone = true;
    // RFC 1952 header as zlib writes it: no name, mtime 0; XFL 2 for level 9, 4 for levels < 2.
    const xfl = this.level === 9 ? 2 : this.level < 2 ? 4 : 0;
    this.push(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]));
  }

  private dispatch(chunk: Buffer, final: boolean): void {
    this.crc = zlib.crc32(chunk, this.crc);
    this.size += chunk.length;
    // Only full chunks are probed, so an input under 1 MiB stays byte-identical to gzipSync.
    const p: Promise<Buffer | Buffer[]> =
      chunk.length === GZIP_CHUNK && this.level > 0 && looksIncompressible(chunk)
        ? Promise.resolve(storedBlocks(chunk, final))
        : deflateChunk(chunk, this.level, this.dict, final);
    p.catch(() => {}); // handled when it reaches the head of the queue
    this.queue.push(p);
    // Only the final chunk can be shorter than GZIP_CHUNK, and nothing follows it.
    if (!final) this.dict = chunk.subarray(chunk.length - GZIP_DICT);
  }

  private async drain(max: number): Promise<void> {
    while (this.queue.length > max) {
      const out = await this.queue.shift()!;
      // A stored chunk is 34 pieces; the store's writer joins queued pieces into one writev.
      if (Array.isArray(out)) for (const b of out) this.push(b);
      else this.push(out);
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.header();
    let off = 0;
    while (off < chunk.length) {
      const n = chunk.copy(this.buf, this.fill, off);
      off += n;
      this.fill += n;
      if (this.fill === GZIP_CHUNK) {
        this.dispatch(this.buf, false);
        this.buf = Buffer.allocUnsafe(GZIP_CHUNK);
        this.fill = 0;
      }
    }
    if (this.queue.length < this.inFlight) return cb();
    this.drain(this.inFlight - 1).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.header();
    this.dispatch(this.buf.subarray(0, this.fill), true);
    this.drain(0).then(() => {
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.size % 2 ** 32, 4);
      cb(null, trailer);
    }, cb);
  }
}

/** A compressing stream for `kind` (PassThrough for `none`). Deterministic for a given input and level. */
export function createCompressor(kind: Compression, opts: { gzipLevel?: number; zstdLevel?: number } = {}): Duplex {
  switch (kind) {
    case 'gzip':
      return new ParallelGzip({ level: opts.gzipLevel ?? DEFAULT_GZIP_LEVEL });
    case 'zstd':
      return spawnFilter('zstd', ['-q', '-c', `-${opts.zstdLevel ?? 3}`, '-T0', '--no-progress']);
    case 'none':
      return new PassThrough();
  }
}

/** A decompressing stream for `kind` (PassThrough for `none`). */
export function createDecompressor(kind: InputCompression): Duplex {
  switch (kind) {
    case 'gzip':
      // Concatenated gzip members are valid (pigz, docker); zlib's gunzip reads them all.
      return zlib.createGunzip();
    case 'zstd':
      return spawnFilter('zstd', ['-q', '-d', '-c', '--no-progress']);
    case 'bzip2':
      return spawnFilter('bzip2', ['-d', '-c']);
    case 'xz':
      return spawnFilter('xz', ['-d', '-c', '-T1']);
    case 'none':
      return new PassThrough();
  }
}

/** The compression of a stream from its first bytes (magic numbers); `none` when unknown. */
export function detectCompression(head: Uint8Array): InputCompression {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b.length >= 3 && b.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'none';
}

/** The compression a layer media type implies; throws a BuildError for non-layer types. */
export function layerCompression(mediaType: string): Compression {
  switch (mediaType) {
    case MediaTypes.OCI_LAYER:
    case MediaTypes.DOCKER_LAYER:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar':
      return 'none';
    case MediaTypes.OCI_LAYER_GZIP:
    case MediaTypes.DOCKER_LAYER_GZIP:
    case 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip':
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip':
      return 'gzip';
    case MediaTypes.OCI_LAYER_ZSTD:
    case DOCKER_LAYER_ZSTD:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd':
      return 'zstd';
    default:
      throw new BuildError('INVALID_ARGUMENT', `unsupported layer media type "${mediaType}"`, {
        hint: 'expected an OCI or Docker layer type (tar, tar+gzip, tar+zstd)',
      });
  }
}

/** containerd's Docker-flavoured zstd layer type (BuildKit writes it with docker media types). */
export const DOCKER_LAYER_ZSTD = 'application/vnd.docker.image.rootfs.diff.tar.zstd';

/** The layer media type for a compression in the given manifest format. */
export function layerMediaType(kind: Compression, format: 'oci' | 'docker' = 'oci'): string {
  if (format === 'docker') return kind === 'gzip' ? MediaTypes.DOCKER_LAYER_GZIP : kind === 'zstd' ? DOCKER_LAYER_ZSTD : MediaTypes.DOCKER_LAYER;
  return kind === 'gzip' ? MediaTypes.OCI_LAYER_GZIP : kind === 'zstd' ? MediaTypes.OCI_LAYER_ZSTD : MediaTypes.OCI_LAYER;
}

/**
 * Reads the first bytes of `input` without losing them: returns them and a stream that yields
 * the whole input again. The caller consumes or destroys the returned stream.
 */
export async function peek(input: Readable, n = 512): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let len = 0;
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  while (len < n) {
    const r = await it.next();
    if (r.done) break;
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(b);
    len += b.length;
  }
  const head = Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  const stream = Readable.from(rest(), { objectMode: false });
  stream.once('close', () => {
    if (!input.destroyed) input.destroy();
  });
  return { head: head.subarray(0, n), stream };
}
