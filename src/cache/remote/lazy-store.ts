/**
 * A ContentStore view that makes lazily imported layers appear on first read.
 *
 * A step that hits a remote cache record does not fetch its layer. The record's layer is
 * registered as pending; this wrapper (given to whatever needs a layer's bytes: the snapshotter
 * when a later step needs a view of the filesystem, push, exports) fetches a pending blob into
 * the inner store before the first `reader`/`readBytes` of it. `info` reports a pending blob as
 * present (with its descriptor size), so push and exporters ask for it only when they need the
 * bytes (push first asks the registry, which often has it already).
 *
 * Writes, deletes and listing go straight to the inner store. Errors of a fetch propagate from
 * `reader`/`readBytes`.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../../oci/types.js';
import type { BlobInfo, ContentStore } from '../../oci/content-store.js';

/** What the wrapper asks about pending blobs. */
export interface PendingBlobs {
  /** The size of a pending blob, or null when `digest` is not pending. */
  pendingSize(digest: Digest): number | null;
  /** Fetches `digest` into the inner store when it is pending and missing; no-op otherwise. */
  fetchIfPending(digest: Digest): Promise<void>;
}

export class LazyContentStore implements ContentStore {
  constructor(
    readonly inner: ContentStore,
    private readonly pending: PendingBlobs,
  ) {}

  async reader(desc: { digest: Digest; size?: number }): Promise<Readable> {
    await this.pending.fetchIfPending(desc.digest);
    return this.inner.reader(desc);
  }

  async readBytes(digest: Digest, maxSize?: number): Promise<Buffer> {
    await this.pending.fetchIfPending(digest);
    return this.inner.readBytes(digest, maxSize);
  }

  async info(digest: Digest): Promise<BlobInfo | null> {
    const got = await this.inner.info(digest);
    if (got) return got;
    const size = this.pending.pendingSize(digest);
    return size === null ? null : { digest, size };
  }

  write(source: Readable | AsyncIterable<Uint8Array>, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo> {
    return this.inner.write(source, expected);
  }

  writeBytes(data: Uint8Array | string, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo> {
    return this.inner.writeBytes(data, expected);
  }

  delete(digest: Digest): Promise<void> {
    return this.inner.delete(digest);
  }

  list(): AsyncIterable<Digest> {
    return this.inner.list();
  }
}
