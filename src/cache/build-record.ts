/**
 * Build records: what `build()` writes after each successful build to
 * `<root>/builds/<config-digest-hex>.json`, and what `mybuild cache explain` and the daemon
 * read back. One record per image ID: a rebuild giving the same image replaces it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BuildError, NotFoundError } from '../errors.js';
import { writeFileAtomic } from '../store/fs-util.js';
import { storeDir } from '../store/store-dirs.js';
import { storeLayout } from '../store/layout.js';

/** One step of a build record. */
export interface BuildRecordStep {
  step: number;
  stage: string;
  index: number;
  instruction: string;
  /** The instruction keyword (`FROM`, `RUN`, `COPY`, …; `ONBUILD` for a base image's triggers). */
  kind: string;
  cached: boolean;
  /** The cache key of a filesystem step. */
  key?: string;
  /** Why a filesystem step missed the cache. */
  reason?: string;
  /** Which --cache-from source a hit came from (absent for local hits). */
  source?: string;
  durationMs: number;
}

export interface BuildRecord {
  imageId: string;
  manifestDigest: string;
  /** The Dockerfile's name as errors show it. */
  dockerfile: string;
  contextDir: string;
  tags: string[];
  createdAt: string;
  steps: BuildRecordStep[];
}

function recordFile(root: string, imageId: string): string {
  return path.join(storeLayout(root).builds, `${imageId.replace(/^sha256:/, '')}.json`);
}

/**
 * Writes the build record atomically (temp file in `tmpDir`, then rename), without fsync: it is
 * a report of the last build (`mybuild cache explain`), rewritten by every build; the two
 * fsyncs were ~3 ms of every no-op build.
 */
export async function writeBuildRecord(root: string, tmpDir: string, rec: BuildRecord): Promise<void> {
  await storeDir(storeLayout(root).builds);
  await writeFileAtomic(recordFile(root, rec.imageId), `${JSON.stringify(rec, null, 2)}\n`, tmpDir, { durable: false });
}

/**
 * Reads the build record of image ID `imageId`. Throws NotFoundError when there is none,
 * BuildError `INVALID_ARGUMENT` when the file is not JSON or has no `steps` array.
 */
export async function readBuildRecord(root: string, imageId: string): Promise<BuildRecord> {
  const file = recordFile(root, imageId);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`no build record for image ${imageId}`, { hint: 'only images built by "mybuild build" with this --root have one (loaded, pulled and imported images do not)' });
    }
    throw err;
  }
  let rec: BuildRecord;
  try {
    rec = JSON.parse(text) as BuildRecord;
  } catch (err) {
    throw new BuildError('INVALID_ARGUMENT', `build record ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!rec || typeof rec !== 'object' || !Array.isArray(rec.steps)) {
    throw new BuildError('INVALID_ARGUMENT', `build record ${file} is malformed: expected an object with a "steps" array`);
  }
  return rec;
}
