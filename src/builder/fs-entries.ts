/**
 * Turning files on disk into layer entries for COPY/ADD/WORKDIR, and the parent directories a
 * layer must carry. A layer lists every ancestor of what it adds (as overlay diffs do): an
 * ancestor that exists in the stage's filesystem keeps its metadata, a missing one is created
 * 0755 and owned like the files (Docker's and BuildKit's COPY behaviour).
 */
import { lstat, readlink, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { LayerEntry, LayerEntryType } from '../image/layer-entry.js';
import { secureJoin, secureJoinParent } from '../runtime/secure-join.js';

export interface Owner {
  uid: number;
  gid: number;
}

/** The layer entry type of an lstat result; null for sockets (never copied). */
export function entryType(st: Stats): LayerEntryType | null {
  if (st.isFile()) return 'file';
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

/**
 * A layer entry for the file at `hostPath`, placed at `dest` (absolute image path). `owner` and
 * `mode` override the file's own when given. Returns null for sockets.
 */
export async function entryFromDisk(hostPath: string, dest: string, opts: { owner?: Owner; mode?: number; followSymlink?: boolean } = {}): Promise<LayerEntry | null> {
  const st = opts.followSymlink ? await stat(hostPath) : await lstat(hostPath);
  const type = entryType(st);
  if (!type) return null;
  const e: LayerEntry = {
    path: layerPath(dest),
    type,
    mode: opts.mode ?? st.mode & 0o7777,
    uid: opts.owner?.uid ?? st.uid,
    gid: opts.owner?.gid ?? st.gid,
    size: type === 'file' ? st.size : 0,
    mtimeMs: Math.floor(st.mtimeMs),
  };
  if (type === 'file') e.source = hostPath;
  if (type === 'symlink') e.linkname = await readlink(hostPath);
  if (type === 'character-device' || type === 'block-device') {
    e.devmajor = Math.floor(st.rdev / 256);
    e.devminor = st.rdev % 256;
  }
  return e;
}

/**
 * The ancestors of `entries` that are not entries themselves, as directory entries: taken from
 * `baseDir` (the stage's filesystem, or null for none) when they exist there, else new 0755
 * directories owned by `owner` with mtime `mtimeMs`.
 */
export async function parentEntries(entries: readonly LayerEntry[], baseDir: string | null, owner: Owner, mtimeMs: number): Promise<LayerEntry[]> {
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
    out.push((await dirEntryIn(baseDir, d)) ?? { path: d, type: 'directory', mode: 0o755, uid: owner.uid, gid: owner.gid, size: 0, mtimeMs });
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
    const host = await secureJoinParent(baseDir, p);
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
    const host = await secureJoin(baseDir, imagePath);
    return (await lstat(host)).isDirectory();
  } catch {
    return false;
  }
}

/** Parses a `--chmod` value: octal only (`0644`, `755`). */
export function parseChmod(value: string): number | null {
  if (!/^[0-7]{3,4}$/.test(value)) return null;
  return parseInt(value, 8);
}
