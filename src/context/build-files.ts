/**
 * The build files (the Dockerfile, `.dockerignore`, `<Dockerfile>.dockerignore`), read without
 * disclosing the host: a path inside the context is resolved inside it as COPY sources are
 * (./walk-root.ts: a symlink may not leave the root), and is refused with an error naming the
 * file when it does. Only a regular file is opened (lstat first, then O_NOFOLLOW | O_NONBLOCK
 * and fstat of the same inode), so a FIFO or a device never blocks a build; the size is capped;
 * content that is not UTF-8 text (a NUL byte, invalid UTF-8) is refused without being shown,
 * so a binary file's bytes never reach an error message or a log.
 *
 * A path the user names explicitly outside the context (`-f /elsewhere/Dockerfile`, as docker
 * allows) is read as given, symlinks followed: it is the user's own choice. Everything else
 * (the default `Dockerfile`, `-f` inside the context, a daemon's `dockerfile=` inside its tar)
 * stays inside the context.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { BuildError, UsageError } from '../errors.js';
import { walkInRoot } from './walk-root.js';

/** The largest build file read (the biggest public Dockerfiles are a few hundred kB). */
export const MAX_BUILD_FILE_BYTES = 16 << 20;

export interface BuildFileOptions {
  /** What the file is, for messages ("Dockerfile", "ignore file"). */
  what: string;
  /** The name shown in messages (default: the path as given). */
  name?: string;
}

function refuse(message: string, hint?: string): BuildError {
  return new BuildError('CONTEXT', message, { hint });
}

/**
 * Reads the build file `relPath` (context-relative, slash-separated) of the context directory
 * `contextDir`, resolving symlinks only inside it. Returns undefined when it does not exist;
 * throws a CONTEXT BuildError when it leaves the context, is not a regular file, is too large
 * or is not text.
 */
export async function readBuildFile(contextDir: string, relPath: string, opts: BuildFileOptions): Promise<string | undefined> {
  const name = opts.name ?? relPath;
  const rel = path.posix.normalize(relPath.replace(/^\/+/, ''));
  if (rel === '..' || rel.startsWith('../')) throw refuse(`the ${opts.what} ${name} is outside of the build context`);
  let root: string;
  try {
    root = await fsp.realpath(contextDir);
  } catch (err) {
    throw refuse(`cannot open build context ${contextDir}: ${(err as Error).message}`);
  }
  const walked = await walkInRoot(root, rel === '.' ? '' : rel, { followFinal: true });
  switch (walked.kind) {
    case 'found':
      return readRegularText(walked.path === '' ? root : path.join(root, ...walked.path.split('/')), name, opts.what);
    case 'missing':
      return undefined;
    case 'outside':
      throw refuse(
        `the ${opts.what} ${name} points outside of the build context${walked.link ? ` (symlink ${walked.link})` : ''}`,
        'a symlink as the Dockerfile or ignore file is followed only inside the build context; copy the file into the context, or name it outside the context with -f',
      );
    case 'loop':
      throw refuse(`cannot resolve the ${opts.what} ${name}: too many levels of symbolic links`);
    case 'error':
      throw refuse(`cannot read the ${opts.what} ${name}: ${walked.error.message}`);
  }
}

/**
 * Reads the build file at `p` (absolute, or relative to `contextDir`): inside the context (by
 * its path, or once its directory is resolved) with {@link readBuildFile}, else as the host
 * path the user gave (symlinks followed; still a regular text file only).
 */
export async function readBuildFileAt(contextDir: string, p: string, opts: BuildFileOptions): Promise<string | undefined> {
  const rel = await contextRelative(contextDir, p);
  if (rel !== undefined) return readBuildFile(contextDir, rel, opts);
  const name = opts.name ?? p;
  let real: string;
  try {
    real = await fsp.realpath(path.resolve(contextDir, p));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw refuse(`cannot read the ${opts.what} ${name}: ${(err as Error).message}`);
  }
  return readRegularText(real, name, opts.what);
}

