/**
 * MemoryContentStore: a ContentStore in a Map, for tests of code that needs a store but not a
 * disk. Same contract as LocalContentStore (the shared suite test/store/content-store-suite.ts
 * runs on both): writes are verified before they become visible, readers verify as the last
 * byte passes. Unlike the disk store it holds whole blobs in memory; use it for small data only.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BuildError, DigestMismatchError, NotFoundError } from '../errors.js';
import type { Digest } from '../oci/types.js';
import { DEFAULT_MAX_READ_BYTES, digestOf, verifier } from './content-store.js';
import { checkDigest } from './fs-util.js';
import type { BlobInfo, ContentStore } from '../oci/content-store.js';

export class MemoryContentStore implements ContentStore {
  private readonly blobs = new Map<Digest, Buffer>();

  async reader(desc: { digest: Digest; size?: number }): Promise<Readable> {
    const b = this.blobs.get(checkDigest(desc.digest));
    if (!b) throw new NotFoundError(`blob ${desc.digest} not found in the store`);
    return Readable.from([b]).pipe(verifier(desc, `blob ${desc.digest}`));
  }

  async readBytes(digest: Digest, maxSize: number = DEFAULT_MAX_READ_BYTES): Promise<Buffer> {
    const b = this.blobs.get(checkDigest(digest));
    if (!b) throw new NotFoundError(`blob ${digest} not found in the store`);
    if (b.length > maxSize) throw new BuildError('INVALID_ARGUMENT', `blob ${digest} is ${b.length} bytes, more than the ${maxSize}-byte limit for reading it whole`);
    const got = digestOf(b);
    if (got !== digest) throw new DigestMismatchError(`blob ${digest}: content hashes to ${got}`);
    return Buffer.from(b);
  }

  async info(digest: Digest): Promise<BlobInfo | null> {
    const b = this.blobs.get(checkDigest(digest));
    return b ? { digest, size: b.length } : null;
  }

  /** See ContentStore.write. Gathers the stream in memory, verifies, then stores. */
  async write(source: Readable | AsyncIterable<Uint8Array>, expected: { digest?: Digest; size?: number } = {}): Promise<BlobInfo> {
    if (expected.digest !== undefined) checkDigest(expected.digest, 'expected digest');
    const h = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of source as AsyncIterable<Uint8Array | string>) {
      const b = typeof c === 'string' ? Buffer.from(c) : Buffer.from(c);
      size += b.length;
      if (expected.size !== undefined && size > expected.size) {
        if (source instanceof Readable) source.destroy();
        throw new DigestMismatchError(`blob is larger than the expected ${expected.size} bytes`);
      }
      h.update(b);
      chunks.push(b);
    }
    const digest: Digest = `sha256:${h.digest('hex')}`;
    if (expected.size !== undefined && expected.size !== size) {
      throw new DigestMismatchError(`blob size mismatch: expected ${expected.size} bytes, received ${size} bytes (${digest})`);
    }
    if (expected.digest !== undefined && expected.digest !== digest) {
      throw new DigestMismatchError(`blob digest mismatch: expected ${expected.digest}, received content hashing to ${digest} (${size} bytes)`);
    }
    const existing = this.blobs.get(digest);
    if (!existing || existing.length !== size) this.blobs.set(digest, Buffer.concat(chunks));
    return { digest, size };
  }

  async writeBytes(data: Uint8Array | string, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo> {
    return this.write(Readable.from([typeof data === 'string' ? Buffer.from(data) : data]), expected);
  }

  async delete(digest: Digest): Promise<void> {
    this.blobs.delete(checkDigest(digest));
  }

  async *list(): AsyncIterable<Digest> {
    yield* [...this.blobs.keys()];
  }

  /** Test hook: replaces a stored blob's bytes without updating its digest (simulates corruption). */
  corrupt(digest: Digest, data: Uint8Array): void {
    if (!this.blobs.has(digest)) throw new NotFoundError(`blob ${digest} not found in the store`);
    this.blobs.set(digest, Buffer.from(data));
  }
}
