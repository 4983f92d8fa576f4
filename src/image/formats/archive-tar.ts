/**
 * Writing archive tars (OCI layout tar, docker save tar): entries in the order given, mtime 0,
 * owner 0:0, files 0644 and directories 0755, so the same content gives the same bytes.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LayerEntry } from '../layer-entry.js';
import { tarChunks } from '../tar-writer.js';

/** A file of an archive: its bytes, or a way to open exactly `size` bytes. */
export type ArchiveFile = { path: string; data: Buffer } | { path: string; size: number; open: () => Promise<Readable> };

/** Directory entries first for every parent of the files (in order of first use), then files as given. */
export function archiveEntries(files: ArchiveFile[]): LayerEntry[] {
  const out: LayerEntry[] = [];
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        out.push({ path: d, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeMs: 0 });
      }
    }
    if ('data' in f) {
      const data = f.data;
      out.push({ path: f.path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtimeMs: 0, open: () => Readable.from([data]) });
    } else {
      out.push({ path: f.path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: f.size, mtimeMs: 0, open: f.open });
    }
  }
  return out;
}

/**
 * Streams `files` as a tar into `dest`: a file path (written to a temporary file beside it and
 * renamed when complete, so a failed export leaves no partial file) or a Writable (which this
 * function ends, but does not close on error beyond what pipeline does).
 */
export async function writeArchive(files: ArchiveFile[], dest: string | Writable): Promise<void> {
  const src = Readable.from(tarChunks(archiveEntries(files)), { objectMode: false });
  if (typeof dest !== 'string') {
    await pipeline(src, dest);
    return;
  }
  const tmp = path.join(path.dirname(path.resolve(dest)), `.${path.basename(dest)}.${process.pid}.tmp`);
  try {
    await pipeline(src, createWriteStream(tmp));
    await fs.rename(tmp, dest);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
