/**
 * The last cache key each step identity had (`Dockerfile:stage:index` → key digest), so a miss
 * can be explained by diffing the new key's parts with the previous ones. One small file per
 * identity under `<root>/cache-last/`, written atomically; losing one only loses an explanation.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../store/fs-util.js';
import { storeDir } from '../store/store-dirs.js';
import { storeLayout } from '../store/layout.js';

export class StepHistory {
  private constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  /** Opens (creating) `<root>/cache-last`; `tmpDir` must be on the same filesystem. */
  static async open(root: string, tmpDir: string): Promise<StepHistory> {
    const dir = storeLayout(root).cacheLast;
    await storeDir(dir);
    return new StepHistory(dir, tmpDir);
  }

  private file(identity: string): string {
    return path.join(this.dir, createHash('sha256').update(identity).digest('hex'));
  }

  /** The last key recorded for `identity`, or undefined. */
  async get(identity: string): Promise<string | undefined> {
    try {
      return (await readFile(this.file(identity), 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Records `key` as the latest for `identity` (no write when it already is: a warm rebuild
   * writes nothing). Atomic but not fsynced: the record only explains the next miss, and one
   * lost to a power cut reads as absent (`get` is undefined for an empty or missing file).
   */
  async set(identity: string, key: string): Promise<void> {
    if ((await this.get(identity)) === key) return;
    await writeFileAtomic(this.file(identity), key, this.tmpDir, { durable: false });
  }
}
