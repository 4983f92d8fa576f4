/**
 * Permissions of a store root, as containerd keeps its own: the root is 0711 (others may pass
 * through it, never list it) and every directory under it that holds image content or build
 * state is 0700, owned by the user mybuild runs as. Layers are extracted with their own modes,
 * setuid bits included, so a snapshot, a container's rootfs or a blob that another user can
 * reach is a setuid-root binary that user can run (issue 14): the 0700 directory above each
 * of them is what closes that.
 *
 * `secureStoreRoot` runs at every store open (LocalContentStore.open): it makes the root when
 * missing and tightens a root and top-level directories that an earlier version made 0755.
 * Code that makes a top-level directory later (snapshots, runtime, tmp, …) makes it with
 * `storeDir` (or `mkdirMode`), which chmods after mkdir since mkdir's mode is masked by the
 * umask. A directory owned by another user (a store shared with a rootless user, the root's
 * parent) is left as it is: only its owner or root may chmod it.
 */
import { chmodSync, lstatSync, mkdirSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { mkdirMode } from '../util/private-dir.js';

/** The mode of the store root: traversable, not listable, by others. */
export const STORE_ROOT_MODE = 0o711;
/** The mode of every directory under the root. */
export const STORE_DIR_MODE = 0o700;

/** The top-level directories of a store root (see content-store.ts for the layout). */
export const STORE_DIRS = ['oci', 'ingest', 'cache', 'leases', 'tmp', 'secrets', 'snapshots', 'runtime', 'containers', 'builds', 'cache-last', 'cache-mounts', 'context-cache', 'daemon', 'variants', 'volumes'] as const;

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Whether this process may chmod a file of owner `uid` (its owner, or root). */
function mayChmod(uid: number): boolean {
  const me = process.geteuid?.();
  return me === undefined || me === 0 || me === uid;
}

/** chmod, except on a read-only store (EROFS) or a file we may not change (EPERM): opening it for reading still works. */
function chmodIfWe(p: string, mode: number): void {
  try {
    chmodSync(p, mode);
  } catch (err) {
    if (code(err) !== 'EROFS' && code(err) !== 'EPERM') throw err;
  }
}

/** chmod `p` to `mode` when it is a directory (not a symlink) with another mode and we may. */
function tighten(p: string, mode: number): void {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (st?.isDirectory() && (st.mode & 0o7777) !== mode && mayChmod(st.uid)) chmodIfWe(p, mode);
}

/**
 * Makes the store root `root` (its parents with the usual mode) and sets it to 0711; sets
 * every top-level store directory that exists to 0700. Idempotent and cheap: blocking calls
 * (one lstat per directory, chmod only when the mode is wrong), ~0.15 ms where the async ones
 * took ~1.2 ms, at every store open.
 */
export async function secureStoreRoot(root: string): Promise<void> {
  // stat, not lstat: a root moved to another disk and linked back is the root.
  const st = statSync(root, { throwIfNoEntry: false });
  if (st) {
    if ((st.mode & 0o7777) !== STORE_ROOT_MODE && mayChmod(st.uid)) chmodIfWe(root, STORE_ROOT_MODE);
  } else {
    await fs.mkdir(path.dirname(root), { recursive: true });
    try {
      mkdirSync(root, { mode: STORE_ROOT_MODE });
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err; // made meanwhile by another process
    }
    chmodSync(root, STORE_ROOT_MODE);
  }
  for (const d of STORE_DIRS) tighten(path.join(root, d), STORE_DIR_MODE);
}

/**
 * Makes `dir` (a path under a store root) and the directories above it that are missing, each
 * 0700. Returns `dir`.
 */
export function storeDir(dir: string): Promise<string> {
  return mkdirMode(dir, STORE_DIR_MODE);
}
