/**
 * CacheIndex: the build cache records, one JSON file per cache key under `<root>/cache/`.
 *
 * Lifecycle: `put` writes `<root>/cache/<hex>.json` atomically (temp file in `<root>/ingest`,
 * fsync, rename), so a reader sees the old record, the new one or none; a SIGKILL leaves at
 * most an ingest file. `prune` keeps every blob a record's `layer` names and drops records
 * whose layer is gone; `check` reports them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from '../errors.js';
import type { Digest } from '../oci/types.js';
import { isDigest } from '../oci/digest.js';
import { checkDigest, ioError, writeFileAtomic } from './fs-util.js';
import { storeDir } from './store-dirs.js';

/** The result of a cached build step. */
export interface CacheRecord {
  /** The cache key digest (`sha256:…`); also the file name. */
  key: string;
  /** The readable parts the key was hashed from (kept for explaining misses). */
  parts: string[];
  /** The layer the step produced; absent for steps that only change the config ("empty layer"). */
  layer?: { digest: Digest; diffId: Digest; size: number; mediaType: string };
  /** RFC 3339 time the record was written (set by `put` when absent). */
  createdAt?: string;
  /** Whatever else the builder needs (config changes, history entry, …). */
  extra?: Record<string, unknown>;
}

export class CacheIndex {
  /** `dir` is `<root>/cache`; `tmpDir` is the store's ingest directory (same filesystem). */
  constructor(
    readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  private file(key: string): string {
    return path.join(this.dir, `${checkDigest(key, 'cache key').slice('sha256:'.length)}.json`);
  }

  /** The record for `key`, or null. Throws BuildError INVALID_ARGUMENT for a malformed key or record file. */
  async get(key: string): Promise<CacheRecord | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError(err);
    }
    return parseRecord(text, key);
  }

  /**
   * Stores `record` under `key` (replacing any previous one) atomically. `record.key` must be
   * `key` or absent. Sets `createdAt` when absent. Idempotent. Throws BuildError IO on disk errors.
   */
  async put(key: string, record: Omit<CacheRecord, 'key'> & { key?: string }): Promise<CacheRecord> {
    const file = this.file(key);
    if (record.key !== undefined && record.key !== key) {
      throw new BuildError('INVALID_ARGUMENT', `cache record key ${record.key} does not match the key it is stored under (${key})`);
    }
    if (record.layer) checkDigest(record.layer.digest, 'cache record layer digest');
    const full: CacheRecord = { ...record, key, createdAt: record.createdAt ?? new Date().toISOString() };
    try {
      await storeDir(this.dir);
    } catch (err) {
      throw ioError(err);
    }
    await writeFileAtomic(file, `${JSON.stringify(full)}\n`, this.tmpDir);
    return full;
  }

  /** Removes the record; no error when it is absent. */
  async delete(key: string): Promise<void> {
    try {
      await fs.rm(this.file(key), { force: true });
    } catch (err) {
      throw ioError(err);
    }
  }

  /** Every record, in no particular order. Unreadable record files are skipped (`check` reports them). */
  async list(): Promise<CacheRecord[]> {
    const out: CacheRecord[] = [];
    for (const key of await this.keys()) {
      try {
        const r = await this.get(key);
        if (r) out.push(r);
      } catch {
        // reported by check
      }
    }
    return out;
  }

  /** Every stored key (from the file names). */
  async keys(): Promise<Digest[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError(err);
    }
    const keys: Digest[] = [];
    for (const n of names) {
      const k = `sha256:${n.replace(/\.json$/, '')}`;
      if (n.endsWith('.json') && isDigest(k)) keys.push(k);
    }
    return keys;
  }
}

function parseRecord(text: string, key: string): CacheRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new BuildError('INVALID_ARGUMENT', `cache record ${key} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const r = v as Partial<CacheRecord> | null;
  if (!r || typeof r !== 'object' || r.key !== key || !Array.isArray(r.parts)) {
    throw new BuildError('INVALID_ARGUMENT', `cache record ${key} is malformed: expected an object with "key" = ${key} and a "parts" array`);
  }
  if (r.layer !== undefined && (typeof r.layer !== 'object' || !isDigest(r.layer.digest) || typeof r.layer.size !== 'number')) {
    throw new BuildError('INVALID_ARGUMENT', `cache record ${key} has a malformed "layer" (expected digest, diffId, size, mediaType)`);
  }
  return r as CacheRecord;
}
