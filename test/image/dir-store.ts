/**
 * A tiny on-disk ContentStore for the image tests (blobs/sha256/<hex> under a temp dir), until
 * the real LocalContentStore is used here. Verifies digests on write and on read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError, NotFoundError } from '../../src/errors.js';
import type { Digest } from '../../src/image/types.js';
import type { BlobInfo, ContentStore } from '../../src/store/types.js';

export class DirStore implements ContentStore {
  constructor(readonly root: string) {}

  static async create(): Promise<DirStore> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'mybuild-image-test-'));
    await fs.mkdir(path.join(root, 'blobs', 'sha256'), { recursive: true });
    await fs.mkdir(path.join(root, 'ingest'), { recursive: true });
    return new DirStore(root);
  }

  async cleanup(): Promise<void> {
    await fs.rm(this.root, { recursive: true, force: true });
  }

  blobPath(d: Digest): string {
    return path.join(this.root, 'blobs', 'sha256', d.slice('sha256:'.length));
  }

  async reader(desc: { digest: Digest; size?: number }): Promise<Readable> {
    const p = this.blobPath(desc.digest);
    try {
      await fs.access(p);
    } catch {
      throw new NotFoundError(`blob ${desc.digest} not found`);
    }
    const h = createHash('sha256');
    let n = 0;
    const check = new Transform({
      transform(c: Buffer, _e, cb) {
        h.update(c);
        n += c.length;
        cb(null, c);
      },
      flush(cb) {
        const got = `sha256:${h.digest('hex')}`;
        if (got !== desc.digest || (desc.size !== undefined && desc.size !== n)) cb(new DigestMismatchError(`blob ${desc.digest}: got ${got} (${n} bytes)`));
        else cb();
      },
    });
    const rs = createReadStream(p);
    rs.on('error', (e) => check.destroy(e));
    check.on('close', () => rs.destroy());
    return rs.pipe(check);
  }

  async readBytes(digest: Digest, maxSize = 4 << 20): Promise<Buffer> {
    const info = await this.info(digest);
    if (!info) throw new NotFoundError(`blob ${digest} not found`);
    if (info.size > maxSize) throw new Error(`blob ${digest} too big`);
    const b = await fs.readFile(this.blobPath(digest));
    if (`sha256:${createHash('sha256').update(b).digest('hex')}` !== digest) throw new DigestMismatchError(`blob ${digest} corrupt`);
    return b;
  }

  async info(digest: Digest): Promise<BlobInfo | null> {
    try {
      const st = await fs.stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch {
      return null;
    }
  }

  async write(source: Readable | AsyncIterable<Uint8Array>, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo> {
    const tmp = path.join(this.root, 'ingest', randomBytes(8).toString('hex'));
    const h = createHash('sha256');
    let n = 0;
    try {
      await pipeline(
        source,
        new Transform({
          transform(c: Buffer, _e, cb) {
            h.update(c);
            n += c.length;
            cb(null, c);
          },
        }),
        createWriteStream(tmp),
      );
      const digest: Digest = `sha256:${h.digest('hex')}`;
      if ((expected?.digest && expected.digest !== digest) || (expected?.size !== undefined && expected.size !== n)) {
        throw new DigestMismatchError(`expected ${expected.digest} (${expected.size}), got ${digest} (${n})`);
      }
      await fs.rename(tmp, this.blobPath(digest));
      return { digest, size: n };
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async writeBytes(data: Uint8Array | string, expected?: { digest?: Digest; size?: number }): Promise<BlobInfo> {
    return this.write(Readable.from([Buffer.from(data)]), expected);
  }

  async delete(digest: Digest): Promise<void> {
    await fs.rm(this.blobPath(digest), { force: true });
  }

  async *list(): AsyncIterable<Digest> {
    for (const f of await fs.readdir(path.join(this.root, 'blobs', 'sha256'))) yield `sha256:${f}`;
  }
}
