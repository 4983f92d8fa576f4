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
