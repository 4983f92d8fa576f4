/**
 * Warm build-context directories for `POST /build`.
 *
 * Extracting every context into a fresh directory costs twice per build: every file is written
 * again, and the builder hashes every file again (its stat cache is keyed on the context's
 * absolute path and on inode/ctime, so a fresh directory never hits). Instead the daemon keeps a
 * few persistent directories under `<root>/daemon/contexts/warm-N` and *syncs* each new context
 * tar into one of them:
 *
 * - a regular file whose on-disk copy has the same size, mode and (whole-second) mtime as the tar
 *   entry, under real directories only, and that was written by a request that started after
 *   that mtime's second ended (plus a clock margin: an edit within the same second cannot hide),
 *   is skipped: its data is drained, the file, inode and ctime stay, so the stat cache hits;
 * - every other entry goes through `extractContextTar` (all of its safety checks: `..`,
 *   absolute paths, writes through symlinks, hard links outside the context);
 * - paths the tar does not hold are removed afterwards.
 *
 * A directory is used by one build at a time; the pool prefers the directory last used with the
 * same hint (the client's context key, else the Dockerfile and tags), else the least recently
 * used free one; when all `max` are busy, a temporary directory is used and removed on release.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

// tar-stream's packer is a streamx stream; extractContextTar wants a Node Readable.
const ReadableFrom = (s: tar.Pack): Readable => Readable.from(s);
import tar from 'tar-stream';
import { extractContextTar } from '../context/tar-context.js';
import { storeDir } from '../store/store-dirs.js';

/** Default margin for the client's and the daemon's clocks (TCP clients may be on other hosts). */
const CLOCK_MARGIN_MS = 2000;

interface WarmDir {
  dir: string;
  busy: boolean;
  hint?: string;
  lastUsed: number;
  /** rel path → start time (daemon clock) of the request that wrote the file. */
  written: Map<string, number>;
}

/** A context directory lent to one build; `release()` gives it back (idempotent). */
export interface LentContextDir {
  dir: string;
  /** True when this is a warm (reused) directory. */
  warm: boolean;
  /**
   * Syncs the context tar `stream` (consumed) into `dir`; returns the counts. `clockMarginMs`:
   * how far the client's clock may be off the daemon's (0 for a unix socket client: same host;
   * default 2000). Throws as extractContextTar.
   */
  sync(stream: Readable, clockMarginMs?: number): Promise<{ written: number; skipped: number; removed: number }>;
  release(): Promise<void>;
}

export class ContextDirs {
  private readonly dirs: WarmDir[] = [];

  /** `base`: the parent directory (created on demand); `max`: warm directories kept. */
  constructor(private readonly base: string, private readonly max = 4) {}

  /** Lends a directory for one build (see the module comment). */
  async acquire(hint: string | undefined): Promise<LentContextDir> {
    await storeDir(this.base);
    let w = hint ? this.dirs.find((d) => !d.busy && d.hint === hint) : undefined;
    if (!w && this.dirs.length < this.max) {
      const dir = path.join(this.base, `warm-${this.dirs.length}`);
      // Left from an earlier daemon: its files are not trusted (no record of who wrote them).
      await fsp.rm(dir, { recursive: true, force: true });
      await storeDir(dir);
      w = { dir, busy: false, lastUsed: 0, written: new Map() };
      this.dirs.push(w);
    }
    w ??= this.dirs.filter((d) => !d.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!w) {
      const dir = await fsp.mkdtemp(path.join(this.base, 'daemon-context-'));
      let released = false;
      return {
        dir,
        warm: false,
        sync: async (stream) => ({ written: (await extractContextTar(stream, dir)).entries, skipped: 0, removed: 0 }),
        release: async () => {
          if (released) return;
          released = true;
          await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
        },
      };
    }
    const warm = w;
    warm.busy = true;
    warm.hint = hint;
    warm.lastUsed = Date.now();
    let released = false;
    return {
      dir: warm.dir,
      warm: true,
      sync: (stream, margin) => syncInto(warm, stream, margin ?? CLOCK_MARGIN_MS),
      release: async () => {
        if (released) return;
        released = true;
        warm.busy = false;
      },
    };
  }
}

