/**
 * What ADD remembers of each URL it downloaded, so that a rebuild revalidates instead of
 * downloading again (BuildKit's http source: the response's ETag is stored with the content's
 * digest; the next build sends HEAD with If-None-Match and reuses the digest when the ETag
 * still matches). One small JSON file per URL under `<root>/cache-http/`, named by the URL's
 * sha256, written atomically; a lost or unreadable one only costs a download.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../store/fs-util.js';
import { storeDir } from '../store/store-dirs.js';
import { storeLayout } from '../store/layout.js';

/** The validators of one download: its ETag, the digest of its body, its Last-Modified. */
export interface UrlValidators {
  etag: string;
  digest: string;
  lastModified?: string;
}

export class HttpValidators {
  private constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  /** Opens (creating) `<root>/cache-http`; `tmpDir` must be on the same filesystem. */
  static async open(root: string, tmpDir: string): Promise<HttpValidators> {
    const dir = storeLayout(root).cacheHttp;
    await storeDir(dir);
    return new HttpValidators(dir, tmpDir);
  }

  private file(url: string): string {
    return path.join(this.dir, createHash('sha256').update(url).digest('hex'));
  }

  /** The validators recorded for `url` (its digest of algorithm `algorithm`), or undefined. */
  async get(url: string, algorithm: string): Promise<UrlValidators | undefined> {
    try {
      const v = JSON.parse(await readFile(this.file(url), 'utf8')) as Partial<UrlValidators>;
      if (typeof v.etag !== 'string' || v.etag === '' || typeof v.digest !== 'string' || !v.digest.startsWith(`${algorithm}:`)) return undefined;
      return { etag: v.etag, digest: v.digest, ...(typeof v.lastModified === 'string' ? { lastModified: v.lastModified } : {}) };
    } catch {
      return undefined;
    }
  }

  /** Records the validators of the latest download of `url`. */
  async set(url: string, v: UrlValidators): Promise<void> {
    await writeFileAtomic(this.file(url), JSON.stringify(v), this.tmpDir, { durable: false });
  }
}
