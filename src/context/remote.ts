/**
 * Build contexts that are not a local directory, as `docker build` / buildx accept them, made
 * into a temporary directory the build then reads like any other context:
 *
 * - `-`: standard input holds a context tar (plain, gzip, bzip2, xz or zstd; the Dockerfile
 *   inside), or else a Dockerfile with an empty context (docker tells them apart by content:
 *   an archive's magic or a tar header);
 * - a git URL (`https://host/repo.git#ref:dir`, `git://…`): cloned (./git.ts), `dir` the context;
 * - any other http(s) URL: downloaded; a tar archive is extracted, a text file is the Dockerfile
 *   (docker's remotecontext rule), anything else is refused.
 *
 * Tars are extracted with ./tar-context.ts (no entry outside the directory, no write through a
 * symlink).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BuildError, UsageError } from '../errors.js';
import { createDecompressor, detectCompression, type InputCompression } from '../image/compression.js';
import { isGitSource, isUrlSource } from '../plan/copy-sources.js';
import { bodyError, httpGet } from '../util/http-get.js';
import { checkoutGit, gitAuthHeader, GitSourceError, parseGitRef, redactRemote, resolveGitRef } from './git.js';
import { extractContextTar } from './tar-context.js';
import { archiveMaxTime, lastModifiedTime } from './archive-time.js';

/** A context made from a non-directory argument; `cleanup` removes it. */
export interface FetchedContext {
  /** The context directory. */
  dir: string;
  /** The Dockerfile's text when the input was a Dockerfile (stdin or a text URL), not a context; it is also `dir/Dockerfile`. */
  dockerfileText?: string;
  /** The commit a git context was checked out at. */
  commit?: string;
  /** The context's time (SOURCE_DATE_EPOCH=context), seconds: a git commit's committer time, a URL's Last-Modified or its archive's newest file. */
  time?: number;
  cleanup(): Promise<void>;
}

/** Whether a context argument is one this module fetches (`-`, a git URL, an http(s) URL). */
export function isRemoteContext(arg: string): boolean {
  return arg === '-' || isGitSource(arg) || isUrlSource(arg);
}

