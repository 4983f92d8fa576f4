/**
 * LocalContentStore: blobs of an OCI image layout on disk.
 *
 * Blobs are `<root>/oci/blobs/sha256/<hex>`, written through `<root>/ingest` (the whole store
 * tree is in layout.ts). The root is 0711 and every directory under it 0700 (store-dirs.ts):
 * layers hold setuid files.
 *
 * Lifecycle of a blob: `write` streams into `ingest/<pid>-<rand>` while hashing and counting,
 * fsyncs, checks the expected digest/size (DigestMismatchError, the ingest file is removed),
 * then renames into `blobs/sha256/<hex>`. If the blob already exists with the same size, the
 * ingest file is dropped instead (idempotent; concurrent writers of the same blob all succeed
 * and write identical bytes). A writer that dies leaves only its ingest file, which
 * `removeStaleIngest` (called by prune and check) deletes once its pid is dead or it is old.
 * Readers verify digest and size as the last byte passes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, Writable, pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BuildError, DigestMismatchError, NotFoundError } from '../errors.js';
import type { Digest } from '../oci/types.js';
import { isDigest } from '../oci/digest.js';
import { checkDigest, ioError, pidAlive, pidOfTempName, syncDir, tempName } from './fs-util.js';
import { secureStoreRoot, storeDir } from './store-dirs.js';
import { storeLayout, type StoreLayout } from './layout.js';
import type { BlobInfo, ContentStore } from '../oci/content-store.js';
import { StreamSha256 } from '../util/sha256.js';

/** Default cap of `readBytes` (manifests and configs). */
export const DEFAULT_MAX_READ_BYTES = 4 << 20;
/** An ingest file untouched this long is stale even if its pid seems alive (pid reuse). */
export const DEFAULT_STALE_INGEST_MS = 60 * 60 * 1000;

/** A pass-through that hashes and counts; `fail` makes it error out early. */
class Hasher extends Transform {
  /** Off the main thread once the blob is big (src/util/sha256.ts). */
  readonly hash = new StreamSha256();
  size = 0;
  constructor(private readonly limit?: number) {
    super();
  }
  override _transform(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.size += b.length;
    if (this.limit !== undefined && this.size > this.limit) {
      cb(new DigestMismatchError(`blob is larger than the expected ${this.limit} bytes`));
      return;
    }
    this.hash.update(b);
    cb(null, b);
  }
}

/** Bytes written between two early `fdatasync`s of an ingest file ({@link IngestFile}). */
const SYNC_EVERY = 32 << 20;

/**
 * The ingest file a blob streams into (created exclusively, mode 0644), made durable when the
 * stream ends (fsync in `final`). A big blob is also `fdatasync`-ed every {@link SYNC_EVERY}
 * bytes while it is written, in the background, so that the final fsync has only the tail to
 * flush: for a 200 MB layer the final fsync took ~0.1 s of waiting at the end of the build.
 * (fs.WriteStream's `flush` option only syncs at the end.)
 */
class IngestFile extends Writable {
  private fh: fs.FileHandle | undefined;
  private written = 0;
  private synced = 0;
  private syncing: Promise<void> | undefined;

  constructor(private readonly file: string) {
    super({ highWaterMark: 1 << 20 });
  }

  override _construct(cb: (err?: Error | null) => void): void {
    fs.open(this.file, 'wx', 0o644).then((fh) => {
      this.fh = fh;
      cb();
    }, cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => this.wrote(chunk.length, cb), cb);
  }

  /** Chunks queued while a write was in flight go out in one writev. */
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    const bufs = chunks.map((c) => c.chunk);
    this.writeAll(bufs).then(() => this.wrote(bufs.reduce((n, b) => n + b.length, 0), cb), cb);
  }

  /** Counts `n` written bytes and starts a background fdatasync every SYNC_EVERY bytes. */
  private wrote(n: number, cb: () => void): void {
    this.written += n;
    if (!this.syncing && this.written - this.synced >= SYNC_EVERY) {
      const upTo = this.written;
      this.syncing = this.fh!.datasync().then(
        () => {
          this.synced = upTo;
          this.syncing = undefined;
        },
        () => {
          this.syncing = undefined; // the final fsync reports a real problem
        },
      );
    }
    cb();
  }

  /** Writes all of `bufs`, in order, going on after short writes. */
  private async writeAll(bufs: Buffer[]): Promise<void> {
    let rest = bufs.filter((b) => b.length > 0);
    while (rest.length) {
      let n = rest.length === 1 ? (await this.fh!.write(rest[0])).bytesWritten : (await this.fh!.writev(rest)).bytesWritten;
      while (rest.length && n >= rest[0].length) n -= rest.shift()!.length;
      if (n > 0) rest[0] = rest[0].subarray(n);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    (async () => {
      await this.syncing;
      await this.fh!.sync();
    })().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    (async () => {
      await this.syncing;
      await this.fh?.close();
    })().then(
      () => cb(err),
      (closeErr: Error) => cb(err ?? closeErr),
    );
  }
}

