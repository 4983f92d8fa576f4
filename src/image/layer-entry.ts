/**
 * One entry of a layer, as the tar writer (src/image/layer-writer.ts) takes it. Producers:
 * the build context (COPY/ADD), snapshot diffs (RUN), imports. Metadata only: a file's bytes are
 * read from `source` (or `open()`) while the tar is written, one file at a time.
 */
import type { Readable } from 'node:stream';

export type LayerEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'character-device' | 'block-device' | 'fifo';

export interface LayerEntry {
  /** Path in the image, POSIX, relative, no leading `/` or `./`, no `..` (e.g. `usr/bin/app`). */
  path: string;
  type: LayerEntryType;
  /** Permission bits plus setuid/setgid/sticky (no file-type bits). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content for files; 0 otherwise. */
  size: number;
  /** Modification time in milliseconds since the epoch (clamped to SOURCE_DATE_EPOCH by the writer). */
  mtimeMs: number;
  /** Symlink target, or for hardlinks the path (as above) of the entry it links to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes (`security.capability`, …), written as PAX `SCHILY.xattr.*` records. */
  xattrs?: Record<string, Buffer>;
  /** Absolute host path to read a file's content from. */
  source?: string;
  /** Alternative to `source`: opens the content stream (the writer consumes it). */
  open?: () => Readable | Promise<Readable>;
}

/**
 * Makes files that are one inode on disk one file in the layer, as Docker, BuildKit and Buildah
 * do: per `identity` (a dev:ino key, or undefined for a file that is not hard linked), the first
 * entry stays a file and the others become hard links to it (the layer writer puts the file
 * first in the tar). Changes `entries` in place.
 */
export function linkHardlinks(entries: LayerEntry[], identity: (e: LayerEntry) => string | undefined): void {
  const seen = new Map<string, string>();
  for (const e of entries) {
    if (e.type !== 'file' || !e.source) continue;
    const id = identity(e);
    if (id === undefined) continue;
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, e.path);
      continue;
    }
    e.type = 'hardlink';
    e.linkname = first;
    e.size = 0;
    delete e.source;
  }
}
