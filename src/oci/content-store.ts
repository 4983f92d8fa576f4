/**
 * The content store: blobs addressed by digest. Implementations: `src/store/content-store.ts`
 * (an OCI image layout on disk) and, for tests, `src/store/memory-content-store.ts`; both pass
 * `test/store/content-store-suite.ts`. Image code (`src/image`) is written against this
 * interface only, never against an implementation.
 *
 * Lifecycle of a blob: bytes stream into an ingest file under `<root>/ingest/` while they are
 * hashed; only when the stream ends and digest and size match what was expected is the file
 * renamed into `blobs/sha256/<hex>`. A writer that fails or is killed leaves no visible blob.
 */
import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface ContentStore {
  /**
   * Streams a blob. The caller consumes or destroys the stream. The stream fails with
   * DigestMismatchError if the bytes on disk do not hash to `desc.digest` or differ in size
   * (checked as the last byte is read). Throws NotFoundError when the blob is missing.
   */
  reader(desc: { digest: Digest; size?: number }): Promise<Readable>;

  /** Reads a small blob whole (manifests, configs), verified; refuses blobs over `maxSize` (default 4 MiB). */
  readBytes(digest: Digest, maxSize?: number): Promise<Buffer>;

  /** The blob's size if it is stored, else null. Does not verify the content. */
  info(digest: Digest): Promise<BlobInfo | null>;

  /**
   * Stores a blob from a stream and returns its digest and size. Idempotent: storing a blob that
   * exists succeeds without changing it. When `expected` is given, a mismatch throws
   * DigestMismatchError and nothing becomes visible. Safe to call concurrently for the same blob.
   */
  write(source: Readable | AsyncIterable<Uint8Array>, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo>;

  /** `write` for bytes already in memory. */
  writeBytes(data: Uint8Array | string, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo>;

  /** Removes a blob; no error if it is missing. */
  delete(digest: Digest): Promise<void>;

  /** Every stored blob digest, in no particular order. */
  list(): AsyncIterable<Digest>;
}