/**
 * A transform that passes bytes through and fails with DigestMismatchError when they do not
 * hash to `want.digest` or their count differs from `want.size` (checked at the end, and for
 * size also as soon as it is exceeded).
 */
export function verifier(want: { digest: Digest; size?: number }, what: string): Transform {
  const h = createHash('sha256');
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (want.size !== undefined && n > want.size) {
        cb(new DigestMismatchError(`${what}: more than the expected ${want.size} bytes`, { hint: 'the stored blob is corrupt; run "mybuild system check"' }));
        return;
      }
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const got = `sha256:${h.digest('hex')}`;
      if (want.size !== undefined && n !== want.size) {
        cb(new DigestMismatchError(`${what}: expected ${want.size} bytes, read ${n}`, { hint: 'the stored blob is corrupt; run "mybuild system check"' }));
      } else if (got !== want.digest) {
        cb(new DigestMismatchError(`${what}: content hashes to ${got}`, { hint: 'the stored blob is corrupt; run "mybuild system check"' }));
      } else cb();
    },
  });
}

function expectedMismatch(expected: { digest?: Digest; size?: number }, got: BlobInfo): DigestMismatchError | null {
  if (expected.size !== undefined && expected.size !== got.size) {
    return new DigestMismatchError(`blob size mismatch: expected ${expected.size} bytes${expected.digest ? ` for ${expected.digest}` : ''}, received ${got.size} bytes (${got.digest})`);
  }
  if (expected.digest !== undefined && expected.digest !== got.digest) {
    return new DigestMismatchError(`blob digest mismatch: expected ${expected.digest}, received content hashing to ${got.digest} (${got.size} bytes)`);
  }
  return null;
}

/** Extra control over `LocalContentStore.write` (used by leases, see lease.ts). */
export interface WriteHooks {
  /**
   * Wraps the step that makes the verified blob visible (rename, or drop when it exists):
   * must call `commit` exactly once. Leases record the digest and commit under the store lock.
   */
  commit?: (digest: Digest, commit: () => Promise<void>) => Promise<void>;
}

/** The files `removeStaleIngest` deleted. */
export interface StaleIngest {
  name: string;
  size: number;
}

export class LocalContentStore implements ContentStore {
  readonly paths: StoreLayout;

  /** Use `LocalContentStore.open(root)`, which creates the directories. */
  constructor(root: string) {
    this.paths = storeLayout(root);
  }

  /**
   * Opens (creating when needed) the blob and ingest directories of the store at `root`, and
   * sets the modes of the root (0711) and its directories (0700, see store-dirs.ts).
   * `oci-layout` and `index.json` are ImageStore's. Idempotent. Throws BuildError IO when the
   * directories cannot be made.
   */
  static async open(root: string): Promise<LocalContentStore> {
    const s = new LocalContentStore(root);
    try {
      await secureStoreRoot(root);
      await storeDir(s.paths.blobs);
      await storeDir(s.paths.ingest);
    } catch (err) {
      throw ioError(err);
    }
    return s;
  }

  /** Path of a blob file (the digest is validated first). */
  blobPath(digest: Digest): string {
    return path.join(this.paths.blobs, checkDigest(digest).slice('sha256:'.length));
  }

  async reader(desc: { digest: Digest; size?: number }): Promise<Readable> {
    const p = this.blobPath(desc.digest);
    let h: fs.FileHandle;
    try {
      h = await fs.open(p, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`blob ${desc.digest} not found in the store`);
      throw ioError(err);
    }
    // The stream owns the handle: it closes it at end, error or destroy.
    const rs = createReadStream('', { fd: h });
    const check = verifier(desc, `blob ${desc.digest}`);
    pipelineCb(rs, check, () => undefined);
    return check;
  }

