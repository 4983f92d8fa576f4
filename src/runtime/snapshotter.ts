/**
 * Snapshots (containerd's lifecycle). A *key* names an active snapshot (writable, from
 * `prepare`) or a view (read-only, from `view`); a *name* names a committed one. `commit(name,
 * key)` turns an active snapshot into a committed one, which can then be the parent of others.
 *
 * Three implementations share this file's bookkeeping and pass the same suite
 * (test/runtime/snapshotter-suite.ts):
 * - `OverlaySnapshotter`: a committed snapshot holds ONE layer's content; an active one is an
 *   overlay mount whose lowerdirs are the parent chain (top first), with a fresh upperdir and
 *   workdir. Short numeric-free random ids keep the lowerdir option short. With type
 *   `fuse-overlayfs` the same layout is mounted by the `fuse-overlayfs` program (FUSE, for a
 *   kernel or user namespace where overlayfs cannot be mounted; as rootless Podman and BuildKit).
 * - `NativeSnapshotter`: copy-based fallback; `prepare` copies the parent's full tree
 *   (`cp -a --reflink=auto`) and every snapshot is a full tree, mounted by bind.
 * `createSnapshotter` picks overlay when an overlay mount can be made under the root, else
 * fuse-overlayfs when that mounts, else native; `MYBUILD_SNAPSHOTTER=overlay|fuse-overlayfs|native`
 * forces one.
 *
 * Layout under `root`: `meta/<sha256(key or name)>.json` (kind, id, parent, owner pid) and
 * `s/<id>/fs` (+ `s/<id>/work` for overlay). Crash safety: metadata is written by link(2) of a
 * complete temp file (atomic, exclusive); a snapshot directory is only ever removed once no
 * metadata names it. A killed process leaves active snapshots owned by a dead pid and perhaps
 * orphan directories; `cleanup()` removes both. (A non-persistent active snapshot or view is
 * also registered with the process's watchdog, watchdog.ts, which removes it when its process
 * is killed.) Committed snapshots are never left half-done:
 * content goes into an active snapshot that becomes committed only by the final link.
 *
 * Garbage collection (`removeUnused`, driven by prune through snapshot-gc.ts) removes committed
 * snapshots no one keeps and no snapshot has as parent. It decides under `<root>/gc.lock`, the
 * lock `prepare`/`view` hold from reading the parent chain to writing the new metadata, so a
 * snapshot about to get a child is either kept (the child is seen) or gone before the child is
 * made (prepare throws NotFoundError and the caller extracts the chain again: `onChain`,
 * `ensureLayerChain`). Directories are removed after the lock, once no metadata names them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { AlreadyExistsError, BuildError, DigestMismatchError, isAlreadyExists, isNotFound, NotFoundError, UsageError } from '../errors.js';
import { execCapture, execChecked } from './exec.js';
import { applyLayer } from './extract.js';
import { unmountAll, type Mount } from './mount.js';
import { overlayFixedOptions } from './userns.js';
import { storeDir } from '../store/store-dirs.js';
import { pidAlive, withLock } from '../store/fs-util.js';
import { tieSnapshot } from './watchdog.js';

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotInfo {
  /** The key (active, view) or name (committed). */
  name: string;
  kind: SnapshotKind;
  /** Name of the committed parent, if any. */
  parent?: string;
  /** Milliseconds since the epoch when it was prepared. */
  created: number;
  /** The directory id under `s/` (what mount options and process roots name). */
  id: string;
  /** Active snapshots and views: the pid of the process that made it. */
  owner?: number;
  /** Kept after its process is gone (a container's rootfs). */
  persistent?: boolean;
  /**
   * Active snapshots and views: left by a dead process (not persistent, owner gone), so
   * `cleanup()` would remove it.
   */
  leftover?: boolean;
}