/**
 * The Dockerfile of a build: `dockerfilePath` (default `<contextDir>/Dockerfile`) read with
 * {@link readBuildFileAt}. Throws a UsageError when it does not exist.
 */
export async function readDockerfile(contextDir: string, dockerfilePath: string | undefined, name?: string): Promise<string> {
  const p = dockerfilePath ?? path.join(contextDir, 'Dockerfile');
  const text = await readBuildFileAt(contextDir, p, { what: 'Dockerfile', name: name ?? p });
  if (text === undefined) throw new UsageError(`cannot read the Dockerfile: ${name ?? p} does not exist`, { hint: 'give its path with -f' });
  return text;
}

/**
 * `p` as a context-relative path when it lies inside `contextDir`: by its path as written, or
 * by its directory's real path (a context reached through another symlinked path). Undefined
 * when it is outside.
 */
async function contextRelative(contextDir: string, p: string): Promise<string | undefined> {
  const base = path.resolve(contextDir);
  const abs = path.resolve(base, p);
  const inside = (from: string, to: string) => {
    const r = path.relative(from, to);
    return r !== '..' && !r.startsWith('..' + path.sep) && !path.isAbsolute(r) ? r.split(path.sep).join('/') : undefined;
  };
  const lexical = inside(base, abs);
  if (lexical !== undefined) return lexical;
  try {
    const [root, dir] = await Promise.all([fsp.realpath(base), fsp.realpath(path.dirname(abs))]);
    return inside(root, path.join(dir, path.basename(abs)));
  } catch {
    return undefined;
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

/**
 * Reads the regular file `abs` (whose last component is no symlink) as UTF-8 text. Never opens
 * anything but a regular file, and never blocks on one: lstat, then open with O_NOFOLLOW |
 * O_NONBLOCK, then fstat must show the same regular file.
 */
async function readRegularText(abs: string, name: string, what: string): Promise<string | undefined> {
  let before: Stats;
  try {
    before = await fsp.lstat(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw refuse(`cannot read the ${what} ${name}: ${(err as Error).message}`);
  }
  if (before.isDirectory()) throw new UsageError(`the ${what} ${name} is a directory`, { hint: what === 'Dockerfile' ? 'give the path of the file with -f' : undefined });
  if (!before.isFile()) throw refuse(`the ${what} ${name} is ${kindOf(before)}, not a regular file`, what === 'Dockerfile' ? 'to read the Dockerfile from a pipe use -f - (standard input)' : undefined);
  if (before.size > MAX_BUILD_FILE_BYTES) throw tooLarge(name, what);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw refuse(`cannot read the ${what} ${name}: ${(err as NodeJS.ErrnoException).code === 'ELOOP' ? 'it was replaced by a symlink' : (err as Error).message}`);
  }
  let bytes: Buffer;
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.ino !== before.ino || st.dev !== before.dev) throw refuse(`cannot read the ${what} ${name}: it changed while it was opened`);
    // One byte more than the cap: a file that grew past it is refused too.
    const buf = Buffer.alloc(Math.min(Math.max(st.size, 0), MAX_BUILD_FILE_BYTES) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) throw n > MAX_BUILD_FILE_BYTES ? tooLarge(name, what) : refuse(`cannot read the ${what} ${name}: it grew while it was read`);
    }
    bytes = buf.subarray(0, n);
  } finally {
    await fh.close();
  }
  return decodeText(bytes, name, what);
}

function tooLarge(name: string, what: string): BuildError {
  return refuse(`the ${what} ${name} is larger than ${MAX_BUILD_FILE_BYTES >> 20} MiB`, 'a Dockerfile or ignore file is text; check that the path names the right file');
}

/** `bytes` as text; a NUL byte or invalid UTF-8 is refused, and the content is never quoted. */
function decodeText(bytes: Buffer, name: string, what: string): string {
  const hint = 'check that the path names the right file; its content is not shown';
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw refuse(`the ${what} ${name} is not a text file (a NUL byte at offset ${nul})`, hint);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw refuse(`the ${what} ${name} is not a text file (it is not valid UTF-8)`, hint);
  }
}