  async readBytes(digest: Digest, maxSize: number = DEFAULT_MAX_READ_BYTES): Promise<Buffer> {
    const p = this.blobPath(digest);
    let h: fs.FileHandle | undefined;
    try {
      h = await fs.open(p, 'r');
      const st = await h.stat();
      if (st.size > maxSize) {
        throw new BuildError('INVALID_ARGUMENT', `blob ${digest} is ${st.size} bytes, more than the ${maxSize}-byte limit for reading it whole`, {
          hint: 'manifests and configs are small; this blob is probably a layer',
        });
      }
      const data = await h.readFile();
      const got = digestOf(data);
      if (got !== digest) throw new DigestMismatchError(`blob ${digest}: content hashes to ${got}`, { hint: 'the stored blob is corrupt; run "mybuild system check"' });
      return data;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`blob ${digest} not found in the store`);
      throw ioError(err);
    } finally {
      await h?.close().catch(() => undefined);
    }
  }

  async info(digest: Digest): Promise<BlobInfo | null> {
    try {
      const st = await fs.stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError(err);
    }
  }

  /**
   * See ContentStore.write. Errors: DigestMismatchError (expected digest/size differ; when the
   * expected size is exceeded the write stops early), BuildError IO (disk full, permissions),
   * or the source stream's own error. In every failure the ingest file is removed and no blob
   * becomes visible. The source is consumed (and destroyed on failure by `pipeline`).
   */
  async write(source: Readable | AsyncIterable<Uint8Array>, expected: { digest?: Digest; size?: number } = {}, hooks: WriteHooks = {}): Promise<BlobInfo> {
    if (expected.digest !== undefined) checkDigest(expected.digest, 'expected digest');
    const tmp = path.join(this.paths.ingest, tempName('blob'));
    const hasher = new Hasher(expected.size);
    let ingest: IngestFile | undefined;
    try {
      ingest = new IngestFile(tmp);
      await pipeline(source, hasher, ingest);
      const got: BlobInfo = { digest: `sha256:${await hasher.hash.digest()}`, size: hasher.size };
      const mismatch = expectedMismatch(expected, got);
      if (mismatch) throw mismatch;
      const dest = this.blobPath(got.digest);
      const commit = async (): Promise<void> => {
        const existing = await fs.stat(dest).catch(() => null);
        if (existing && existing.size === got.size) {
          // Already stored: keep the existing file, refresh its mtime (prune's grace period).
          await fs.rm(tmp, { force: true });
          const now = new Date();
          await fs.utimes(dest, now, now).catch(() => undefined);
        } else {
          // New, or a truncated/corrupt copy of the wrong size: the rename replaces it atomically.
          await fs.rename(tmp, dest);
          await syncDir(this.paths.blobs);
        }
      };
      if (hooks.commit) await hooks.commit(got.digest, commit);
      else await commit();
      return got;
    } catch (err) {
      hasher.hash.drop();
      // A stream destroyed before its open() finished still creates the file when the open
      // completes: wait for it to close, then remove the file.
      if (ingest && !ingest.closed) await new Promise<void>((resolve) => ingest!.once('close', () => resolve()));
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw ioError(err);
    }
  }

  async writeBytes(data: Uint8Array | string, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo> {
    const buf = toBuffer(data);
    const stored = await this.touchIfStored(digestOf(buf), buf.length, expected);
    return stored ?? this.write(Readable.from([buf]), expected);
  }

  /**
   * When the blob `digest` of `size` bytes is already stored (and matches `expected`), refreshes
   * its mtime (prune's grace period) and returns it; else null. Lets small writes of bytes
   * already held (a warm build's config and manifest) skip the ingest file and its fsync.
   */
  async touchIfStored(digest: Digest, size: number, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo | null> {
    if (expected && expectedMismatch(expected, { digest, size })) return null; // write() reports it
    const existing = await this.info(digest);
    if (!existing || existing.size !== size) return null;
    const now = new Date();
    try {
      await fs.utimes(this.blobPath(digest), now, now);
    } catch {
      return null; // removed meanwhile (prune): write it
    }
    return existing;
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await fs.rm(this.blobPath(digest), { force: true });
    } catch (err) {
      throw ioError(err);
    }
  }

  async *list(): AsyncIterable<Digest> {
    let names: string[];
    try {
      names = await fs.readdir(this.paths.blobs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw ioError(err);
    }
    for (const n of names) {
      const d = `sha256:${n}`;
      if (isDigest(d)) yield d;
    }
  }

  /**
   * Deletes ingest files left by dead writers: the pid in the name is not running, or the file
   * was not modified for `staleMs` (default one hour). Files of live writers are kept. Returns
   * what was removed. Safe to run while other processes write.
   */
  async removeStaleIngest(staleMs: number = DEFAULT_STALE_INGEST_MS, now: number = Date.now()): Promise<StaleIngest[]> {
    const removed: StaleIngest[] = [];
    let names: string[];
    try {
      names = await fs.readdir(this.paths.ingest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return removed;
      throw ioError(err);
    }
    for (const name of names) {
      const p = path.join(this.paths.ingest, name);
      const st = await fs.lstat(p).catch(() => null);
      if (!st) continue;
      const pid = pidOfTempName(name);
      const stale = pid === null || !pidAlive(pid) || now - st.mtimeMs > staleMs;
      if (!stale) continue;
      await fs.rm(p, { force: true, recursive: true }).catch(() => undefined);
      removed.push({ name, size: st.size });
    }
    return removed;
  }
}

/** `data` as a Buffer (no copy for a Uint8Array). */
export function toBuffer(data: Uint8Array | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** The sha256 digest of bytes held in memory. */
export function digestOf(buf: Buffer): Digest {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}