/** Where a snapshot's bytes are, for the layer applier and the differ of this package. */
export interface LayerDirs {
  /** `overlay` for both overlay snapshotters (kernel and fuse-overlayfs: the same upperdir form). */
  kind: 'overlay' | 'native';
  /** Overlay: the upperdir (this snapshot's own changes). Native: the full tree. */
  dir: string;
  /** Native: the parent's full tree (absent for a snapshot without parent). */
  parentDir?: string;
  /** Overlay: the parent chain's layer dirs, top first. */
  lowerDirs: string[];
  /** When `prepare` finished copying (native): files changed later have a newer ctime. */
  preparedAt: number;
}

export interface PrepareOptions {
  /**
   * Kept by `cleanup()` even after the preparing process is gone (a container's rootfs outlives
   * the `mybuild run` that made it); removed only by `remove` or `cleanup({ all: true })`.
   */
  persistent?: boolean;
}

/** The snapshotters: kernel overlayfs, overlayfs through FUSE, copying. */
export type SnapshotterType = 'overlay' | 'fuse-overlayfs' | 'native';

export interface Snapshotter {
  readonly type: SnapshotterType;
  /**
   * Creates the active snapshot `key` on top of the committed `parent` (or empty) and returns the
   * mounts that make its rootfs. Throws AlreadyExistsError when `key` exists, NotFoundError when
   * `parent` does not exist or is not committed.
   */
  prepare(key: string, parent?: string, opts?: PrepareOptions): Promise<Mount[]>;
  /** Like `prepare` but read-only; a view cannot be committed. */
  view(key: string, parent?: string): Promise<Mount[]>;
  /**
   * Commits the active snapshot `key` (which must be unmounted) as `name`; `key` is gone after.
   * Throws NotFoundError (no such active key), AlreadyExistsError (`name` taken; `key` is kept).
   */
  commit(name: string, key: string, opts?: { diffId?: string }): Promise<void>;
  /**
   * Removes a snapshot (any kind). Throws NotFoundError when absent, BuildError
   * INVALID_ARGUMENT when a committed snapshot still has children. Its mounts must be unmounted.
   */
  remove(keyOrName: string): Promise<void>;
  /** The mounts of an active snapshot or view (same as `prepare`/`view` returned). */
  mounts(key: string): Promise<Mount[]>;
  /** Info on a snapshot; throws NotFoundError. */
  stat(keyOrName: string): Promise<SnapshotInfo>;
  /** Every snapshot. */
  list(): Promise<SnapshotInfo[]>;
  /** Directories behind an active snapshot (for applyLayer and diff). Throws NotFoundError. */
  layerDirs(key: string): Promise<LayerDirs>;
  /**
   * Removes committed snapshots whose name is not in `keep.names`, whose top layer's diffID (when
   * recorded at commit) is not in `keep.diffIds`, and that no other snapshot has as parent
   * (leaves first, then their parents, and so on). Safe alongside prepare/view/commit (see the
   * module comment). Returns the removed names with the bytes their directories held.
   */
  removeUnused(keep: { names: Set<string>; diffIds?: Set<string> }): Promise<{ name: string; bytes: number }[]>;
  /**
   * Removes what crashed processes left: active snapshots and views whose owner process is gone
   * (or all of them with `{ all: true }`), and directories no snapshot names. Idempotent.
   */
  cleanup(opts?: { all?: boolean }): Promise<void>;
}

interface Meta {
  name: string;
  kind: SnapshotKind;
  id: string;
  parent?: string;
  pid?: number;
  persistent?: boolean;
  /** Committed: the diffID of its own (top) layer, when known. */
  diffId?: string;
  created: number;
}

abstract class BaseSnapshotter implements Snapshotter {
  abstract readonly type: SnapshotterType;
  protected readonly metaDir: string;
  protected readonly dataDir: string;
  /** Watchdog registrations of this process's non-persistent snapshots, by key. */
  private readonly tied = new Map<string, () => void>();

  constructor(readonly root: string) {
    this.metaDir = path.join(root, 'meta');
    this.dataDir = path.join(root, 's');
  }

