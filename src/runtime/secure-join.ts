/**
 * Joins an untrusted path onto a root directory so that the result stays inside the root even
 * when components are symlinks (whose targets are then resolved as if the root were `/`), like
 * Go's filepath-securejoin and moby's `FollowSymlinkInScope`. Used by layer extraction, the
 * user database lookup and the mount-stub bookkeeping of the executor.
 *
 * Caveat (as for securejoin): the answer is only as good as the tree is stable; nobody else may
 * be changing the tree while we resolve (true for extraction into a fresh snapshot).
 *
 * The calls are blocking (`lstatSync`, `readlinkSync`): one per path component, on local
 * snapshot trees, microseconds each; a thread-pool trip per component cost extraction ~0.1 ms
 * per component (layer extraction does this for every entry).
 */
import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { BuildError } from '../errors.js';

const MAX_LINKS = 255;

/**
 * Cleans `unsafe` lexically as if it were absolute: the result is relative, has no `.`/`..`
 * components and never climbs above the root (a leading `..` is dropped, as the kernel does at
 * `/`). Returns '' for the root itself.
 */
export function cleanInRoot(unsafe: string): string {
  return path.posix.normalize('/' + unsafe).slice(1).replace(/\/+$/, '');
}

/**
 * Resolves `unsafe` under `root`, following every symlink (including the last component) inside
 * the root. Components that do not exist are joined lexically. The returned path is absolute and
 * always `root` or below it. Throws BuildError `INVALID_ARGUMENT` on a symlink loop.
 */
export function secureJoin(root: string, unsafe: string): string {
  return path.join(root, resolveInRoot(root, unsafe, true));
}

/**
 * Like `secureJoin`, but the last component is not followed: resolves the parent directory
 * inside the root and appends the (cleaned) base name. What extraction needs: the entry itself
 * is replaced, never written through.
 */
export function secureJoinParent(root: string, unsafe: string): string {
  const clean = cleanInRoot(unsafe);
  if (clean === '') return path.resolve(root);
  const dir = path.posix.dirname(clean);
  const parent = dir === '.' ? '' : resolveInRoot(root, dir, true);
  return path.join(root, parent, path.posix.basename(clean));
}

/** The root-relative resolution of `unsafe` ('' = the root). */
function resolveInRoot(root: string, unsafe: string, followLast: boolean): string {
  let current = '';
  let remaining = cleanInRoot(unsafe).split('/').filter((c) => c !== '');
  let links = 0;
  while (remaining.length > 0) {
    const comp = remaining.shift()!;
    if (comp === '.') continue;
    if (comp === '..') {
      current = current === '' ? '' : path.posix.dirname(current) === '.' ? '' : path.posix.dirname(current);
      continue;
    }
    const next = current === '' ? comp : `${current}/${comp}`;
    if (!followLast && remaining.length === 0) {
      current = next;
      break;
    }
    let isLink = false;
    try {
      isLink = lstatSync(path.join(root, next)).isSymbolicLink();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
      // Missing: nothing below it can be a symlink; join the rest lexically.
      current = cleanInRoot([next, ...remaining].join('/'));
      remaining = [];
      break;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    if (++links > MAX_LINKS) {
      throw new BuildError('INVALID_ARGUMENT', `too many levels of symbolic links resolving "${unsafe}" in ${root}`);
    }
    const target = readlinkSync(path.join(root, next));
    const base = target.startsWith('/') ? '' : current;
    // Re-resolve the target (relative to the link's directory, or to the root if absolute) plus what is left.
    remaining = [...(base === '' ? [] : base.split('/')), ...target.split('/'), ...remaining].filter((c) => c !== '');
    current = '';
  }
  return current;
}