/** Path parts of a tar name when it is plainly safe (no `..`, not absolute), else undefined (extractContextTar decides). */
function plainParts(name: string): string[] | undefined {
  const parts = name.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (name.startsWith('/') || parts.some((p) => p === '..')) return undefined;
  return parts;
}

async function syncInto(w: WarmDir, stream: Readable, clockMarginMs: number): Promise<{ written: number; skipped: number; removed: number }> {
  const requestStart = Date.now();
  const root = w.dir;
  const seen = new Set<string>();
  const realDirs = new Set<string>(['']);
  const isRealDir = async (rel: string): Promise<boolean> => {
    if (realDirs.has(rel)) return true;
    const parent = path.posix.dirname(rel);
    if (!(await isRealDir(parent === '.' ? '' : parent))) return false;
    const st = await fsp.lstat(path.join(root, rel)).catch(() => undefined);
    if (!st?.isDirectory()) return false;
    realDirs.add(rel);
    return true;
  };
  const unchanged = async (h: tar.Header, rel: string, parts: string[]): Promise<boolean> => {
    if (h.type !== 'file' || !h.mtime || h.size === undefined) return false;
    const by = w.written.get(rel);
    if (by === undefined || by < Math.floor(h.mtime.getTime() / 1000) * 1000 + 1000 + clockMarginMs) return false;
    if (!(await isRealDir(parts.slice(0, -1).join('/')))) return false;
    const st = await fsp.lstat(path.join(root, ...parts)).catch(() => undefined);
    return !!st && st.isFile() && st.size === h.size && (st.mode & 0o7777) === ((h.mode ?? 0o644) & 0o7777) && Math.floor(st.mtimeMs / 1000) === Math.floor(h.mtime.getTime() / 1000);
  };

  const ex = tar.extract();
  const pack = tar.pack();
  const writtenNow: string[] = [];
  let skipped = 0;
  const filter = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      const parts = plainParts(h.name);
      const rel = parts?.join('/');
      if (rel !== undefined) for (let i = 0; i <= (parts?.length ?? 0); i++) seen.add(parts!.slice(0, i).join('/'));
      if (parts && rel && (await unchanged(h, rel, parts))) {
        skipped++;
        entry.resume();
        continue;
      }
      if (rel && (h.type === 'file' || h.type === 'contiguous-file' || !h.type)) writtenNow.push(rel);
      const out = pack.entry({ ...h });
      await pipeline(entry, out);
    }
    pack.finalize();
  })().catch((err: unknown) => {
    pack.destroy(err as Error);
    throw err;
  });
  filter.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
  const fed = pipeline(stream, ex).catch((e: unknown) => e);
  let res;
  try {
    res = await extractContextTar(ReadableFrom(pack), root);
  } catch (err) {
    stream.destroy();
    ex.destroy();
    await Promise.allSettled([filter, fed]);
    w.written.clear(); // a partial sync: trust nothing next time
    throw err;
  }
  const fedErr = await fed;
  await filter;
  if (fedErr) {
    w.written.clear();
    throw fedErr;
  }
  for (const rel of writtenNow) w.written.set(rel, requestStart);
  const removed = await removeUnseen(root, '', seen, w);
  return { written: res.entries, skipped, removed };
}

/** Removes what is under `root` but not in `seen`; returns how many entries were removed. */
async function removeUnseen(root: string, rel: string, seen: Set<string>, w: WarmDir): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (!seen.has(r)) {
      await fsp.rm(path.join(root, r), { recursive: true, force: true });
      for (const k of [...w.written.keys()]) if (k === r || k.startsWith(`${r}/`)) w.written.delete(k);
      n++;
    } else if (e.isDirectory()) n += await removeUnseen(root, r, seen, w);
  }
  return n;
}
