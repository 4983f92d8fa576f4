/**
 * What killed mybuild processes left on the host, for `mybuild system check` (report) and
 * `system check --repair` / `prune` (removal): mounts under the store, runc containers, processes
 * (runc, and processes whose root filesystem is one of the store's snapshots), active snapshots
 * and views of dead processes, and temporary files and bundles.
 *
 * Whose is what: everything under `<root>/containers/<id>/` belongs to that container, which is
 * in use while its owner process lives, or while it runs if it is meant to outlive its owner
 * (the daemon's; a `mybuild run` container is tied to its process); a process rooted in a snapshot belongs to
 * the snapshot's owner (a build's pid, or the container of `container-<id>`); the rest (build
 * bundles and runc state under `<root>/runtime`, `<root>/tmp`, views and probes) belongs to the
 * builds registered in `<root>/runtime/builds` (src/builder/stale.ts): with one of them alive
 * it is not looked at. `--repair` decides under the lock builds register under, so no build
 * starts meanwhile. Secret files of killed builds are reported by the store's own check (gc.ts).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { liveBuildCount, withBuildsPaused } from '../builder/stale.js';
import { execCapture } from '../runtime/exec.js';
import { cleanupStale, resolveRuntime } from '../runtime/executor.js';
import { mountPointsUnder, unmountAll } from '../runtime/mount.js';
import { removeLeftoverSecrets } from '../runtime/secrets.js';
import { runcStateDir } from '../runtime/runc-state.js';
import { createSnapshotter, type SnapshotInfo } from '../runtime/snapshotter.js';
import { watchdogsAtWork } from '../runtime/watchdog.js';
import { pidAlive } from '../store/fs-util.js';
import type { ImageStore } from '../store/image-store.js';
import { ContainerManager } from './manager.js';
import { storeLayout } from '../store/layout.js';

export type LeftoverKind = 'mount' | 'container' | 'process' | 'snapshot' | 'temp';

export interface Leftover {
  kind: LeftoverKind;
  /** The mount point, runc state dir + id, pid, snapshot key or path. */
  subject: string;
  message: string;
}

interface Scan {
  leftovers: Leftover[];
  /** runc state dirs (`--root`) with leftover container ids. */
  runc: Map<string, string[]>;
  pids: number[];
  mounts: string[];
  temps: string[];
  snapshots: boolean;
  /** Container dirs to clean with cleanupStale (not running, owner gone). */
  containerDirs: string[];
}

const SNAPSHOT_DIR_RE = /\/snapshots\/(?:overlay|fuse-overlayfs|native)\/s\/([0-9a-f]+)\/fs/g;

/** Whose is `p` under `root`: a container id, or 'builds'. */
function areaOf(root: string, p: string): { container: string } | 'builds' {
  const rel = path.relative(storeLayout(root).containers, p);
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) {
    const id = rel.split(path.sep)[0];
    if (/^[0-9a-f]{64}$/.test(id)) return { container: id };
  }
  return 'builds';
}

async function runcIds(bin: string | undefined, state: string): Promise<string[]> {
  const entries = await readdir(state).catch(() => [] as string[]);
  if (entries.length === 0) return [];
  if (!bin) return entries;
  const r = await execCapture(bin, ['--root', state, 'list', '-q']);
  return r.code === 0 ? r.stdout.toString('utf8').split('\n').map((s) => s.trim()).filter((s) => s !== '') : entries;
}

