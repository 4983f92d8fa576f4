/**
 * Where blobs were pulled from / pushed to (`domain/path` repositories), so that a push can
 * ask the registry to mount a blob from another repository it already holds instead of
 * uploading it (`POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>`).
 *
 * Kept in memory, and in a small JSON file when `file` is given (`{ "<digest>": ["domain/path", …] }`,
 * at most 8 repositories a blob, newest last). The file is a hint only: a lost or corrupt file
 * just means no mounts. Writes are atomic (temp file + rename); concurrent processes may lose
 * each other's entries, which is harmless.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Digest } from '../oci/types.js';

const MAX_PER_BLOB = 8;

export class BlobSources {
  private readonly map = new Map<string, string[]>();
  private loaded: Promise<void> | undefined;

  /** `file`: optional JSON file to load from and save to. */
  constructor(readonly file?: string) {}

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      if (!this.file) return;
      try {
        const v = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, unknown>;
        for (const [d, repos] of Object.entries(v)) {
          if (Array.isArray(repos)) this.map.set(d, repos.filter((r): r is string => typeof r === 'string').slice(-MAX_PER_BLOB));
        }
      } catch {
        // missing or corrupt: start empty (the record is only a hint)
      }
    })();
    return this.loaded;
  }

  /** Notes that `repo` (`domain/path`) holds `digest`. */
  async add(digest: Digest, repo: string): Promise<void> {
    await this.load();
    const list = (this.map.get(digest) ?? []).filter((r) => r !== repo);
    list.push(repo);
    this.map.set(digest, list.slice(-MAX_PER_BLOB));
  }

  /** Repositories on `domain` other than `exceptPath` known to hold `digest`: their paths, newest first. */
  async sources(digest: Digest, domain: string, exceptPath: string): Promise<string[]> {
    await this.load();
    const prefix = `${domain}/`;
    return (this.map.get(digest) ?? [])
      .filter((r) => r.startsWith(prefix) && r.slice(prefix.length) !== exceptPath)
      .map((r) => r.slice(prefix.length))
      .reverse();
  }

  /** Writes the record to `file` (no-op without one). Errors are ignored: the record is a hint. */
  async save(): Promise<void> {
    if (!this.file) return;
    await this.load();
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, JSON.stringify(Object.fromEntries(this.map)));
      await rename(tmp, this.file);
    } catch {
      // best effort
    }
  }
}
