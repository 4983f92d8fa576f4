/**
 * Build contexts as tar streams: `packContext` (CLI side) streams a context directory as a tar,
 * honouring its .dockerignore; `extractContextTar` (daemon side) unpacks one safely.
 *
 * Extraction safety: an entry whose name is absolute or has a `..` component is refused; no
 * entry is ever written through a symlink (every parent directory is lstat'ed, and files are
 * created with O_EXCL); hard links must name an already extracted regular file inside the
 * destination; device and FIFO entries are refused. Symlinks themselves are kept as data
 * whatever their target (a context may hold `python -> /usr/bin/python3`); BuildContext.resolve
 * refuses to follow those that leave the context.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BuildError } from '../errors.js';
import type { BuildContext } from './context.js';

function refuse(name: string, why: string): BuildError {
  return new BuildError('CONTEXT', `refusing build context tar entry ${JSON.stringify(name)}: ${why}`, {
    hint: 'the context archive must only hold relative paths inside the context',
  });
}

/** Splits a tar entry name into safe components, or throws. "" / "." give []. */
function safeParts(name: string, what = 'path'): string[] {
  if (name.startsWith('/')) throw refuse(name, `absolute ${what}`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse(name, `${what} leaves the context ("..")`);
  if (parts.some((p) => p.includes('\0'))) throw refuse(name, `NUL byte in ${what}`);
  return parts;
}

/** Makes sure every parent of `parts` in `root` is a real directory (creating missing ones). */
async function ensureParents(root: string, parts: string[], name: string): Promise<void> {
  let cur = root;
  for (const p of parts.slice(0, -1)) {
    cur = path.join(cur, p);
    let st;
    try {
      st = await fsp.lstat(cur);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await fsp.mkdir(cur, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink()) throw refuse(name, `its parent ${path.relative(root, cur)} is a symlink`);
    if (!st.isDirectory()) throw refuse(name, `its parent ${path.relative(root, cur)} is not a directory`);
  }
}

/** Removes whatever is at `abs` unless it is a directory and `keepDir`. */
async function clear(abs: string, keepDir: boolean): Promise<boolean> {
  try {
    const st = await fsp.lstat(abs);
    if (st.isDirectory() && keepDir) return true;
    await fsp.rm(abs, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return false;
}

export interface ExtractResult {
  /** Entries written. */
  entries: number;
}

/**
 * Extracts the context tar `stream` into `destDir` (created if missing). Consumes and closes
 * `stream`. Throws a CONTEXT BuildError for an unsafe entry (and stops: what was extracted
 * before stays, all inside `destDir`), or for a corrupt archive. Not idempotent across
 * different archives into the same directory (entries are added/replaced, never removed).
 */
export async function extractContextTar(stream: Readable, destDir: string): Promise<ExtractResult> {
  await fsp.mkdir(destDir, { recursive: true });
  const root = await fsp.realpath(destDir);
  const ex = tar.extract();
  const fed = pipeline(stream, ex).catch((err: unknown) => err);
  const dirs: { abs: string; mode: number; mtime?: Date }[] = [];
  let entries = 0;
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const parts = safeParts(h.name);
      if (parts.length === 0) {
        entry.resume();
        continue;
      }
      await ensureParents(root, parts, h.name);
      const abs = path.join(root, ...parts);
      const mode = (h.mode ?? 0o644) & 0o7777;
      switch (h.type) {
        case 'file':
        case 'contiguous-file':
        case null:
        case undefined: {
          await clear(abs, false);
          await pipeline(entry, createWriteStream(abs, { flags: 'wx', mode: 0o600 }));
          await fsp.chmod(abs, mode);
          if (h.mtime) await fsp.utimes(abs, h.mtime, h.mtime);
          break;
        }
        case 'directory': {
          entry.resume();
          if (!(await clear(abs, true))) await fsp.mkdir(abs, { mode: 0o700 });
          dirs.push({ abs, mode, mtime: h.mtime });
          break;
        }
        case 'symlink': {
          entry.resume();
          if (!h.linkname) throw refuse(h.name, 'symlink without a target');
          await clear(abs, false);
          await fsp.symlink(h.linkname, abs);
          if (h.mtime) await fsp.lutimes(abs, h.mtime, h.mtime).catch(() => undefined);
          break;
        }
        case 'link': {
          entry.resume();
          const target = safeParts(h.linkname ?? '', 'hard link target');
          if (target.length === 0) throw refuse(h.name, 'hard link to the context root');
          await ensureParents(root, target, h.name);
          const tabs = path.join(root, ...target);
          let st;
          try {
            st = await fsp.lstat(tabs);
          } catch {
            throw refuse(h.name, `hard link target ${h.linkname} is not in the archive before it`);
          }
          if (!st.isFile()) throw refuse(h.name, `hard link target ${h.linkname} is not a regular file`);
          await clear(abs, false);
          await fsp.link(tabs, abs);
          break;
        }
        default:
          entry.resume();
          throw refuse(h.name, `unsupported entry type ${h.type ?? 'unknown'} (devices and FIFOs are not allowed in a build context)`);
      }
      entries++;
    }
  } catch (err) {
    ex.destroy();
    stream.destroy();
    await fed;
    if (err instanceof BuildError) throw err;
    throw new BuildError('CONTEXT', `cannot extract the build context: ${(err as Error).message}`, { cause: err });
  }
  const fedErr = await fed;
  if (fedErr) throw new BuildError('CONTEXT', `cannot extract the build context: ${(fedErr as Error).message}`, { cause: fedErr });
  // Directory modes and times last: children were written into them.
  for (const d of dirs.reverse()) {
    await fsp.chmod(d.abs, d.mode);
    if (d.mtime) await fsp.utimes(d.abs, d.mtime, d.mtime);
  }
  return { entries };
}

/**
 * Streams the context as a tar (the entries of `ctx.walk()`: excluded paths left out, symlinks
 * as symlinks, owners 0:0 without names). The caller consumes (or destroys) the returned stream;
 * errors (a file vanishing or changing size mid-way) surface as a stream error.
 */
export function packContext(ctx: BuildContext): Readable {
  const pack = tar.pack();
  void (async () => {
    const entries = await ctx.walk('', { forTransfer: true });
    for (const e of entries) {
      const base = { name: e.path, mode: Number(e.stat.mode) & 0o7777, mtime: new Date(Number(e.stat.mtimeMs)), uid: 0, gid: 0 };
      if (e.type === 'dir') {
        await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'directory' }, (err) => (err ? rej(err) : res())));
      } else if (e.type === 'symlink') {
        await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'symlink', linkname: e.linkTarget ?? '' }, (err) => (err ? rej(err) : res())));
      } else if (e.type === 'file') {
        const w = pack.entry({ ...base, type: 'file', size: Number(e.stat.size) });
        await pipeline(createReadStream(ctx.abs(e.path)), w);
      } else if (e.stat.isSocket()) {
        // A socket is sent as an empty regular file, as BuildKit's fsutil sends it (it clears
        // the socket bit): the daemon's COPY then gives what a daemonless build gives.
        await new Promise<void>((res, rej) => pack.entry({ ...base, type: 'file', size: 0 }, Buffer.alloc(0), (err) => (err ? rej(err) : res())));
      }
      // FIFOs and devices are not sent.
    }
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err as Error));
  // tar-stream's packer is a streamx stream; hand out a plain Node Readable.
  return Readable.from(pack);
}
