/**
 * Turns an active snapshot's changes into layer entries (src/image/layer-entry.ts) for the layer
 * writer, which sorts them, clamps mtimes to SOURCE_DATE_EPOCH and writes the tar.
 *
 * Overlay: the upperdir *is* the change set. A 0/0 character device is overlayfs's whiteout →
 * entry `.wh.<name>`; a directory with `trusted.overlay.opaque=y` → the directory plus
 * `.wh..wh..opq` (OCI image-spec layer.md). Xattrs are read with one `getfattr -R` (xattr.ts);
 * `trusted.overlay.*` ones are overlay bookkeeping and never land in a layer. fuse-overlayfs's
 * upperdirs (the same form) add `user.fuseoverlayfs.*` xattrs, `.wh..opq`/`.wh..wh..opq` inside
 * an opaque directory and, without mknod, `.wh.NAME` files: one marker each. (Assumes the
 * default overlay options: no redirect_dir, no metacopy — the snapshotter never turns them on.)
 *
 * Native: the full tree is compared with the parent's: a path is changed when type, mode, owner,
 * size, mtime, link target or xattrs differ, or — the doubtful case of equal metadata — when its
 * ctime is not older than the end of `prepare`'s copy (timestamps are coarse: a clock tick) and
 * its bytes differ. Deleted paths become
 * whiteouts (only the top-most deleted one). Parent directories of every entry are included so the
 * layer is self-contained, as BuildKit's differ does.
 *
 * Files are read from `source` (the snapshot dir) while the tar is written: write the layer
 * before removing or changing the snapshot.
 */
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { lstatSync, type Stats } from 'node:fs';
import path from 'node:path';
import { linkHardlinks, type LayerEntry, type LayerEntryType } from '../image/layer-entry.js';
import type { Snapshotter } from './snapshotter.js';
import { readXattrsTree } from './xattr.js';
import { overlayXattrPrefix } from './userns.js';

/**
 * The changes of the active snapshot `key` (which may stay mounted) as layer entries, unsorted.
 * Throws NotFoundError when `key` does not exist.
 */
export async function diffSnapshot(sn: Snapshotter, key: string): Promise<LayerEntry[]> {
  const dirs = await sn.layerDirs(key);
  if (dirs.kind === 'overlay') return diffOverlay(dirs.dir, dirs.lowerDirs);
  return diffNative(dirs.parentDir, dirs.dir, dirs.preparedAt);
}

interface Node {
  rel: string;
  abs: string;
  st: Stats;
}

async function walk(root: string): Promise<Node[]> {
  const out: Node[] = [];
  async function rec(relDir: string): Promise<void> {
    const absDir = relDir === '' ? root : path.join(root, relDir);
    for (const name of (await readdir(absDir)).sort()) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const abs = path.join(root, rel);
      const st = await lstat(abs);
      out.push({ rel, abs, st });
      if (st.isDirectory()) await rec(rel);
    }
  }
  await rec('');
  return out;
}

function typeOf(st: Stats): LayerEntryType {
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return 'file';
}

/** fuse-overlayfs's own bookkeeping xattrs (origin, opaque), never part of a layer. */
const FUSE_XATTR_PREFIX = 'user.fuseoverlayfs.';

function userXattrs(all: Record<string, Buffer> | undefined): Record<string, Buffer> | undefined {
  if (!all) return undefined;
  const out: Record<string, Buffer> = {};
  const prefix = overlayXattrPrefix();
  for (const [k, v] of Object.entries(all)) if (!k.startsWith(prefix) && !k.startsWith(FUSE_XATTR_PREFIX)) out[k] = v;
  return Object.keys(out).length ? out : undefined;
}

/** Whether an upperdir directory is opaque: the kernel's xattr, or fuse-overlayfs's. */
function isOpaque(x: Record<string, Buffer> | undefined): boolean {
  return x?.[`${overlayXattrPrefix()}opaque`]?.toString() === 'y' || x?.[`${FUSE_XATTR_PREFIX}opaque`]?.toString() === 'y';
}