  protected abstract populate(id: string, parentChain: Meta[], kind: SnapshotKind): Promise<void>;
  protected abstract mountsOf(meta: Meta, parentChain: Meta[]): Mount[];
  protected abstract finishCommit(id: string): Promise<void>;

  protected fsDir(id: string): string {
    return path.join(this.dataDir, id, 'fs');
  }

  private metaPath(name: string): string {
    return path.join(this.metaDir, createHash('sha256').update(name).digest('hex') + '.json');
  }

  // Metadata files are tiny and local: read and written with blocking calls (~20 µs each),
  // like allMeta. Through the thread pool each was four trips (open, stat, read, close), queued
  // behind whatever else the build had there.
  private readMeta(name: string): Meta | undefined {
    try {
      return JSON.parse(readFileSync(this.metaPath(name), 'utf8')) as Meta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private mustMeta(name: string): Meta {
    const m = this.readMeta(name);
    if (!m) throw new NotFoundError(`snapshot "${name}" not found`);
    return m;
  }

  /** Writes the metadata exclusively: link(2) of a complete temp file. */
  private writeMeta(m: Meta): void {
    mkdirSync(this.metaDir, { recursive: true });
    const tmp = path.join(this.metaDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    writeFileSync(tmp, JSON.stringify(m));
    try {
      linkSync(tmp, this.metaPath(m.name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError(`snapshot "${m.name}" already exists`);
      throw err;
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  }

  /**
   * Every snapshot's metadata. The files are tiny and local: read with blocking calls (~20 µs
   * each). Through the thread pool, a store with a hundred snapshots took ~25 ms of wall time
   * and held up the build's own file work queued behind it (cleanup reads them all twice).
   */
  private allMeta(): Meta[] {
    let files: string[];
    try {
      files = readdirSync(this.metaDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const metas: Meta[] = [];
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      try {
        metas.push(JSON.parse(readFileSync(path.join(this.metaDir, f), 'utf8')) as Meta);
      } catch {
        // removed concurrently
      }
    }
    return metas;
  }

  private chain(parent: string | undefined): Meta[] {
    const out: Meta[] = [];
    for (let p = parent; p !== undefined; ) {
      const m = this.readMeta(p);
      if (!m || m.kind !== 'committed') throw new NotFoundError(`parent snapshot "${p}" not found (or not committed)`);
      out.push(m);
      p = m.parent;
    }
    return out;
  }

  /** Runs `fn` under `<root>/gc.lock` (see the module comment). */
  private gcLocked<T>(fn: () => Promise<T>): Promise<T> {
    mkdirSync(this.metaDir, { recursive: true });
    return withLock(path.join(this.root, 'gc.lock'), this.metaDir, fn);
  }

  private async create(kind: SnapshotKind, key: string, parent?: string, persistent = false): Promise<Mount[]> {
    const meta: Meta = { name: key, kind, id: randomBytes(5).toString('hex'), parent, pid: process.pid, ...(persistent ? { persistent } : {}), created: Date.now() };
    if (!persistent) this.tied.set(key, tieSnapshot(this.metaPath(key), this.metaDir, meta.id, path.join(this.dataDir, meta.id)));
    let chain: Meta[];
    try {
      // The chain read and the new metadata under the GC lock: prune cannot take the parent in between.
      chain = await (parent === undefined
        ? (this.writeMeta(meta), Promise.resolve([]))
        : this.gcLocked(async () => {
            const c = this.chain(parent);
            this.writeMeta(meta);
            return c;
          }));
    } catch (err) {
      this.untie(key);
      throw err;
    }
    try {
      await mkdir(path.join(this.dataDir, meta.id), { recursive: true });
      await this.populate(meta.id, chain, kind);
      await writeFile(path.join(this.dataDir, meta.id, 'prepared'), '');
    } catch (err) {
      await this.remove(key).catch(() => undefined);
      throw err;
    }
    return this.mountsOf(meta, chain);
  }

  prepare(key: string, parent?: string, opts: PrepareOptions = {}): Promise<Mount[]> {
    return this.create('active', key, parent, opts.persistent);
  }

  view(key: string, parent?: string): Promise<Mount[]> {
    return this.create('view', key, parent);
  }

  async commit(name: string, key: string, opts: { diffId?: string } = {}): Promise<void> {
    const m = this.mustMeta(key);
    if (m.kind !== 'active') throw new BuildError('INVALID_ARGUMENT', `snapshot "${key}" is ${m.kind === 'view' ? 'a view' : 'committed'}; only active snapshots can be committed`);
    await this.finishCommit(m.id);
    this.writeMeta({ name, kind: 'committed', id: m.id, parent: m.parent, ...(opts.diffId ? { diffId: opts.diffId } : {}), created: Date.now() });
    await unlink(this.metaPath(key));
    this.untie(key);
  }

  private untie(key: string): void {
    this.tied.get(key)?.();
    this.tied.delete(key);
  }

  async remove(keyOrName: string): Promise<void> {
    const m = this.mustMeta(keyOrName);
    if (m.kind !== 'committed') {
      // An active snapshot or a view has no children and its own directory (create() gives each
      // a new id; commit() moves it to the committed name): no need to read every snapshot's
      // metadata, which a store with a hundred snapshots made ~5 ms of every RUN and view.
      await unlink(this.metaPath(keyOrName));
      await this.removeDir(m.id);
      this.untie(keyOrName);
      return;
    }
    const all = this.allMeta();
    if (all.some((o) => o.parent === m.name)) {
      throw new BuildError('INVALID_ARGUMENT', `snapshot "${keyOrName}" has children; remove them first`);
    }
    await unlink(this.metaPath(keyOrName));
    if (!all.some((o) => o.id === m.id && o.name !== m.name)) await this.removeDir(m.id);
  }

  private async removeDir(id: string): Promise<void> {
    const dir = path.join(this.dataDir, id);
    await unmountAll(dir);
    await rm(dir, { recursive: true, force: true });
  }

  async mounts(key: string): Promise<Mount[]> {
    const m = this.mustMeta(key);
    if (m.kind === 'committed') throw new BuildError('INVALID_ARGUMENT', `snapshot "${key}" is committed; prepare or view it to mount it`);
    return this.mountsOf(m, this.chain(m.parent));
  }

  async stat(keyOrName: string): Promise<SnapshotInfo> {
    return info(this.mustMeta(keyOrName));
  }

  async list(): Promise<SnapshotInfo[]> {
    return this.allMeta().map(info);
  }

  async layerDirs(key: string): Promise<LayerDirs> {
    const m = this.mustMeta(key);
    const chain = this.chain(m.parent);
    return {
      kind: this.type === 'native' ? 'native' : 'overlay',
      dir: this.fsDir(m.id),
      parentDir: chain.length > 0 ? this.fsDir(chain[0].id) : undefined,
      lowerDirs: chain.map((c) => this.fsDir(c.id)),
      preparedAt: await stat(path.join(this.dataDir, m.id, 'prepared')).then((st) => st.mtimeMs, () => m.created),
    };
  }

  async removeUnused(keep: { names: Set<string>; diffIds?: Set<string> }): Promise<{ name: string; bytes: number }[]> {
    const removed = await this.gcLocked(async () => {
      const out: Meta[] = [];
      for (;;) {
        const all = this.allMeta();
        const parents = new Set(all.map((m) => m.parent).filter((p): p is string => p !== undefined));
        const drop = all.filter((m) => m.kind === 'committed' && !keep.names.has(m.name) && !(m.diffId && keep.diffIds?.has(m.diffId)) && !parents.has(m.name));
        if (drop.length === 0) return out;
        for (const m of drop) {
          await unlink(this.metaPath(m.name)).catch(() => undefined);
          out.push(m);
        }
      }
    });
    const named = new Set(this.allMeta().map((m) => m.id));
    const result: { name: string; bytes: number }[] = [];
    for (const m of removed) {
      if (named.has(m.id)) {
        result.push({ name: m.name, bytes: 0 });
        continue;
      }
      const bytes = await diskUsage(path.join(this.dataDir, m.id));
      await this.removeDir(m.id);
      result.push({ name: m.name, bytes });
    }
    return result;
  }

  async cleanup(opts: { all?: boolean } = {}): Promise<void> {
    let metas = this.allMeta();
    for (const m of metas) {
      if (m.kind === 'committed') continue;
      if (opts.all || (!m.persistent && (m.pid === undefined || !pidAlive(m.pid)))) {
        await unlink(this.metaPath(m.name)).catch(() => undefined);
      }
    }
    // Directories first, metadata second: create() writes a snapshot's metadata before its
    // directory, so every directory listed here already has its metadata on disk when we read
    // it below. (In the other order, a snapshot another process created in between was taken
    // for an orphan and its directory removed under it.)
    let ids: string[] = [];
    try {
      ids = await readdir(this.dataDir);
    } catch {
      // nothing yet
    }
    metas = this.allMeta();
    const used = new Set(metas.map((m) => m.id));
    for (const id of ids) if (!used.has(id)) await this.removeDir(id);
    for (const f of await readdir(this.metaDir).catch(() => [] as string[])) {
      if (f.startsWith('.tmp-') && !pidAlive(Number(f.split('-')[1]))) await unlink(path.join(this.metaDir, f)).catch(() => undefined);
    }
  }

}

/** Bytes on disk under `dir` (`du -s -B1 -x`: hard links once, not crossing mounts); 0 when unknown. */
export async function diskUsage(dir: string): Promise<number> {
  const r = await execCapture('du', ['-s', '-B1', '-x', dir]).catch(() => undefined);
  const n = r && r.code === 0 ? Number(r.stdout.toString('utf8').split(/\s/)[0]) : NaN;
  return Number.isFinite(n) ? n : 0;
}

function info(m: Meta): SnapshotInfo {
  const out: SnapshotInfo = { name: m.name, kind: m.kind, parent: m.parent, created: m.created, id: m.id };
  if (m.kind !== 'committed') {
    if (m.pid !== undefined) out.owner = m.pid;
    if (m.persistent) out.persistent = true;
    out.leftover = !m.persistent && (m.pid === undefined || !pidAlive(m.pid));
  }
  return out;
}


/** Overlayfs snapshots: one layer per committed snapshot (see the module comment); mounted by the kernel or by fuse-overlayfs. */
export class OverlaySnapshotter extends BaseSnapshotter {
  readonly type: 'overlay' | 'fuse-overlayfs';

  constructor(root: string, type: 'overlay' | 'fuse-overlayfs' = 'overlay') {
    super(root);
    this.type = type;
  }

  protected async populate(id: string, chain: Meta[], kind: SnapshotKind): Promise<void> {
    await mkdir(this.fsDir(id), { mode: 0o755 });
    if (kind === 'active' && chain.length > 0) await mkdir(path.join(this.dataDir, id, 'work'), { mode: 0o700 });
  }

  protected mountsOf(meta: Meta, chain: Meta[]): Mount[] {
    const lowers = chain.map((c) => this.fsDir(c.id));
    if (meta.kind === 'view') {
      if (lowers.length === 0) return [{ type: 'bind', source: this.fsDir(meta.id), options: ['rbind', 'ro'] }];
      if (lowers.length === 1) return [{ type: 'bind', source: lowers[0], options: ['rbind', 'ro'] }];
      return [{ type: this.type, source: this.type, options: [`lowerdir=${lowers.join(':')}`] }];
    }
    if (lowers.length === 0) return [{ type: 'bind', source: this.fsDir(meta.id), options: ['rbind', 'rw'] }];
    // fuse-overlayfs keeps no index or redirects (the kernel's fixed options do not apply).
    if (this.type === 'fuse-overlayfs') {
      return [{ type: 'fuse-overlayfs', source: 'fuse-overlayfs', options: [`lowerdir=${lowers.join(':')}`, `upperdir=${this.fsDir(meta.id)}`, `workdir=${path.join(this.dataDir, meta.id, 'work')}`] }];
    }
    return [
      {
        type: 'overlay',
        source: 'overlay',
        // index/redirect_dir/metacopy off, whatever the module defaults: the differ (diff.ts)
        // reads the upperdir as plain files plus whiteouts and opaque dirs only.
        options: [
          `lowerdir=${lowers.join(':')}`,
          `upperdir=${this.fsDir(meta.id)}`,
          `workdir=${path.join(this.dataDir, meta.id, 'work')}`,
          ...overlayFixedOptions(),
        ],
      },
    ];
  }

  protected async finishCommit(id: string): Promise<void> {
    await rm(path.join(this.dataDir, id, 'work'), { recursive: true, force: true });
  }
}

/** Copy-based snapshots: each one a full tree (see the module comment). */
export class NativeSnapshotter extends BaseSnapshotter {
  readonly type = 'native' as const;

  protected async populate(id: string, chain: Meta[]): Promise<void> {
    const fs = this.fsDir(id);
    if (chain.length === 0) {
      await mkdir(fs, { mode: 0o755 });
      return;
    }
    await execChecked('cp', ['-a', '--reflink=auto', this.fsDir(chain[0].id), fs], { pkg: 'coreutils' });
  }

  protected mountsOf(meta: Meta): Mount[] {
    return [{ type: 'bind', source: this.fsDir(meta.id), options: ['rbind', meta.kind === 'view' ? 'ro' : 'rw'] }];
  }

  protected async finishCommit(): Promise<void> {}
}

/**
 * Whether an overlay mount works under `dir` (mounts and unmounts a tiny one). Never throws.
 */
export async function probeOverlay(dir: string): Promise<boolean> {
  return probeMount(dir, 'probe', (base) => ['mount', ['-t', 'overlay', 'overlay', '-o', [overlayLayers(base), ...overlayFixedOptions()].join(','), `${base}/m`]]);
}

function overlayLayers(base: string): string {
  return `lowerdir=${base}/l1:${base}/l2,upperdir=${base}/u,workdir=${base}/w`;
}

/** Mounts a two-layer overlay on scratch directories under `dir` with `command`, and unmounts it. Never throws. */
async function probeMount(dir: string, prefix: string, command: (base: string) => [string, string[]]): Promise<boolean> {
  const base = path.join(dir, `.${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    for (const d of ['l1', 'l2', 'u', 'w', 'm']) await mkdir(path.join(base, d), { recursive: true });
    const r = await execCapture(...command(base));
    if (r.code !== 0) return false;
    await unmountAll(`${base}/m`);
    return true;
  } catch {
    return false;
  } finally {
    await unmountAll(base).catch(() => undefined);
    await rm(base, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Whether overlayfs works under `root`: {@link probeOverlay}, once. A success is remembered in
 * `<root>/overlay-probe.json` with the kernel release and the device of `root`, and trusted while
 * both stay the same, so a build does not mount and unmount a probe (two process spawns) every
 * time. A failure is not remembered: the next build probes again.
 */
async function overlayWorks(root: string): Promise<boolean> {
  const file = path.join(root, 'overlay-probe.json');
  const here = { release: os.release(), dev: Number((await stat(root)).dev) };
  try {
    const seen = JSON.parse(await readFile(file, 'utf8')) as { release?: string; dev?: number };
    if (seen.release === here.release && seen.dev === here.dev) return true;
  } catch {
    // not probed yet (or unreadable): probe
  }
  if (!(await probeOverlay(root))) return false;
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, JSON.stringify(here));
  await rename(tmp, file).catch(() => unlink(tmp).catch(() => undefined));
  return true;
}

/**
 * Whether fuse-overlayfs can mount an overlay under `dir` (the program is installed and
 * /dev/fuse opens). Never throws.
 */
export async function probeFuseOverlay(dir: string): Promise<boolean> {
  return probeMount(dir, 'probe-fuse', (base) => ['fuse-overlayfs', ['-o', overlayLayers(base), `${base}/m`]]);
}

const TYPES: readonly SnapshotterType[] = ['overlay', 'fuse-overlayfs', 'native'];

/** MYBUILD_SNAPSHOTTER, when set: the snapshotter to use. Throws UsageError for another value. */
function forcedType(env: NodeJS.ProcessEnv = process.env): SnapshotterType | undefined {
  const v = env.MYBUILD_SNAPSHOTTER;
  if (v === undefined || v === '' || v === 'auto') return undefined;
  if (!(TYPES as readonly string[]).includes(v)) throw new UsageError(`MYBUILD_SNAPSHOTTER=${v}: expected one of auto, ${TYPES.join(', ')}`);
  return v as SnapshotterType;
}

/** The first snapshotter that works under `root`: overlay, fuse-overlayfs, native (see the module comment). */
async function autoType(root: string): Promise<SnapshotterType> {
  if (await overlayWorks(root)) return 'overlay';
  if (await probeFuseOverlay(root)) return 'fuse-overlayfs';
  return 'native';
}

/** Which snapshotter `createSnapshotter(root)` opens: `overlay`, `fuse-overlayfs` or `native`. */
export async function snapshotterType(root: string): Promise<SnapshotterType> {
  await storeDir(root);
  return forcedType() ?? (await autoType(root));
}

/**
 * Opens the snapshotter under `root` (created if missing): `<root>/overlay`,
 * `<root>/fuse-overlayfs` or `<root>/native`. `type: 'auto'` (default) takes MYBUILD_SNAPSHOTTER,
 * else the first that works ({@link autoType}). Does not clean up; call `cleanup()` at start-up.
 */
export async function createSnapshotter(root: string, opts: { type?: 'auto' | SnapshotterType } = {}): Promise<Snapshotter> {
  await storeDir(root);
  let type = opts.type ?? 'auto';
  if (type === 'auto') type = forcedType() ?? (await autoType(root));
  if (type === 'native') return new NativeSnapshotter(path.join(root, 'native'));
  return new OverlaySnapshotter(path.join(root, type), type);
}

/** ChainID per the OCI image spec (config.md): chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). */
export function chainId(diffIds: string[]): string {
  let chain = '';
  for (const d of diffIds) chain = chain === '' ? d : `sha256:${createHash('sha256').update(`${chain} ${d}`).digest('hex')}`;
  return chain;
}

export interface LayerSource {
  /** sha256 of the uncompressed tar, as the image config claims it; verified while extracting. */
  diffId: string;
  /** Opens the uncompressed tar; the applier consumes it. */
  open(): Promise<Readable>;
  /** The layer in messages (its blob digest); default the diffId. */
  name?: string;
}

/** Extractions in progress, per snapshotter instance (never shared across store roots). */
const inflight = new WeakMap<Snapshotter, Map<string, Promise<void>>>();

/**
 * Makes sure a committed snapshot exists for every prefix of `layers`, named by its ChainID, and
 * returns the top one's name ('' for no layers). Layers already present are not re-extracted.
 * Safe to call concurrently (per snapshotter instance: one extraction per chain; across instances
 * and processes: both extract into private active snapshots and the loser of the commit race
 * drops its copy).
 * Crash-safe: an interrupted extraction leaves only an active snapshot, which `cleanup()` removes.
 * Throws what applyLayer or the layer's `open()` throws, and DigestMismatchError when a layer's
 * uncompressed bytes do not hash to its diffId (the partial snapshot is removed, nothing is committed).
 */
export async function ensureLayerChain(sn: Snapshotter, layers: LayerSource[], opts: { allowDevices?: boolean } = {}): Promise<string> {
  // A parent that prune removed between its check and its child's prepare: extract again.
  for (let attempt = 0; ; attempt++) {
    try {
      return await ensureOnce(sn, layers, opts);
    } catch (err) {
      if (!isNotFound(err) || attempt >= 3) throw err;
    }
  }
}

/**
 * `use(parent)` with `parent` the top of a chain made by `ensure` (ensureLayerChain); `first`:
 * one already made. When prune removed the parent in between (NotFoundError), ensures (extracts)
 * the chain again and retries, up to 3 times.
 */
export async function onChain<T>(ensure: () => Promise<string>, use: (parent: string) => Promise<T>, first?: string): Promise<T> {
  let parent = first ?? (await ensure());
  for (let attempt = 0; ; attempt++) {
    try {
      return await use(parent);
    } catch (err) {
      if (!isNotFound(err) || attempt >= 3) throw err;
      parent = await ensure();
    }
  }
}

async function ensureOnce(sn: Snapshotter, layers: LayerSource[], opts: { allowDevices?: boolean }): Promise<string> {
  let parent: string | undefined;
  const diffIds: string[] = [];
  for (const layer of layers) {
    diffIds.push(layer.diffId);
    const name = chainId(diffIds);
    let flights = inflight.get(sn);
    if (!flights) inflight.set(sn, (flights = new Map()));
    let p = flights.get(name);
    if (!p) {
      const own = flights;
      p = extractOne(sn, name, parent, layer, opts).finally(() => own.delete(name));
      own.set(name, p);
    }
    await p;
    parent = name;
  }
  return parent ?? '';
}

async function extractOne(sn: Snapshotter, name: string, parent: string | undefined, layer: LayerSource, opts: { allowDevices?: boolean }): Promise<void> {
  if (await exists(sn, name)) return;
  const key = `extract-${process.pid}-${randomBytes(6).toString('hex')}-${name}`;
  await sn.prepare(key, parent);
  try {
    // Apply straight into the snapshot's directory (no mount): the overlay upperdir with overlay
    // whiteouts (as Docker's overlay2 driver does), or the native full tree with deletions.
    const dirs = await sn.layerDirs(key);
    const whiteouts = dirs.kind === 'overlay' && parent !== undefined ? 'overlay' : 'delete';
    // The uncompressed bytes must hash to the diffId the config claims (as containerd's unpacker
    // checks): else the snapshot named by the claimed ChainID would hold other content.
    const hashed = hashingStream(await layer.open());
    await applyLayer(hashed.stream, dirs.dir, { whiteouts, allowDevices: opts.allowDevices });
    const got = await hashed.digest();
    if (got !== layer.diffId) {
      throw new DigestMismatchError(`layer ${layer.name ?? layer.diffId}: its uncompressed content hashes to ${got}, but the image config's diff_ids says ${layer.diffId}`, {
        hint: 'the image is corrupt or was tampered with; nothing was extracted from it',
      });
    }
    await sn.commit(name, key, { diffId: layer.diffId });
  } catch (err) {
    await sn.remove(key).catch(() => undefined);
    if (isAlreadyExists(err)) return; // another process committed the same chain first
    throw err;
  }
}

/**
 * `src` passed through a sha256; `digest()` resolves once all of it went through (reading what
 * the consumer left, such as padding after the tar's end blocks).
 */
function hashingStream(src: Readable): { stream: Readable; digest(): Promise<string> } {
  const h = createHash('sha256');
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
  });
  src.on('error', (err) => stream.destroy(err));
  stream.on('close', () => {
    if (!src.destroyed) src.destroy();
  });
  src.pipe(stream);
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  ended.catch(() => undefined);
  return {
    stream,
    async digest() {
      if (!stream.readableEnded) {
        stream.unpipe();
        stream.resume();
      }
      await ended;
      return `sha256:${h.digest('hex')}`;
    },
  };
}

async function exists(sn: Snapshotter, name: string): Promise<boolean> {
  try {
    return (await sn.stat(name)).kind === 'committed';
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
