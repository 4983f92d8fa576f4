/**
 * Leases keep a running build's blobs from being pruned before a ref or cache record names them.
 *
 * Lifecycle: `ImageStore.lease()` creates `<root>/leases/<pid>-<rand>` (empty). Every blob
 * written through `lease.content` is recorded in it (one digest per line) and made visible in
 * the same critical section under the store lock that `prune` holds while it marks and sweeps,
 * so prune either sees the blob leased or does not see the blob at all. Blobs the build reuses
 * without writing (cache hits, base image layers) are pinned with `lease.add(digest)` before
 * the build checks that they still exist. `release()` removes the file; a lease whose process
 * died is removed by the next prune (its pid is dead).
 */
import { appendFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { InternalError } from '../errors.js';
import type { Digest } from '../oci/types.js';
import { digestOf, toBuffer, type LocalContentStore } from './content-store.js';
import { isDigest } from '../oci/digest.js';
import { checkDigest, ioError, pidAlive, pidOfTempName, tempName, withLock } from './fs-util.js';
import type { BlobInfo, ContentStore } from '../oci/content-store.js';
import { storeDir } from './store-dirs.js';
import { storeLayout } from './layout.js';

/** The directory holding lease files, under a store root. */
export function leasesDir(root: string): string {
  return storeLayout(root).leases;
}

export class Lease {
  /** A ContentStore whose writes are recorded in this lease (reads pass through). */
  readonly content: ContentStore;
  private released = false;

  /** Use `ImageStore.lease()`. */
  constructor(
    readonly file: string,
    private readonly base: LocalContentStore,
    private readonly lockPath: string,
  ) {
    this.content = new LeasedContentStore(base, this);
  }

  /** The lease's id (its file name). */
  get id(): string {
    return path.basename(this.file);
  }

  /** Runs `fn` under the store lock after recording `digests` (used by writes and `add`). */
  async pinWhile<T>(digests: Digest[], fn: () => Promise<T>): Promise<T> {
    if (this.released) throw new InternalError(`lease ${this.id} was released; blobs cannot be written through it any more`);
    for (const d of digests) checkDigest(d);
    return withLock(this.lockPath, this.base.paths.ingest, async () => {
      try {
        // Blocking: a few bytes appended under the lock, once per pinned step (see withLock).
        appendFileSync(this.file, digests.map((d) => `${d}\n`).join(''));
      } catch (err) {
        throw ioError(err);
      }
      return fn();
    });
  }

  /**
   * Pins blobs that are already stored (or soon will be) so prune keeps them while the lease
   * lives. Check that they exist after `add` returns, not before. Idempotent.
   */
  async add(...digests: Digest[]): Promise<void> {
    if (digests.length) await this.pinWhile(digests, async () => undefined);
  }

  /** Removes the lease; its blobs are pruned later unless a ref or cache record names them. Idempotent. */
  async release(): Promise<void> {
    this.released = true;
    await fs.rm(this.file, { force: true }).catch(() => undefined);
  }
}

class LeasedContentStore implements ContentStore {
  constructor(
    private readonly base: LocalContentStore,
    private readonly lease: Lease,
  ) {}
  reader(desc: { digest: Digest; size?: number }): Promise<Readable> {
    return this.base.reader(desc);
  }
  readBytes(digest: Digest, maxSize?: number): Promise<Buffer> {
    return this.base.readBytes(digest, maxSize);
  }
  info(digest: Digest): Promise<BlobInfo | null> {
    return this.base.info(digest);
  }
  write(source: Readable | AsyncIterable<Uint8Array>, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo> {
    return this.base.write(source, expected, { commit: (digest, commit) => this.lease.pinWhile([digest], commit) });
  }
  async writeBytes(data: Uint8Array | string, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo> {
    const buf = toBuffer(data);
    const digest = digestOf(buf);
    // Pinned first, then checked: once pinned, prune cannot take it away (see `add`).
    const stored = await this.lease.pinWhile([digest], () => this.base.touchIfStored(digest, buf.length, expected));
    return stored ?? this.write(Readable.from([buf]), expected);
  }
  delete(digest: Digest): Promise<void> {
    return this.base.delete(digest);
  }
  list(): AsyncIterable<Digest> {
    return this.base.list();
  }
}

/** Creates a lease file under `root` (see the file comment). */
export async function createLease(root: string, base: LocalContentStore, lockPath: string): Promise<Lease> {
  const dir = leasesDir(root);
  const file = path.join(dir, tempName('lease'));
  try {
    await storeDir(dir);
    await fs.writeFile(file, '', { flag: 'wx' });
  } catch (err) {
    throw ioError(err);
  }
  return new Lease(file, base, lockPath);
}

/**
 * The digests pinned by live leases; lease files of dead processes are deleted. Call under the
 * store lock (prune does) so that no lease write is half-way.
 */
export async function leasedDigests(root: string): Promise<Set<Digest>> {
  const out = new Set<Digest>();
  let names: string[];
  try {
    names = await fs.readdir(leasesDir(root));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw ioError(err);
  }
  for (const n of names) {
    const p = path.join(leasesDir(root), n);
    const pid = pidOfTempName(n);
    if (pid === null || !pidAlive(pid)) {
      await fs.rm(p, { force: true }).catch(() => undefined);
      continue;
    }
    const text = await fs.readFile(p, 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (isDigest(line)) out.add(line);
  }
  return out;
}
