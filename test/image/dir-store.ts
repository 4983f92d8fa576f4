/**
 * The image tests' store: the real LocalContentStore (src/store/content-store.ts) in a temp
 * directory (`blobPath(digest)` from the base class tells where a blob's bytes are).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalContentStore } from '../../src/store/content-store.js';

export class DirStore extends LocalContentStore {
  /** A new empty store under the system temp directory. */
  static async create(): Promise<DirStore> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'mybuild-image-test-'));
    const s = new DirStore(root);
    await fs.mkdir(s.paths.blobs, { recursive: true });
    await fs.mkdir(s.paths.ingest, { recursive: true });
    return s;
  }

  /** The temp directory (scratch files of a test may go there too). */
  get root(): string {
    return this.paths.root;
  }

  async cleanup(): Promise<void> {
    await fs.rm(this.paths.root, { recursive: true, force: true });
  }
}