async function entryOf(n: Node, xattrs: Record<string, Buffer> | undefined): Promise<LayerEntry> {
  const type = typeOf(n.st);
  const e: LayerEntry = { path: n.rel, type, mode: n.st.mode & 0o7777, uid: n.st.uid, gid: n.st.gid, size: type === 'file' ? n.st.size : 0, mtimeMs: n.st.mtimeMs };
  if (type === 'file') e.source = n.abs;
  if (type === 'symlink') e.linkname = await readlink(n.abs);
  if (type === 'character-device' || type === 'block-device') {
    e.devmajor = Math.floor(n.st.rdev / 256) & 0xfff;
    e.devminor = (n.st.rdev & 0xff) | ((n.st.rdev >> 12) & 0xfff00);
  }
  const x = userXattrs(xattrs);
  if (x) e.xattrs = x;
  return e;
}

function whiteout(rel: string, mtimeMs: number): LayerEntry {
  const dir = path.posix.dirname(rel);
  const wh = `.wh.${path.posix.basename(rel)}`;
  return { path: dir === '.' ? wh : `${dir}/${wh}`, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtimeMs };
}

/** Files sharing an inode: the first (in walk order) is a file, the rest hardlinks to it. */
function linkNodes(entries: LayerEntry[], nodes: Map<string, Node>): void {
  linkHardlinks(entries, (e) => {
    const n = nodes.get(e.path);
    return n && n.st.nlink >= 2 ? `${n.st.dev}:${n.st.ino}` : undefined;
  });
}

/** Whether `rel` is a directory under `root`, every component a real directory (no symlink followed out). */
function isDirWithin(root: string, rel: string): boolean {
  let p = root;
  for (const part of rel.split('/')) {
    p = path.join(p, part);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st?.isDirectory()) return false;
  }
  return true;
}

/**
 * Entries for an overlay upperdir (see the module comment). An opaque directory gets its marker
 * when one of `lowers` (when given) has a directory there to hide: fuse-overlayfs marks every
 * directory it creates opaque, new ones included.
 */
export async function diffOverlay(upper: string, lowers?: string[]): Promise<LayerEntry[]> {
  const hidesLower = (rel: string): boolean => lowers === undefined || lowers.some((l) => isDirWithin(l, rel));
  // getfattr (a process) runs while the tree is walked.
  const [nodes, xattrs] = await Promise.all([walk(upper), readXattrsTree(upper)]);
  const out: LayerEntry[] = [];
  const byRel = new Map<string, Node>();
  const opaque = new Set<string>();
  for (const n of nodes) {
    byRel.set(n.rel, n);
    const base = path.posix.basename(n.rel);
    const parent = path.posix.dirname(n.rel);
    // fuse-overlayfs marks an opaque directory with the xattr and also with `.wh..opq` (a 0/0
    // device) and `.wh..wh..opq` (a file) inside it: the layer gets one marker, below.
    if ((base === '.wh..opq' || base === '.wh..wh..opq') && opaque.has(parent)) continue;
    if (n.st.isCharacterDevice() && n.st.rdev === 0) {
      out.push(whiteout(n.rel, n.st.mtimeMs));
      continue;
    }
    // fuse-overlayfs without mknod (a user namespace) writes a whiteout as a `.wh.NAME` file.
    if (base.startsWith('.wh.') && base !== '.wh..wh..opq' && n.st.isFile() && n.st.size === 0) {
      out.push({ path: n.rel, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtimeMs: n.st.mtimeMs });
      continue;
    }
    const x = xattrs.get(n.abs);
    out.push(await entryOf(n, x));
    if (n.st.isDirectory() && isOpaque(x)) {
      opaque.add(n.rel);
      if (hidesLower(n.rel)) out.push({ path: `${n.rel}/.wh..wh..opq`, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtimeMs: n.st.mtimeMs });
    }
  }
  linkNodes(out, byRel);
  return out;
}

