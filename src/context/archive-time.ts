/**
 * The time of a downloaded archive for SOURCE_DATE_EPOCH (BuildKit's archiveMaxTimeFromRef): the
 * newest modification time of a regular file in a tar archive (plain, gzip, bzip2, xz or zstd).
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { createDecompressor } from '../image/compression.js';
import { tarArchiveKind } from './remote.js';

/** The newest mtime (seconds) of a regular file of the archive `file`; undefined when it is no tar archive or holds no file. */
export async function archiveMaxTime(file: string): Promise<number | undefined> {
  const kind = await tarArchiveKind(file);
  if (kind === null) return undefined;
  let max: number | undefined;
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    if ((header.type === 'file' || header.type === 'contiguous-file') && header.mtime) {
      const t = Math.floor(header.mtime.getTime() / 1000);
      if (max === undefined || t > max) max = t;
    }
    stream.on('end', next);
    stream.resume();
  });
  try {
    if (kind === 'none') await pipeline(createReadStream(file), extract);
    else await pipeline(createReadStream(file), createDecompressor(kind), extract);
  } catch {
    return undefined; // not a readable archive: no time (BuildKit's allowNonArchive)
  }
  return max;
}

/** The time of an HTTP response's Last-Modified header (seconds), when it has a valid one. */
export function lastModifiedTime(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const t = Date.parse(header);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}
