/**
 * Small filesystem helpers shared by the on-disk store: digest checks, temp-file names in the
 * ingest directory, atomic whole-file writes (temp + fsync + rename), and the cross-process
 * lock file used around `index.json` read-modify-write.
 *
 * Temp names are `<pid>-<random>[.<what>]`: the pid lets `prune`/`check` tell a live writer's
 * file from one a SIGKILLed process left behind.
 */
import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError, toBuildError } from '../errors.js';
import { isDigest, type Digest } from '../oci/digest.js';

/**
 * Returns `d` when it is a well-formed sha256 digest; otherwise throws BuildError
 * INVALID_ARGUMENT. Checked before any digest becomes a path, so `sha256:../../x` can never
 * escape the blobs directory.
 */
export function checkDigest(d: string, what = 'digest'): Digest {
  if (!isDigest(d)) {
    throw new BuildError('INVALID_ARGUMENT', `invalid ${what} "${d}": expected sha256: followed by 64 lowercase hex digits`);
  }
  return d;
}

/** A fresh temp-file name `<pid>-<random hex>` with an optional suffix. */
export function tempName(suffix = ''): string {
  return `${process.pid}-${randomBytes(8).toString('hex')}${suffix ? `.${suffix}` : ''}`;
}

/** The pid encoded at the head of a temp-file name, or null. */
export function pidOfTempName(name: string): number | null {
  const m = /^(\d+)-/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Whether a process with this pid exists (EPERM counts as alive: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The fields of /proc/<pid>/stat after the command name (state first), or undefined when unknown. */
async function procStatFields(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The start time of process `pid` (clock ticks since boot, /proc/<pid>/stat field 22), or '' when unknown. */
export async function processStartTime(pid: number): Promise<string> {
  return (await procStatFields(pid))?.[19] ?? '';
}

/** {@link processStartTime}, read synchronously; undefined when unknown. */
export function processStartTimeSync(pid: number): string | undefined {
  try {
    const stat = fsSync.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether process `pid` has exited and waits to be reaped (a zombie: kill(pid, 0) still succeeds
 * on it; a killed build whose parent died too stays one until init reaps it).
 */
export async function processIsZombie(pid: number): Promise<boolean> {
  const state = (await procStatFields(pid))?.[0];
  return state === 'Z' || state === 'X';
}

/** Errno codes that mean "the disk or the permissions", reported as BuildError IO. */
const IO_CODES = new Set(['ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'EDQUOT', 'EIO']);

/**
 * Turns filesystem errors about space/permissions into BuildError IO (via toBuildError); passes
 * BuildErrors and anything else (e.g. a source stream's own error) through unchanged.
 */
export function ioError(err: unknown): unknown {
  if (err instanceof BuildError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && IO_CODES.has(code)) {
    const e = toBuildError(err);
    if (e.code === 'IO') return e;
    if (code === 'EDQUOT') return new BuildError('IO', `disk quota exceeded${(err as NodeJS.ErrnoException).path ? `: ${(err as NodeJS.ErrnoException).path}` : ''}`, { cause: err });
    return new BuildError('IO', `I/O error: ${(err as Error).message}`, { cause: err });
  }
  return err;
}

/** fsyncs a directory so a rename into it survives a crash (best effort: some filesystems refuse). */
export async function syncDir(dir: string): Promise<void> {
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(dir, 'r');
    await h.sync();
  } catch {
    // EISDIR/EINVAL on some filesystems: durability is best effort, atomicity is not affected.
  } finally {
    await h?.close().catch(() => undefined);
  }
}

/**
 * Writes `data` to `dest` atomically: a temp file in `tmpDir` (same filesystem), fsync, rename.
 * A reader sees the old file or the new one, never a partial one; a SIGKILL leaves at most a
 * temp file, which `prune`/`check` remove. Disk-full and permission errors become BuildError IO.
 * `durable: false` skips the two fsyncs (file and directory): still atomic against a kill, but
 * after a power loss the file may be the old one or empty; for records that are only reports.
 */
export async function writeFileAtomic(dest: string, data: string | Uint8Array, tmpDir: string, opts: { durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const tmp = path.join(tmpDir, tempName(path.basename(dest)));
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(tmp, 'wx', 0o644);
    await h.writeFile(data);
    if (durable) await h.sync();
    await h.close();
    h = undefined;
    await fs.rename(tmp, dest);
  } catch (err) {
    await h?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw ioError(err);
  }
  if (durable) await syncDir(path.dirname(dest));
}

/** Options of `withLock`. */
export interface LockOptions {
  /** Give up after this long (default 60 s) with BuildError IO naming the holder. */
  timeoutMs?: number;
}

/** A lock held longer than this is stale whatever its pid (see withLock). */
export const LOCK_MAX_AGE_MS = 10 * 60 * 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface LockContent {
  pid: number;
  token: string;
}

function readLockSync(file: string): LockContent | null | 'missing' {
  try {
    const v = JSON.parse(fsSync.readFileSync(file, 'utf8')) as Partial<LockContent>;
    return typeof v.pid === 'number' && typeof v.token === 'string' ? { pid: v.pid, token: v.token } : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    return null;
  }
}

/**
 * Runs `fn` while holding the exclusive lock file `lockFile` (shared by all processes using the
 * store). The lock appears atomically with its content (temp file `link`ed into place, which
 * fails if the lock exists) and holds `{ pid, token }`. Waiters retry with backoff (2 ms → 50 ms).
 * A lock whose pid is dead (or that is older than LOCK_MAX_AGE_MS) is stale: it is renamed
 * aside, re-checked and removed (a lock taken over in between is put back with `link`).
 * Released in `finally`, only if it is still ours. Taking and releasing use blocking calls on
 * tiny files (a warm no-op build took one lock per step: 0.16 s -> 0.14 s, 7 interleaved runs).
 *
 * Not reentrant. Throws BuildError IO after `timeoutMs`; errors of `fn` pass through.
 */
export async function withLock<T>(lockFile: string, tmpDir: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const token = randomBytes(12).toString('hex');
  const content = JSON.stringify({ pid: process.pid, token });
  const start = Date.now();
  let delay = 2;
  for (;;) {
    const tmp = path.join(tmpDir, tempName('lock'));
    let acquired = false;
    // Blocking calls: creating, linking and removing a tiny file take microseconds each, where
    // the async calls took a thread-pool round trip each, several times per build step.
    try {
      fsSync.writeFileSync(tmp, content, { flag: 'wx' });
      fsSync.linkSync(tmp, lockFile);
      acquired = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        fsSync.rmSync(tmp, { force: true });
        throw ioError(err);
      }
    }
    try {
      fsSync.unlinkSync(tmp);
    } catch {
      // already gone
    }
    if (acquired) break;

    const holder = readLockSync(lockFile);
    // Stale: unreadable for 10 s, its pid is dead, or held far longer than any store operation
    // takes (the pid was reused by an unrelated process).
    if (holder !== 'missing' && (holder === null ? await olderThan(lockFile, 10_000) : !pidAlive(holder.pid) || (await olderThan(lockFile, LOCK_MAX_AGE_MS)))) {
      await breakStaleLock(lockFile, tmpDir, holder);
      continue;
    }
    if (Date.now() - start > timeoutMs) {
      throw new BuildError('IO', `timed out after ${timeoutMs} ms waiting for the store lock ${lockFile}${holder && holder !== 'missing' ? ` (held by pid ${holder.pid})` : ''}`, {
        hint: 'another mybuild process is using the store; if none is running, remove the lock file',
      });
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
  try {
    return await fn();
  } finally {
    const now = readLockSync(lockFile);
    if (now !== 'missing' && now !== null && now.token === token) fsSync.rmSync(lockFile, { force: true });
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await fs.stat(file)).mtimeMs > ms;
  } catch {
    return false;
  }
}

/** Removes a stale lock without ever removing a live one taken in the meantime (see withLock). */
async function breakStaleLock(lockFile: string, tmpDir: string, seen: LockContent | null): Promise<void> {
  const aside = path.join(tmpDir, tempName('stale-lock'));
  try {
    await fs.rename(lockFile, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else broke it
    throw ioError(err);
  }
  const got = readLockSync(aside);
  const same = seen === null ? got === null : got !== null && got !== 'missing' && got.token === seen.token;
  if (!same) {
    // We moved a lock that was taken after we looked: put it back (fails only if yet another
    // process took the free lock in this instant; then the mover's owner loses its release).
    await fs.link(aside, lockFile).catch(() => undefined);
  }
  await fs.rm(aside, { force: true }).catch(() => undefined);
}
