/**
 * Writes a layer: sorts the entries, streams them as a tar through a hash (the diffId) and a
 * compressor into the content store (which hashes the compressed bytes: the digest). One pass,
 * one file open at a time; no layer is held in memory.
 *
 * Order: entries are sorted by path compared component by component, bytewise (equivalently:
 * as if `/` were the smallest byte), the order umoci and BuildKit produce by walking a tree with
 * sorted directory listings. So `a` < `a/b` < `a/z` < `a-b` < `ab`: a directory comes right
 * before its children and a subtree is contiguous.
 */
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BuildError } from '../errors.js';
import type { ContentStore } from '../oci/content-store.js';
import { createCompressor, layerMediaType, type Compression } from './compression.js';
import type { LayerEntry } from './layer-entry.js';
import { tarChunks } from './tar-writer.js';
import { StreamSha256 } from '../util/sha256.js';
import type { Descriptor, Digest } from '../oci/types.js';

/**
 * The compression of the layers a build writes: none (issue 21). A build layer is stored as a
 * plain tar whose digest is its diffID; the compressed blob is made when a push or an export
 * needs it (src/store/layer-variants.ts).
 */
export const BUILD_LAYER_COMPRESSION: Compression = 'none';

export interface WriteLayerOptions {
  /** Default `gzip`. */
  compression?: Compression;
  /** Seconds since the epoch: mtimes later than this are clamped to it. */
  sourceDateEpoch?: number;
  /** gzip level 0–9, default 6. Part of the layer's identity: change it and digests change. */
  gzipLevel?: number;
  /** zstd level 1–19, default 3. */
  zstdLevel?: number;
  /**
   * The input's diffID and size when the caller's source already verifies them (a store reader
   * of the uncompressed blob): the tar is then not hashed a second time.
   */
  knownDiffId?: { digest: Digest; size: number };
}

export interface LayerResult {
  /** The compressed blob: OCI media type for the compression, its digest and size. */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar (for `rootfs.diff_ids`). */
  diffId: Digest;
  uncompressedSize: number;
}

/** Compares two layer paths component-wise, bytewise (see the module comment). */
export function compareLayerPaths(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    if (x[i] === y[i]) continue;
    const cx = x[i] === 0x2f ? 0 : x[i] + 1;
    const cy = y[i] === 0x2f ? 0 : y[i] + 1;
    return cx - cy;
  }
  return x.length - y.length;
}

function checkPath(p: string): void {
  if (p === '' || p.startsWith('/') || p.startsWith('./') || p.split('/').some((c) => c === '..' || c === '.' || c === '')) {
    throw new BuildError('INVALID_ARGUMENT', `invalid layer path "${p}"`, {
      hint: 'layer paths are relative POSIX paths without a leading "/" or "./", empty components, "." or ".."',
    });
  }
}

/**
 * Returns the entries sorted (see the module comment), with hard links made to point at a file
 * that comes earlier in the tar: when a link sorts before its target, the first path of the
 * group becomes the file and the others link to it (a tar reader can only link to an entry it
 * has already seen). Throws a BuildError for invalid or duplicate paths and for links to
 * missing or non-file entries. Does not modify its input.
 */
