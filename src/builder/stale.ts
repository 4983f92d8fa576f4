/**
 * Cleaning up after killed builds. A build registers itself in `<root>/runtime/builds/` (a
 * marker file named `<pid>-<random>` holding the process start time) before it mounts or runs
 * anything, and removes the marker when it ends. When a build starts and no other live build is
 * registered, it removes what dead builds left: runc containers and bundles under
 * `<root>/runtime` (`cleanupStale`), every mount below `<root>/runtime`, `<root>/snapshots` and
 * `<root>/tmp`, and the stale entries of `<root>/tmp`. Snapshots of dead processes are removed
 * by the snapshotter's own `cleanup()` (pid-based), alone or not (see `deadFound` below).
 *
 * Registration and the "am I alone?" check happen under one lock (`<root>/runtime/cleanup.lock`),
 * so a build that starts while another cleans waits for the cleanup to end, and never has its
 * own mounts or containers cleaned away. A marker whose pid is dead, or whose pid now belongs
 * to a process started at another time (pid reuse), is stale: the build that finds one while
 * alone cleans up and removes it. No stale marker, no cleanup: builds that end (even by an
 * error) undo their own mounts, containers and temp files; only a killed one leaves them.
 *
 * A stale marker is also the sign that snapshots may be left over: only builds make
 * non-persistent snapshots, and only after registering. `deadFound` tells the build to run the
 * snapshotter's `cleanup()`, which reads every snapshot's metadata (~12 ms for a hundred): a
 * store where no build was killed skips it.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupStale } from '../runtime/executor.js';
import { unmountAll } from '../runtime/mount.js';
import { pidAlive, processIsZombie, processStartTime, withLock } from '../store/fs-util.js';
import { storeDir } from '../store/store-dirs.js';
import { storeLayout } from '../store/layout.js';

/** Whether the build that wrote marker `name` (content: its start time) is still running. */
async function markerAlive(dir: string, name: string): Promise<boolean> {
  const pid = Number(name.split('-')[0]);
  if (!pidAlive(pid)) return false;
  const want = await readFile(path.join(dir, name), 'utf8').catch(() => '');
  // A zombie (exited, not reaped yet) is dead: kill(pid, 0) above still succeeds on it.
  if (await processIsZombie(pid)) return false;
  const got = await processStartTime(pid);
  return want === '' || got === '' || want.trim() === got;
}

/** How many builds registered on the store at `root` are alive (see the module comment). */
export async function liveBuildCount(root: string): Promise<number> {
  const dir = storeLayout(root).buildMarkers;
  let n = 0;
  for (const m of await readdir(dir).catch(() => [] as string[])) if (await markerAlive(dir, m)) n++;
  return n;
}

/**
 * Runs `fn` under the lock builds register under, with the number of live builds: while it
 * runs no build can start, so with 0 everything builds leave is a leftover (`system check --repair`).
 */
export async function withBuildsPaused<T>(root: string, lockTmp: string, fn: (liveBuilds: number) => Promise<T>): Promise<T> {
  const runtimeDir = storeLayout(root).runtime;
  await storeDir(runtimeDir);
  return withLock(path.join(runtimeDir, 'cleanup.lock'), lockTmp, async () => fn(await liveBuildCount(root)), { timeoutMs: 120_000 });
}

/** A registered build; `release()` removes its marker (idempotent, never throws). */
export interface BuildRegistration {
  /** True when this build found no other live build, and the marker of a dead one, and cleaned what it left. */
  readonly cleaned: boolean;
  /** True when the marker of a killed build was found: snapshots may be left over (the marker stays until a build alone cleans). */
  readonly deadFound: boolean;
  release(): Promise<void>;
}

/**
 * Registers a build on the store at `root` and, when it is the only live one, cleans up after
 * killed builds (see the module comment). `lockTmp` is a directory on the same filesystem for
 * the lock's temp file (the store's ingest dir). Throws BuildError IO when the lock cannot be
 * taken within its timeout.
 */
export async function registerBuild(root: string, lockTmp: string, opts: { runtime?: string } = {}): Promise<BuildRegistration> {
  const runtimeDir = storeLayout(root).runtime;
  const dir = storeLayout(root).buildMarkers;
  await storeDir(dir);
  const name = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const marker = path.join(dir, name);
  let deadFound = false;
  const cleaned = await withLock(path.join(runtimeDir, 'cleanup.lock'), lockTmp, async () => {
    await writeFile(marker, await processStartTime(process.pid));
    let others = 0;
    const dead: string[] = [];
    for (const m of await readdir(dir)) {
      if (m === name) continue;
      if (await markerAlive(dir, m)) others++;
      else dead.push(m);
    }
    deadFound = dead.length > 0;
    // Dead markers stay until a build that is alone cleans after them: they are what tells it
    // there is something to clean. Without one, nothing was left behind (the checks below were
    // ~7 ms of every build: runc's state, /proc/self/mountinfo, the tmp folder).
    if (others > 0 || !deadFound) return false;
    for (const m of dead) await rm(path.join(dir, m), { force: true });
    const tmp = storeLayout(root).tmp;
    await cleanupStale(runtimeDir, opts.runtime ?? 'runc', [storeLayout(root).snapshots, tmp]);
    await unmountAll(tmp);
    for (const e of await readdir(tmp).catch(() => [] as string[])) await rm(path.join(tmp, e), { recursive: true, force: true }).catch(() => undefined);
    return true;
  }, { timeoutMs: 120_000 });
  let released = false;
  return {
    cleaned,
    deadFound,
    async release() {
      if (released) return;
      released = true;
      await rm(marker, { force: true }).catch(() => undefined);
    },
  };
}