function sameXattrs(a: Record<string, Buffer> | undefined, b: Record<string, Buffer> | undefined): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a![k].equals(b![k]));
}

async function sameContent(x: string, y: string): Promise<boolean> {
  const [a, b] = await Promise.all([open(x, 'r'), open(y, 'r')]);
  const ba = Buffer.alloc(65536);
  const bb = Buffer.alloc(65536);
  try {
    for (let pos = 0; ; ) {
      const [ra, rb] = await Promise.all([a.read(ba, 0, ba.length, pos), b.read(bb, 0, bb.length, pos)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      pos += ra.bytesRead;
    }
  } finally {
    await a.close();
    await b.close();
  }
}

/** Entries for a native snapshot: `dir` (full tree) against `parentDir` (its parent's full tree). */
export async function diffNative(parentDir: string | undefined, dir: string, preparedAt: number): Promise<LayerEntry[]> {
  const now = await walk(dir);
  const was = parentDir ? await walk(parentDir) : [];
  const xNow = await readXattrsTree(dir);
  const xWas = parentDir ? await readXattrsTree(parentDir) : new Map<string, Record<string, Buffer>>();
  const old = new Map(was.map((n) => [n.rel, n]));
  const cur = new Map(now.map((n) => [n.rel, n]));
  const changed = new Set<string>();
  for (const n of now) {
    const o = old.get(n.rel);
    if (!o || (await differs(n, o, xNow.get(n.abs), xWas.get(o.abs), preparedAt))) changed.add(n.rel);
  }
  // Parent directories of changed paths, so the layer is self-contained.
  for (const rel of [...changed]) {
    for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) changed.add(d);
  }
  const out: LayerEntry[] = [];
  for (const n of now) if (changed.has(n.rel)) out.push(await entryOf(n, xNow.get(n.abs)));
  // Deletions: a whiteout for each top-most path that is gone (or whose parent is no longer a directory).
  for (const o of was) {
    if (cur.has(o.rel)) continue;
    const parent = path.posix.dirname(o.rel);
    if (parent !== '.' && !cur.get(parent)?.st.isDirectory()) continue;
    if (parent !== '.' && !old.has(parent)) continue;
    if (parent !== '.' && !cur.has(parent)) continue;
    out.push(whiteout(o.rel, 0));
    if (parent !== '.' && !changed.has(parent)) {
      changed.add(parent);
      const pn = cur.get(parent)!;
      out.push(await entryOf(pn, xNow.get(pn.abs)));
      for (let d = path.posix.dirname(parent); d !== '.'; d = path.posix.dirname(d)) {
        if (changed.has(d)) continue;
        changed.add(d);
        const dn = cur.get(d)!;
        out.push(await entryOf(dn, xNow.get(dn.abs)));
      }
    }
  }
  linkNodes(out, cur);
  return out;
}

async function differs(n: Node, o: Node, xn: Record<string, Buffer> | undefined, xo: Record<string, Buffer> | undefined, preparedAt: number): Promise<boolean> {
  const a = n.st;
  const b = o.st;
  if (typeOf(a) !== typeOf(b)) return true;
  if ((a.mode & 0o7777) !== (b.mode & 0o7777) || a.uid !== b.uid || a.gid !== b.gid) return true;
  if (!sameXattrs(xn, xo)) return true;
  if (a.isDirectory()) return a.mtimeMs !== b.mtimeMs;
  if (a.isSymbolicLink()) return (await readlink(n.abs)) !== (await readlink(o.abs));
  if (a.rdev !== b.rdev) return true;
  if (a.size !== b.size || a.mtimeMs !== b.mtimeMs) return true;
  // Equal metadata: only a file touched after the copy can still differ (e.g. `touch -r`).
  if (a.isFile() && a.ctimeMs >= preparedAt) return !(await sameContent(n.abs, o.abs));
  return false;
}