export function sortLayerEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  const sorted = entries.map((e) => ({ ...e, path: e.path.replace(/\/+$/, '') }));
  for (const e of sorted) checkPath(e.path);
  sorted.sort((a, b) => compareLayerPaths(a.path, b.path));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].path === sorted[i - 1].path) throw new BuildError('INVALID_ARGUMENT', `duplicate layer path "${sorted[i].path}"`);
  }
  if (!sorted.some((e) => e.type === 'hardlink')) return sorted;
  const index = new Map(sorted.map((e, i) => [e.path, i]));
  // Resolve each link to its file (following links to links).
  const rootOf = (i: number, seen = new Set<number>()): number => {
    const e = sorted[i];
    if (e.type !== 'hardlink') return i;
    if (seen.has(i)) throw new BuildError('INVALID_ARGUMENT', `hard link loop at "${e.path}"`);
    seen.add(i);
    const target = index.get((e.linkname ?? '').replace(/^\/+/, '').replace(/\/+$/, ''));
    if (target === undefined) throw new BuildError('INVALID_ARGUMENT', `hard link "${e.path}" points to "${e.linkname}", which is not in the layer`);
    return rootOf(target, seen);
  };
  const groups = new Map<number, number[]>();
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].type !== 'hardlink') continue;
    const r = rootOf(i);
    if (sorted[r].type !== 'file') throw new BuildError('INVALID_ARGUMENT', `hard link "${sorted[i].path}" points to a ${sorted[r].type}; only regular files can be hard linked`);
    const g = groups.get(r) ?? [r];
    g.push(i);
    groups.set(r, g);
  }
  const out = sorted.slice();
  for (const [r, members] of groups) {
    const first = Math.min(...members);
    const file = sorted[r];
    for (const m of members) {
      out[m] = m === first ? { ...file, path: sorted[m].path } : { ...sorted[m], type: 'hardlink', linkname: sorted[first].path, size: 0, source: undefined, open: undefined };
    }
  }
  return out;
}

/**
 * Compresses an already made tar stream into the store (used by imports and by
 * {@link writeLayer}). Consumes `tar`; on any failure the stream is destroyed, nothing partial
 * becomes visible in the store, and the first error is thrown.
 */
export async function writeTarLayer(tar: Readable | AsyncIterable<Uint8Array>, store: ContentStore, opts: WriteLayerOptions = {}): Promise<LayerResult> {
  const compression = opts.compression ?? 'gzip';
  const diffHash = new StreamSha256();
  let uncompressedSize = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      diffHash.update(chunk);
      uncompressedSize += chunk.length;
      cb(null, chunk);
    },
  });
  const out = new PassThrough();
  const source = tar instanceof Readable ? tar : Readable.from(tar, { objectMode: false });
  // Whichever side fails first holds the real error; the other side is then torn down (a store
  // that stops reading must not leave the tar producer waiting on backpressure forever).
  let first: unknown;
  const fail = (err: unknown): never => {
    if (first === undefined) first = err;
    throw err;
  };
  const known = opts.knownDiffId;
  const piping = (known ? pipeline(source, createCompressor(compression, opts), out) : pipeline(source, hasher, createCompressor(compression, opts), out)).catch(fail);
  const writing = store.write(out).catch((err: unknown) => {
    out.destroy(err instanceof Error ? err : new Error(String(err)));
    return fail(err);
  });
  const [, written] = await Promise.allSettled([piping, writing]);
  if (first !== undefined || written.status === 'rejected') {
    diffHash.drop();
    throw first !== undefined ? first : (written as PromiseRejectedResult).reason;
  }
  if (known) diffHash.drop();
  return {
    descriptor: { mediaType: layerMediaType(compression), digest: written.value.digest, size: written.value.size },
    diffId: known ? known.digest : `sha256:${await diffHash.digest()}`,
    uncompressedSize: known ? known.size : uncompressedSize,
  };
}

/**
 * Writes `entries` as one layer blob into `store` and returns its descriptor (compressed digest
 * and size, OCI media type), diffId and uncompressed size. Deterministic: the same entries
 * (metadata and content), options and SOURCE_DATE_EPOCH give the same bytes. Idempotent (the
 * store keeps one copy). Entries are collected (metadata only) and sorted first; file contents
 * are read one at a time while the tar streams.
 *
 * Errors: BuildError INVALID_ARGUMENT for bad paths, duplicates or dangling hard links;
 * BuildError IO when a file changes size while read or the compressor fails.
 */
export async function writeLayer(entries: LayerEntry[] | AsyncIterable<LayerEntry>, store: ContentStore, opts: WriteLayerOptions = {}): Promise<LayerResult> {
  const all: LayerEntry[] = [];
  if (Array.isArray(entries)) all.push(...entries);
  else for await (const e of entries) all.push(e);
  const sorted = sortLayerEntries(all);
  return writeTarLayer(Readable.from(tarChunks(sorted, { sourceDateEpoch: opts.sourceDateEpoch }), { objectMode: false }), store, opts);
}
