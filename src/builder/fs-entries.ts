/**
 * Turning files on disk into layer entries for COPY/ADD/WORKDIR, and the parent directories a
 * layer must carry. A layer lists every ancestor of what it adds (as overlay diffs do): an
 * ancestor that exists in the stage's filesystem keeps its metadata, a missing one is created
 * 0755 and owned like the files (Docker's and BuildKit's COPY behaviour).
 */
import { lstat, readlink, stat } from 'node:fs/promises';
import type { BigIntStats, Stats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { LayerEntry, LayerEntryType } from '../image/layer-entry.js';
import { secureJoin, secureJoinParent } from '../runtime/secure-join.js';

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * The layer entry type of an lstat result. A Unix socket is a regular (empty) file, as BuildKit
 * copies it (fsutil clears the socket bit; its copier makes a stub file: testCopySocket).
 */
export function entryType(st: Stats | BigIntStats): LayerEntryType | null {
  if (st.isFile() || st.isSocket()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return null;
}

/** `/a/b/` → `a/b` (layer paths are relative, no trailing slash). */
export function layerPath(abs: string): string {
  return path.posix.normalize(`/${abs}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Milliseconds (floored) of a bigint stat's mtime. */
function floorMs(ns: bigint): number {
  const ms = ns / 1_000_000n;
  return Number(ns < 0n && ns % 1_000_000n !== 0n ? ms - 1n : ms);
}

/**
 * The inode (dev:ino) of file entries made by {@link entryFromDisk} from a file with more than
 * one link: what `linkHardlinks` (src/image/layer-entry.ts) groups by, so that hard-linked files
 * of a COPY stay hard links in the layer (as BuildKit and Buildah keep them).
 */
export const diskIdentity = new WeakMap<LayerEntry, string>();

/**
 * A layer entry for the file at `hostPath`, placed at `dest` (absolute image path). `owner` and
 * `mode` override the file's own when given; `chmod` maps the file's own mode (--chmod; never
 * applied to a symlink, as BuildKit's copier does not chmod links). A socket becomes an empty
 * regular file (see entryType). Returns null for a file type a layer cannot hold.
 *
 * `known` is the path's lstat (and a symlink's target) when the caller already has it from a
 * walk (a directory source's entries): the disk is then not asked again. Without it (and always
 * with `followSymlink`) the path is stat-ed here.
 */
export async function entryFromDisk(
  hostPath: string,
  dest: string,
  opts: { owner?: Owner; mode?: number; chmod?: (mode: number, isDir: boolean) => number; followSymlink?: boolean; known?: { stat: BigIntStats; linkTarget?: string } } = {},
): Promise<LayerEntry | null> {
  const known = opts.followSymlink ? undefined : opts.known;
  const st: Stats | BigIntStats = known ? known.stat : opts.followSymlink ? await stat(hostPath) : await lstat(hostPath);
  const type = entryType(st);
  if (!type) return null;
  const big = typeof st.mode === 'bigint';
  const e: LayerEntry = {
    path: layerPath(dest),
    type,
    mode: opts.mode ?? (opts.chmod && type !== 'symlink' ? opts.chmod(Number(st.mode) & 0o7777, type === 'directory') : Number(st.mode) & 0o7777),
    uid: opts.owner?.uid ?? Number(st.uid),
    gid: opts.owner?.gid ?? Number(st.gid),
    size: type === 'file' ? Number(st.size) : 0,
    mtimeMs: big ? floorMs((st as BigIntStats).mtimeNs) : Math.floor((st as Stats).mtimeMs),
  };
  if (type === 'file' && st.isSocket()) {
    // Never opened (a socket has no content to read): an empty file with the socket's mode.
    e.open = () => Readable.from([]);
  } else if (type === 'file') {
    e.source = hostPath;
    if (Number(st.nlink) > 1) diskIdentity.set(e, `${st.dev}:${st.ino}`);
  }
  if (type === 'symlink') e.linkname = known?.linkTarget ?? (await readlink(hostPath));
  if (type === 'character-device' || type === 'block-device') {
    const rdev = Number(st.rdev);
    e.devmajor = Math.floor(rdev / 256);
    e.devminor = rdev % 256;
  }
  return e;
}

/**
 * The ancestors of `entries` that are not entries themselves, as directory entries: taken from
 * `baseDir` (the stage's filesystem, or null for none) when they exist there, else new
 * directories of `mode` (default 0755) owned by `owner` with mtime `mtimeMs`.
 */
export async function parentEntries(entries: readonly LayerEntry[], baseDir: string | null, owner: Owner, mtimeMs: number, mode = 0o755): Promise<LayerEntry[]> {
  const have = new Set(entries.map((e) => e.path));
  const need = new Set<string>();
  for (const e of entries) {
    let d = path.posix.dirname(e.path);
    while (d !== '.' && d !== '' && !have.has(d) && !need.has(d)) {
      need.add(d);
      d = path.posix.dirname(d);
    }
  }
  const out: LayerEntry[] = [];
  for (const d of need) {
    out.push((await dirEntryIn(baseDir, d)) ?? { path: d, type: 'directory', mode, uid: owner.uid, gid: owner.gid, size: 0, mtimeMs });
  }
  return out;
}

/**
 * The directory entry of the existing directory at layer path `p` in `baseDir` (its mode, owner
 * and mtime), or null when `baseDir` is null or `p` is not a directory there. Never throws.
 */
export async function dirEntryIn(baseDir: string | null, p: string): Promise<LayerEntry | null> {
  if (!baseDir) return null;
  try {
    const host = secureJoinParent(baseDir, p);
    const st = await lstat(host);
    if (st.isDirectory()) return { path: p, type: 'directory', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: 0, mtimeMs: Math.floor(st.mtimeMs) };
  } catch {
    // missing or unreadable: not an existing directory
  }
  return null;
}

/** Whether `imagePath` is a directory in `baseDir` (symlinks inside the root followed). */
export async function isDirIn(baseDir: string | null, imagePath: string): Promise<boolean> {
  if (!baseDir) return false;
  try {
    const host = secureJoin(baseDir, imagePath);
    return (await lstat(host)).isDirectory();
  } catch {
    return false;
  }
}