/** The compression of `file` when it is a (possibly compressed) tar archive, else null. */
export async function tarArchiveKind(file: string): Promise<InputCompression | null> {
  const fh = await open(file, 'r');
  let head = Buffer.alloc(512);
  try {
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const kind = detectCompression(head);
  if (kind !== 'none') return kind; // an archive (docker: a compressed stream is a context)
  return isTarHeader(head) ? 'none' : null;
}

/** A tar header block: `ustar` magic (POSIX/GNU), or a v7 header whose checksum adds up. */
function isTarHeader(b: Buffer): boolean {
  if (b.length < 512) return false;
  if (b.toString('latin1', 257, 262) === 'ustar') return true;
  const stored = parseInt(b.toString('latin1', 148, 156).replace(/\0.*$/, '').trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return sum === stored;
}

/** Options: where temporaries go, secrets for git credentials, cancellation. */
export interface FetchContextOptions {
  tmpParent: string;
  stdin: NodeJS.ReadableStream;
  secret?: (id: string) => Buffer | undefined;
  signal?: AbortSignal;
}

/** Makes the context of `arg` (see the module comment). Throws a UsageError or a CONTEXT BuildError. */
export async function fetchContext(arg: string, opts: FetchContextOptions): Promise<FetchedContext> {
  await mkdir(opts.tmpParent, { recursive: true });
  const tmp = await mkdtemp(path.join(opts.tmpParent, 'remote-context-'));
  const cleanup = () => rm(tmp, { recursive: true, force: true });
  try {
    const dir = path.join(tmp, 'context');
    if (isGitSource(arg)) return { ...(await gitContext(arg, tmp, opts)), cleanup };
    const raw = path.join(tmp, 'input');
    let textOk = true;
    let lastModified: number | undefined;
    if (arg === '-') {
      await pipeline(opts.stdin as Readable, createWriteStream(raw));
    } else {
      const res = await httpGet(arg, { signal: opts.signal }).catch((err: Error) => {
        throw new BuildError('CONTEXT', `unable to download the build context ${redactRemote(arg)}: ${err.message}`);
      });
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        res.resume();
        throw new BuildError('CONTEXT', `unable to download the build context ${redactRemote(arg)}: the server answered ${status} ${res.statusMessage ?? ''}`.trimEnd());
      }
      const type = String(res.headers['content-type'] ?? '');
      textOk = type === '' || type.startsWith('text/');
      lastModified = lastModifiedTime(res.headers['last-modified']);
      let received = 0;
      res.on('data', (c: Buffer) => (received += c.length));
      await pipeline(res, createWriteStream(raw)).catch((err: unknown) => {
        if (opts.signal?.aborted) throw err;
        throw new BuildError('CONTEXT', `unable to download the build context ${redactRemote(arg)}: ${bodyError(err, res, received)}`);
      });
    }
    const kind = await tarArchiveKind(raw);
    if (kind !== null) {
      // SOURCE_DATE_EPOCH=context of a URL: its Last-Modified, else the archive's newest file (BuildKit).
      const time = arg === '-' ? undefined : (lastModified ?? (await archiveMaxTime(raw)));
      const src = createReadStream(raw);
      const stream = kind === 'none' ? src : src.pipe(createDecompressor(kind));
      await extractContextTar(stream as Readable, dir).catch((err: Error) => {
        throw err instanceof BuildError ? err : new BuildError('CONTEXT', `the build context ${arg === '-' ? 'on standard input' : redactRemote(arg)} is not a readable ${kind === 'none' ? '' : `${kind} `}tar archive: ${err.message}`);
      });
      return { dir, ...(time !== undefined ? { time } : {}), cleanup };
    }
    const size = (await stat(raw)).size;
    const text = await readFile(raw);
    if (!textOk || text.includes(0)) {
      throw new BuildError('CONTEXT', `the build context ${redactRemote(arg)} is neither a tar archive nor a Dockerfile`, { hint: 'a URL context is a git repository (…/repo.git), a tar archive (possibly compressed) or a plain-text Dockerfile' });
    }
    if (size === 0 && arg === '-') throw new UsageError('the build context on standard input is empty', { hint: 'pipe a context tar (mybuild build - < ctx.tar) or a Dockerfile (mybuild build - < Dockerfile)' });
    // As docker, which wraps such a Dockerfile in a context tar of its own: a daemon (-H) gets it too.
    await mkdir(dir);
    await writeFile(path.join(dir, 'Dockerfile'), text, { mode: 0o644 });
    return { dir, dockerfileText: text.toString('utf8'), ...(lastModified !== undefined ? { time: lastModified } : {}), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function gitContext(arg: string, tmp: string, opts: FetchContextOptions): Promise<Omit<FetchedContext, 'cleanup'>> {
  const fail = (err: unknown): never => {
    if (err instanceof GitSourceError) throw new BuildError('CONTEXT', `unable to prepare the git context ${redactRemote(arg)}: ${err.message}`, err.hint ? { hint: err.hint } : {});
    throw err;
  };
  try {
    const ref = parseGitRef(arg);
    if (ref.scheme === 'ssh') throw new GitSourceError('a git context over ssh needs an SSH agent forwarded with --ssh, which mybuild forwards to RUN --mount=type=ssh only, not to git sources yet', 'use the https:// or git:// URL of the repository');
    const authHeader = opts.secret ? gitAuthHeader(ref, opts.secret) : undefined;
    const run = { ...(opts.signal ? { signal: opts.signal } : {}), ...(authHeader !== undefined ? { authHeader } : {}) };
    const resolved = await resolveGitRef(ref, ref.checksum, run);
    const meta: { commitTime?: number } = {};
    const dir = await checkoutGit(ref, resolved, path.join(tmp, 'repo'), ref.keepGitDir === true, run, meta);
    return { dir, commit: resolved.commit, ...(meta.commitTime !== undefined ? { time: meta.commitTime } : {}) };
  } catch (err) {
    return fail(err);
  }
}