async function scan(store: ImageStore, runtime: string, liveBuilds: number): Promise<Scan> {
  const root = store.root;
  // What the watchdog of a process that just died is removing is no leftover.
  await watchdogsAtWork();
  const out: Scan = { leftovers: [], runc: new Map(), pids: [], mounts: [], temps: [], snapshots: false, containerDirs: [] };
  const buildsIdle = liveBuilds === 0;
  const mgr = await ContainerManager.open(root, { images: store, runtime });
  const inUse = new Set<string>();
  const known = new Set<string>();
  for (const c of await mgr.list({ all: true })) {
    known.add(c.id);
    // A running container whose owner is gone is in use only if it was meant to outlive it.
    if ((await mgr.ownerAlive(c.id)) || (c.state.status === 'running' && !c.state.tied)) inUse.add(c.id);
  }
  const idle = (p: string): boolean => {
    const a = areaOf(root, p);
    return a === 'builds' ? buildsIdle : !inUse.has(a.container);
  };
  let bin: string | undefined;
  try {
    bin = await resolveRuntime(runtime);
  } catch {
    bin = undefined;
  }

  // runc containers. The state dir of an executor root is under it, or under XDG_RUNTIME_DIR
  // in rootless mode (runtime/runc-state.ts): judged by the executor root it belongs to.
  const executorRoots = [storeLayout(root).runtime, ...[...known].map((id) => path.join(storeLayout(root).containers, id, 'runtime'))];
  const rootOfState = new Map(executorRoots.map((r) => [runcStateDir(r), r]));
  for (const [st, er] of rootOfState) {
    if (!idle(er)) continue;
    const ids = await runcIds(bin, st);
    if (ids.length === 0) continue;
    out.runc.set(st, ids);
    for (const id of ids) out.leftovers.push({ kind: 'container', subject: `${st} ${id}`, message: `runc container ${id} (state in ${st}) of a process that is gone` });
    const a = areaOf(root, er);
    if (a !== 'builds') out.containerDirs.push(path.join(storeLayout(root).containers, a.container));
  }

  // Snapshots: active ones and views of dead processes, and who owns each snapshot directory.
  const sn = await createSnapshotter(storeLayout(root).snapshots);
  const snaps = await sn.list();
  const byId = new Map<string, SnapshotInfo>(snaps.map((s) => [s.id, s]));
  for (const s of snaps) {
    if (!s.leftover) continue;
    out.snapshots = true;
    out.leftovers.push({ kind: 'snapshot', subject: s.name, message: `${s.kind === 'view' ? 'view' : 'active snapshot'} ${s.name} of process ${s.owner ?? '?'}, which is gone` });
  }

  // Processes: runc with a state dir of the store; processes rooted in one of its snapshots.
  const prefix = root + '/';
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    let owner: 'idle' | 'busy' | undefined;
    const at = argv.indexOf('--root');
    const state = at >= 0 ? (argv[at + 1] ?? '') : '';
    const stateOwner = rootOfState.get(state) ?? (state.startsWith(prefix) && path.basename(state) === 'runc' ? path.dirname(state) : undefined);
    if (stateOwner !== undefined && argv.includes('run')) {
      owner = idle(stateOwner) ? 'idle' : 'busy';
    } else {
      const rootLine = (await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '')).split('\n').find((l) => l.split(' ')[4] === '/') ?? '';
      if (!rootLine.includes(prefix)) continue;
      // The writable layer (overlay upperdir) or the bind source names the snapshot.
      const ids = [...rootLine.matchAll(SNAPSHOT_DIR_RE)].map((m) => m[1]);
      const upper = /upperdir=([^,\s]+)/.exec(rootLine)?.[1];
      const id = (upper ? [...upper.matchAll(SNAPSHOT_DIR_RE)][0]?.[1] : undefined) ?? ids[ids.length - 1];
      const s = id ? byId.get(id) : undefined;
      if (!s) owner = 'idle';
      else if (s.name.startsWith('container-')) owner = inUse.has(s.name.slice('container-'.length)) ? 'busy' : 'idle';
      else owner = s.leftover ? 'idle' : s.owner !== undefined && pidAlive(s.owner) ? 'busy' : buildsIdle ? 'idle' : 'busy';
    }
    if (owner !== 'idle') continue;
    out.pids.push(Number(pid));
    out.leftovers.push({ kind: 'process', subject: pid, message: `process ${pid} (${argv.filter((a) => a !== '').join(' ').slice(0, 120)}) of a mybuild process that is gone` });
  }

  // Mounts.
  for (const m of await mountPointsUnder(root)) {
    if (!idle(m)) continue;
    out.mounts.push(m);
    out.leftovers.push({ kind: 'mount', subject: m, message: `${m} is still mounted (left by a process that is gone)` });
  }

  // Temp files: build scratch and bundles while no build runs; bundles and probes of idle containers.
  const temps: string[] = [];
  if (buildsIdle) {
    for (const d of [storeLayout(root).tmp, path.join(storeLayout(root).runtime, 'bundles')]) for (const e of await readdir(d).catch(() => [] as string[])) temps.push(path.join(d, e));
  }
  for (const id of known) {
    if (inUse.has(id)) continue;
    const cdir = path.join(storeLayout(root).containers, id);
    for (const e of await readdir(path.join(cdir, 'runtime', 'bundles')).catch(() => [] as string[])) temps.push(path.join(cdir, 'runtime', 'bundles', e));
    for (const e of (await readdir(cdir).catch(() => [] as string[])).filter((n) => n.startsWith('probe-'))) temps.push(path.join(cdir, e));
  }
  for (const t of temps) {
    out.temps.push(t);
    out.leftovers.push({ kind: 'temp', subject: t, message: `${t}: a temporary file of a process that is gone` });
    const a = areaOf(root, t);
    if (a !== 'builds' && !out.containerDirs.includes(path.join(storeLayout(root).containers, a.container))) out.containerDirs.push(path.join(storeLayout(root).containers, a.container));
  }
  return out;
}

/** What killed processes left on the host for the store (see the module comment); never modifies anything. */
export async function findLeftovers(store: ImageStore, opts: { runtime?: string } = {}): Promise<Leftover[]> {
  return (await scan(store, opts.runtime ?? 'runc', await liveBuildCount(store.root))).leftovers;
}

/**
 * Removes what `findLeftovers` reports, and the secret directories of dead builds: processes
 * killed, runc containers deleted, mounts undone (deepest first), temp files removed, snapshots
 * of dead processes removed. Decides while no build can start. Returns what it removed.
 */
export async function repairLeftovers(store: ImageStore, opts: { runtime?: string } = {}): Promise<Leftover[]> {
  const runtime = opts.runtime ?? 'runc';
  return withBuildsPaused(store.root, store.content.paths.ingest, async (liveBuilds) => {
    const s = await scan(store, runtime, liveBuilds);
    for (const pid of s.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    let bin: string | undefined;
    try {
      bin = await resolveRuntime(runtime);
    } catch {
      bin = undefined;
    }
    if (bin) {
      for (const [stateDir, ids] of s.runc) for (const id of ids) await execCapture(bin, ['--root', stateDir, 'delete', '-f', id]);
    }
    for (const m of [...s.mounts].sort((a, b) => b.length - a.length)) await unmountAll(m);
    for (const d of s.containerDirs) await cleanupStale(path.join(d, 'runtime'), runtime, [d]);
    for (const t of s.temps) {
      await unmountAll(t);
      await rm(t, { recursive: true, force: true }).catch(() => undefined);
    }
    if (s.snapshots || liveBuilds === 0) await (await createSnapshotter(storeLayout(store.root).snapshots)).cleanup();
    await removeLeftoverSecrets(store.root);
    return s.leftovers;
  });
}
