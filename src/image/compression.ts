/**
 * Layer compression: gzip through Node's zlib, zstd (Node 20 has none) and bzip2/xz (import
 * only) through their command-line tools, streaming through stdin/stdout.
 *
 * Determinism: zlib's gzip header has mtime 0, no file name and OS 3 (Unix), so the same tar and
 * level give the same bytes. zstd runs `zstd -q -c -3 -T0`: multi-threaded zstd output does not
 * depend on the number of worker threads (checked with -T1/-T2/-T0 on zstd 1.5.4).
 *
 * This module is the seam for faster compression later (parallel gzip in worker threads): every
 * caller gets a plain Duplex from {@link createCompressor}.
 */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough, Readable } from 'node:stream';
import zlib from 'node:zlib';
import { BuildError } from '../errors.js';
import { MediaTypes } from './types.js';

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

/** A compressing stream for `kind` (PassThrough for `none`). Deterministic for a given input and level. */
export function createCompressor(kind: Compression, opts: { gzipLevel?: number } = {}): Duplex {
  switch (kind) {
    case 'gzip':
      return zlib.createGzip({ level: opts.gzipLevel ?? DEFAULT_GZIP_LEVEL });
    case 'zstd':
      return spawnFilter('zstd', ['-q', '-c', '-3', '-T0', '--no-progress']);
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
