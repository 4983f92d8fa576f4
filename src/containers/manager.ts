/**
 * Containers: create, start (run to completion), wait, logs, stop, kill, remove, list, inspect;
 * for `mybuild run`/`ps`/`rm`/`logs`/`stop`/`kill` (daemonless: the container's process is a
 * child of the mybuild process that started it) and for the daemon (which starts containers
 * as its own children and serves the rest to clients).
 *
 * Layout under `<root>/containers/`:
 * - `<id>/config.json`: the ContainerConfigRecord (written once, by `create`);
 * - `<id>/state.json`: the ContainerState (replaced atomically on every change);
 * - `<id>/log.jsonl`: the output in Docker's json-file format (log.ts);
 * - `<id>/owner`: while it runs, `<pid> <start time>` of the process that runs it; created
 *   exclusively, so two processes never start the same container;
 * - `<id>/runtime/`: the container's own executor root (runc state and bundle), so any process
 *   can find and signal its one runc container and `remove` can clean what a dead owner left;
 * - `names/<name>`: the ID owning a name, created exclusively (names are unique across processes).
 * The rootfs is the active snapshot `container-<id>` in the store's snapshotter
 * (`<root>/snapshots`) on top of the image's layer chain: it keeps the container's changes until
 * `remove`. The image is recorded by config digest (and its layers' descriptors), so removing
 * the image's tag does not break the container.
 *
 * Cross-process view: a state saying `running` whose owner process is gone (or is another
 * process with a reused pid: the start time differs) is reported as `running` while the runtime
 * still lists the container as running (a daemon's container outlives the daemon), else as
 * `exited` with code 255 and an `error`, as Docker reports containers of a crashed daemon;
 * `remove` (or `reconcile`, which the daemon runs when it starts) cleans up after it.
 *
 * A `mybuild run` container is foreground work of its process: its runc container, mounts and
 * bundle are tied to the process's watchdog (src/runtime/watchdog.ts), so a SIGKILL of `mybuild
 * run` kills it too. A manager opened with `tied: false` (the daemon's) starts containers that
 * outlive the process.
 *
 * Known limit: the snapshotter's `cleanup()` (run at the start of every build) drops active
 * snapshots whose creating process is gone, which includes the rootfs of an exited container
 * created by a `mybuild run` that has ended. Restarting such a container starts from a fresh
 * rootfs of its image (its previous changes are lost); logs, state and removal are unaffected.
 */
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { lstat, mkdtemp, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { AlreadyExistsError, BuildError, hasCode, isAlreadyExists, isNotFound, NotFoundError } from '../errors.js';
import { layerSource, layersOf } from '../image/layers.js';
import type { Descriptor, Digest } from '../oci/types.js';
import { execCapture } from '../runtime/exec.js';
import { cleanupStale, resolveRuntime, RuncExecutor } from '../runtime/executor.js';
import { runcStateDir } from '../runtime/runc-state.js';
import { mountAll, unmountAll, type Mount } from '../runtime/mount.js';
import type { NetworkAttachment, NetworkMode, TerminalSource } from '../runtime/spec.js';
import type { PublishedPort } from '../runtime/usernet.js';
import { createSnapshotter, ensureLayerChain, onChain, type Snapshotter } from '../runtime/snapshotter.js';
import { diffSnapshot } from '../runtime/diff.js';
import { resolveUser } from '../runtime/user.js';
import { ImageStore, type ResolvedImage } from '../store/image-store.js';
import { emulatorName, hostCanRun } from '../builder/platform-check.js';
import { formatPlatform, hostPlatform, platformMatches } from '../oci/platform.js';
import { parsePlatform } from '../registry/platform.js';
import { processStartTimeSync, writeFileAtomic } from '../store/fs-util.js';
import { logFiles, LogWriter, readLogRecords, type LogStream } from './log.js';
import { newContainerId, randomName, shortContainerId, validateName } from './names.js';
import { storeDir } from '../store/store-dirs.js';
import { execSpecFields, extraMounts, toRunSettings, withInit, type ContainerSettings } from './settings.js';
import { initBinary, resolveGroups } from './init-groups.js';
import { storeLayout } from '../store/layout.js';
import { ANONYMOUS_LABEL, checkDriver, VolumeStore } from './volumes.js';
import { mergeHealthcheck } from './health.js';

/** A bind mount from the host (`-v SRC:DST[:ro]`) or of a named volume's directory (`-v NAME:DST`). */
export interface VolumeSpec {
  /** Absolute host path (must exist); for a named volume, `create` sets its `_data` directory. */
  source: string;
  /** Absolute path in the container. */
  target: string;
  readonly: boolean;
  /** The named volume mounted (volumes.ts), created by `create` when missing. */
  volume?: string;
  /** Created for this container (the image's VOLUMEs, Config.Volumes): removed with it by `remove({ volumes })`. */
  anonymous?: boolean;
  /** Do not copy the image's content at `target` into the empty volume (`nocopy`). */
  nocopy?: boolean;
  /** Where it came from, for inspect: `Binds` (default), `HostConfig.Mounts`, an anonymous volume, `VolumesFrom`. */
  origin?: 'binds' | 'mounts' | 'anonymous' | 'volumes-from';
  /** For a named volume `create` makes: its labels and local-driver options. */
  create?: { labels?: Record<string, string>; options?: Record<string, string>; driver?: string };
}

/** What `create` takes (the `docker create` subset mybuild supports). */
export interface CreateOptions {
  /** Image name or ID in the store (not pulled: the caller pulls first). */
  image: string;
  /** Unique name (Docker's rules); a random `adjective_surname` when absent. */
  name?: string;
  /** Replaces the image's Cmd when non-empty. */
  cmd?: string[];
  /** Replaces the image's Entrypoint and drops its Cmd (`[]` = no entrypoint, like `--entrypoint ""`). */
  entrypoint?: string[];
  /** `KEY=value` entries, overriding the image's Env by key. */
  env?: string[];
  /** Absolute working directory (default: the image's WorkingDir, else `/`). */
  workdir?: string;
  /** `user[:group]` resolved at start through the rootfs' /etc/passwd (default: the image's User). */
  user?: string;
  tty?: boolean;
  /** Keep stdin open: `start` forwards its `stdin`. */
  openStdin?: boolean;
  /**
   * `sandbox` (default: own network namespace reaching the outside through slirp4netns), `none`
   * (only `lo`) or `host`.
   */
  network?: NetworkMode;
  /** Host ports forwarded to the container (`-p`; `sandbox` and `bridge` networks). */
  publish?: PublishedPort[];
  /** With `network: 'bridge'`: the network named by HostConfig.NetworkMode (the daemon's networks attach it). */
  networkMode?: string;
  volumes?: VolumeSpec[];
  /** Remove the container when it exits (`--rm`). */
  autoRemove?: boolean;
  /** Replaces the image's StopSignal. */
  stopSignal?: string;
  /** The container's hostname (default: the short ID). */
  hostname?: string;
  /** Everything else `docker create` sets (settings.ts); recorded and applied at start. */
  settings?: ContainerSettings;
  /** Config.Volumes: paths that get an anonymous volume (besides the image's VOLUMEs) unless something else is mounted there. */
  anonymousVolumes?: string[];
  /** `--volumes-from CONTAINER[:ro|rw]`: that container's volumes and binds, mounted here too. */
  volumesFrom?: string[];
  /** `--volume-driver`: the driver of the volumes `create` makes (only `local` exists). */
  volumeDriver?: string;
  /**
   * `--platform os/arch[/variant]`: the image's entry for it (of an index), run under binfmt_misc
   * emulation when foreign; refused when the image has no such entry or the host cannot run it.
   */
  platform?: string;
}

/** `<id>/config.json`. */
export interface ContainerConfigRecord {
  id: string;
  name: string;
  /** RFC 3339 creation time. */
  created: string;
  /** The image as the user named it. */
  image: string;
  /** The image ID (config digest). */
  imageId: Digest;
  manifestDigest: Digest;
  /** The image's layers (to rebuild the rootfs if its snapshot was lost). */
  layers: { diffId: Digest; descriptor: Descriptor }[];
  /** Entrypoint + Cmd as run. */
  command: string[];
  /** The two parts of `command` (absent in records made before they were kept apart). */
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  workdir: string;
  user: string;
  tty: boolean;
  openStdin: boolean;
  network: NetworkMode;
  /** HostConfig.NetworkMode as given, for a `bridge` container (a network's name). */
  networkMode?: string;
  /** Absent in records written before ports could be published. */
  publish?: PublishedPort[];
  volumes: VolumeSpec[];
  autoRemove: boolean;
  /** The image's StopSignal, if any (`stop` sends it instead of SIGTERM). */
  stopSignal?: string;
  hostname: string;
  /** See CreateOptions.settings (absent for containers made before it existed). */
  settings?: ContainerSettings;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

/** `<id>/state.json`. */
export interface ContainerState {
  status: ContainerStatus;
  /** The process running the container (mybuild or the daemon) while `running`. */
  ownerPid?: number;
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
  /** Why it failed to start, or why its exit code is unknown. */
  error?: string;
  /** Foreground work of its owner (`mybuild run`): it must not outlive it (absent for the daemon's). */
  tied?: boolean;
}

/** A container as `inspect`/`list` report it: its config and its effective state. */
export interface Container {
  id: string;
  name: string;
  config: ContainerConfigRecord;
  state: ContainerState;
}

/** Where `start` sends the container's output (besides the log) and what it reads. */
export interface StartIO {
  /** Forwarded to the process' stdin when the container was created with `openStdin`. */
  stdin?: Readable;
  /** Receive the output; never ended. Backpressure is honoured (a slow reader slows the container). */
  stdout?: Writable;
  stderr?: Writable;
  /** Aborting kills the container (SIGKILL); `start` then resolves with its exit code. */
  signal?: AbortSignal;
  /** A tty container's terminal size and its changes (the caller's terminal). */
  terminal?: TerminalSource;
}

export interface ExitInfo {
  exitCode: number;
}

const ID_RE = /^[0-9a-f]{64}$/;
const RUNNING_GRACE_MS = 3000;

/**
 * Manages the containers under `<root>/containers`. Safe to use from several processes at once
 * (see the module comment); one instance per process is enough.
 */
export class ContainerManager {
  readonly dir: string;
  private readonly namesDir: string;
  private snapshotterP?: Promise<Snapshotter>;
  private volumesP?: Promise<VolumeStore>;
  private readonly inflight = new Map<string, Promise<ExitInfo>>();
  /** Connects a `bridge` container's namespace to its networks at start (set by the daemon, which owns them). */
  attachNetworks?: (c: ContainerConfigRecord) => (holderPid: number) => Promise<NetworkAttachment>;

  private constructor(
    readonly root: string,
    readonly images: ImageStore,
    readonly runtime: string,
    readonly tied: boolean,
  ) {
    this.dir = storeLayout(root).containers;
    this.namesDir = path.join(this.dir, 'names');
  }

  /**
   * Opens the containers of the store at `root` (directories created when missing). `runtime`:
   * the OCI runtime binary (default `runc`). Idempotent.
   */
  static async open(root: string, opts: { runtime?: string; images?: ImageStore; tied?: boolean } = {}): Promise<ContainerManager> {
    const abs = path.resolve(root);
    const images = opts.images ?? (await ImageStore.open(abs));
    const m = new ContainerManager(abs, images, opts.runtime ?? 'runc', opts.tied ?? true);
    await storeDir(m.namesDir);
    return m;
  }

  private snapshotter(): Promise<Snapshotter> {
    this.snapshotterP ??= createSnapshotter(storeLayout(this.root).snapshots);
    return this.snapshotterP;
  }

  /** The store's named volumes (volumes.ts). */
  volumes(): Promise<VolumeStore> {
    this.volumesP ??= VolumeStore.open(this.root);
    return this.volumesP;
  }

  /** IDs of the containers that mount volume `name`. */
  async volumeUsers(name: string): Promise<string[]> {
    return (await this.list({ all: true })).filter((c) => c.config.volumes.some((v) => v.volume === name)).map((c) => c.id);
  }

  private cdir(id: string): string {
    return path.join(this.dir, id);
  }

  /**
   * Creates a container from `opts.image` (resolved in the image store) with Docker's
   * Entrypoint/Cmd rules, and prepares its rootfs snapshot. Throws NotFoundError (`No such
   * image`), AlreadyExistsError (name in use), BuildError INVALID_ARGUMENT (bad name, env,
   * workdir, volume or network; no command). Leaves nothing behind when it throws.
   */
  async create(opts: CreateOptions): Promise<Container> {
    const img = await resolveForPlatform(this.images, opts.image, opts.platform);
    const ic = img.config.config ?? {};
    const entrypoint = opts.entrypoint ?? ic.Entrypoint ?? [];
    const cmd = opts.cmd?.length ? opts.cmd : opts.entrypoint !== undefined ? [] : (ic.Cmd ?? []);
    const command = [...entrypoint, ...cmd];
    if (command.length === 0) {
      throw new BuildError('INVALID_ARGUMENT', `no command specified: the image ${opts.image} has no Entrypoint or Cmd`, { hint: `give one after the image: mybuild run ${opts.image} sh` });
    }
    const unset = new Set(opts.settings?.unsetEnv ?? []);
    const env = mergeEnv(ic.Env ?? [], opts.env ?? []).filter((e) => !unset.has(e.split('=', 1)[0]));
    const workdir = opts.workdir ?? (ic.WorkingDir || '/');
    if (!workdir.startsWith('/')) {
      throw new BuildError('INVALID_ARGUMENT', `the working directory "${workdir}" is invalid: it needs to be an absolute path`, { hint: 'use -w /path' });
    }
    const network = opts.network ?? 'sandbox';
    if (network !== 'sandbox' && network !== 'none' && network !== 'host' && network !== 'bridge') {
      throw new BuildError('INVALID_ARGUMENT', `network "${String(network)}" is not supported: expected "default", "none" or "host"`, { hint: 'mybuild creates no bridges: the default network is user-mode (slirp4netns)' });
    }
    const publish = opts.publish ?? [];
    if (publish.length > 0 && network !== 'sandbox' && network !== 'bridge') {
      throw new BuildError('INVALID_ARGUMENT', `published ports (-p) need the default network, not --network ${network}`, { hint: network === 'host' ? 'with --network host the container listens on the host\'s ports directly' : 'drop --network none' });
    }
    const layers = layersOf(img.manifest, img.config, `image ${opts.image}`);
    const explicitName = opts.name !== undefined ? validateName(opts.name) : undefined;
    // Anonymous volumes made for this container, removed again when create fails.
    const made: string[] = [];
    let volumes: VolumeSpec[];
    try {
      volumes = await checkVolumes(await this.resolveVolumes(opts, Object.keys(ic.Volumes ?? {}), made));
    } catch (err) {
      await this.dropVolumes(made);
      throw err;
    }

    const id = newContainerId();
    const cdir = this.cdir(id);
    await storeDir(cdir);
    let name = explicitName ?? '';
    let ok = false;
    try {
      const record: ContainerConfigRecord = {
        id,
        name,
        created: new Date().toISOString(),
        image: opts.image,
        imageId: img.configDigest,
        manifestDigest: img.manifestDescriptor.digest,
        layers: layers.map(({ diffId, descriptor: d }) => ({ diffId, descriptor: { mediaType: d.mediaType, digest: d.digest, size: d.size } })),
        command,
        entrypoint,
        cmd,
        env,
        workdir,
        user: opts.user ?? ic.User ?? '',
        tty: opts.tty === true,
        openStdin: opts.openStdin === true,
        network,
        ...(network === 'bridge' && opts.networkMode ? { networkMode: opts.networkMode } : {}),
        ...(publish.length > 0 ? { publish } : {}),
        volumes,
        autoRemove: opts.autoRemove === true,
        ...(opts.stopSignal || ic.StopSignal ? { stopSignal: opts.stopSignal || ic.StopSignal } : {}),
        hostname: opts.hostname || shortContainerId(id),
        ...(opts.settings ? { settings: opts.settings } : {}),
      };
      const health = mergeHealthcheck(ic.Healthcheck, opts.settings?.healthcheck);
      if (health) record.settings = { ...record.settings, healthcheck: health };
      await this.writeState(id, { status: 'created' });
      if (explicitName !== undefined) {
        await this.reserveName(explicitName, id);
      } else {
        for (let attempt = 0; ; attempt++) {
          name = randomName(attempt);
          try {
            await this.reserveName(name, id);
            break;
          } catch (err) {
            if (!isAlreadyExists(err) || attempt >= 20) throw err;
          }
        }
      }
      record.name = name;
      await writeFile(path.join(cdir, 'config.json'), JSON.stringify(record, null, 2));
      await this.prepareRootfs(record);
      ok = true;
      return { id, name, config: record, state: { status: 'created' } };
    } finally {
      if (!ok) {
        if (name) await this.releaseName(name, id);
        await rm(cdir, { recursive: true, force: true });
        await this.dropVolumes(made);
      }
    }
  }

  /**
   * The container's mounts: `opts.volumes` with named volumes created when missing (their
   * source set to the volume's directory), those of `--volumes-from` containers, and an
   * anonymous volume for each of `imageVolumes` and `opts.anonymousVolumes` that nothing else
   * is mounted on (their names pushed to `made`).
   */
  private async resolveVolumes(opts: CreateOptions, imageVolumes: string[], made: string[]): Promise<VolumeSpec[]> {
    const out: VolumeSpec[] = [];
    const vs = await this.volumes();
    for (const v of opts.volumes ?? []) {
      if (v.volume === undefined) {
        out.push(v);
        continue;
      }
      const driver = v.create?.driver || opts.volumeDriver;
      checkDriver(driver);
      await vs.create({ name: v.volume, ...(v.create?.labels ? { labels: v.create.labels } : {}), ...(v.create?.options ? { options: v.create.options } : {}) });
      out.push({ ...v, source: vs.dataPath(v.volume) });
    }
    for (const from of opts.volumesFrom ?? []) {
      const m = /^(.*?)(?::(ro|rw))?$/.exec(from)!;
      const other = await this.inspect(m[1]);
      for (const v of other.config.volumes) {
        if (out.some((o) => o.target === v.target)) continue;
        out.push({ ...v, ...(m[2] ? { readonly: m[2] === 'ro' } : {}), anonymous: false, origin: 'volumes-from' });
      }
    }
    const taken = new Set([...out.map((v) => path.posix.normalize(v.target)), ...(opts.settings?.mounts ?? []).map((m) => path.posix.normalize(m.target))]);
    for (const target of [...imageVolumes, ...(opts.anonymousVolumes ?? [])]) {
      const t = path.posix.normalize(target);
      if (taken.has(t)) continue;
      taken.add(t);
      checkDriver(opts.volumeDriver);
      const rec = await vs.create({ labels: { [ANONYMOUS_LABEL]: '' } });
      made.push(rec.name);
      out.push({ source: vs.dataPath(rec.name), target: t, readonly: false, volume: rec.name, anonymous: true, origin: 'anonymous' });
    }
    return out;
  }

  private async dropVolumes(names: string[]): Promise<void> {
    const vs = await this.volumes();
    for (const n of names) await vs.remove(n).catch(() => undefined);
  }

  /** Creates the rootfs snapshot `container-<id>` on the image's chain (extracting missing layers). */
  private async prepareRootfs(c: ContainerConfigRecord): Promise<Mount[]> {
    const sn = await this.snapshotter();
    const layers = c.layers.map((l) => layerSource(this.images.content, l));
    return onChain(() => ensureLayerChain(sn, layers), (parent) => sn.prepare(snapshotKey(c.id), parent || undefined, { persistent: true }));
  }

  private async rootfsMounts(c: ContainerConfigRecord): Promise<Mount[]> {
    const sn = await this.snapshotter();
    try {
      return await sn.mounts(snapshotKey(c.id));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return this.prepareRootfs(c); // lost to a snapshot cleanup: start from the image again
    }
  }

  private async reserveName(name: string, id: string): Promise<void> {
    const file = path.join(this.namesDir, name);
    for (let i = 0; i < 2; i++) {
      try {
        await writeFile(file, id, { flag: 'wx' });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = (await readFile(file, 'utf8').catch(() => '')).trim();
      if (owner && (await exists(path.join(this.cdir(owner), 'config.json')))) {
        throw new AlreadyExistsError(`Conflict. The container name "/${name}" is already in use by container "${owner}"`, {
          hint: `remove (or rename) that container to reuse the name: mybuild rm ${name}`,
        });
      }
      await unlink(file).catch(() => undefined); // a crashed create left it
    }
    throw new AlreadyExistsError(`Conflict. The container name "/${name}" is being taken by another process`);
  }

  private async releaseName(name: string, id: string): Promise<void> {
    const file = path.join(this.namesDir, name);
    const owner = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (owner === id) await unlink(file).catch(() => undefined);
  }

  /**
   * The full ID of the container named by `ref`: a full ID, a name (with or without "/"), or a
   * unique ID prefix. Throws NotFoundError (`No such container: ref`), BuildError
   * INVALID_ARGUMENT when a prefix matches several containers.
   */
  async resolveId(ref: string): Promise<string> {
    if (ID_RE.test(ref) && (await exists(path.join(this.cdir(ref), 'config.json')))) return ref;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    if (name !== '' && !name.includes('/') && name !== '.' && name !== '..') {
      const owner = (await readFile(path.join(this.namesDir, name), 'utf8').catch(() => '')).trim();
      if (ID_RE.test(owner) && (await exists(path.join(this.cdir(owner), 'config.json')))) return owner;
    }
    if (/^[0-9a-f]+$/.test(ref)) {
      const hits = (await this.ids()).filter((id) => id.startsWith(ref));
      if (hits.length > 1) throw new BuildError('INVALID_ARGUMENT', `multiple containers found with provided prefix: ${ref}`, { hint: 'give more digits of the container ID' });
      if (hits.length === 1) return hits[0];
    }
    throw new NotFoundError(`No such container: ${ref}`, { hint: 'run "mybuild ps -a" to list the containers' });
  }

  private async ids(): Promise<string[]> {
    const out: string[] = [];
    for (const e of await readdir(this.dir).catch(() => [] as string[])) {
      if (ID_RE.test(e) && (await exists(path.join(this.cdir(e), 'config.json')))) out.push(e);
    }
    return out;
  }

  /** Config and effective state of a container (see the module comment). NotFoundError when unknown. */
  async inspect(ref: string): Promise<Container> {
    const id = await this.resolveId(ref);
    const config = JSON.parse(await readFile(path.join(this.cdir(id), 'config.json'), 'utf8')) as ContainerConfigRecord;
    return { id, name: config.name, config, state: await this.effectiveState(id) };
  }

  /** Containers, newest first: running ones, or all with `{ all: true }`. */
  async list(opts: { all?: boolean } = {}): Promise<Container[]> {
    const out: Container[] = [];
    for (const id of await this.ids()) {
      try {
        const c = await this.inspect(id);
        if (opts.all || c.state.status === 'running') out.push(c);
      } catch (err) {
        if (!isNotFound(err) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed meanwhile
      }
    }
    return out.sort((a, b) => (a.config.created < b.config.created ? 1 : a.config.created > b.config.created ? -1 : 0));
  }

  private async readState(id: string): Promise<ContainerState> {
    try {
      return JSON.parse(await readFile(path.join(this.cdir(id), 'state.json'), 'utf8')) as ContainerState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'created' };
      throw err;
    }
  }

  private async effectiveState(id: string): Promise<ContainerState> {
    const s = await this.readState(id);
    if (s.status !== 'running') return s;
    const owner = await readOwner(path.join(this.cdir(id), 'owner'));
    if (owner && ownerAlive(owner)) return s;
    // Recheck: the owner may have finished between the two reads.
    const again = await this.readState(id);
    if (again.status !== 'running') return again;
    if (await this.runtimeLists(id)) return again;
    return { ...again, status: 'exited', exitCode: 255, finishedAt: again.finishedAt ?? again.startedAt, error: `the process that ran it (pid ${again.ownerPid ?? '?'}) is gone` };
  }

  /** Whether a live process owns the container (starting or running it). */
  async ownerAlive(id: string): Promise<boolean> {
    const o = await readOwner(path.join(this.cdir(id), 'owner'));
    return o !== undefined && ownerAlive(o);
  }

  /** Whether the runtime lists the container's runc container as running (or being created or paused). */
  private async runtimeLists(id: string): Promise<boolean> {
    const state = runcStateDir(path.join(this.cdir(id), 'runtime'));
    if ((await readdir(state).catch(() => [] as string[])).length === 0) return false;
    let bin: string;
    try {
      bin = await resolveRuntime(this.runtime);
    } catch {
      return false;
    }
    const r = await execCapture(bin, ['--root', state, 'list', '--format', 'json']);
    if (r.code !== 0) return false;
    try {
      const list = JSON.parse(r.stdout.toString('utf8') || 'null') as { status?: string }[] | null;
      return (list ?? []).some((c) => c.status === 'running' || c.status === 'created' || c.status === 'paused' || c.status === 'creating');
    } catch {
      return false;
    }
  }

  /**
   * Reconciles what a dead owner left (the daemon calls it when it starts): a container whose
   * state says running while its owner is gone stays `running` when the runtime still runs it;
   * otherwise its runtime leftovers (runc state, rootfs mount, bundle) are removed and its state
   * becomes `exited` (code 255: the real one is unknown). Returns the IDs it changed.
   */
  async reconcile(): Promise<string[]> {
    const changed: string[] = [];
    for (const id of await this.ids()) {
      const s = await this.readState(id).catch(() => undefined);
      if (s?.status !== 'running') continue;
      const eff = await this.effectiveState(id);
      if (eff.status === 'running') continue;
      await cleanupStale(path.join(this.cdir(id), 'runtime'), this.runtime, [this.cdir(id)]);
      await this.writeState(id, eff);
      changed.push(id);
    }
    return changed;
  }

  /** Writes state.json atomically; a container removed meanwhile is ignored. */
  private async writeState(id: string, s: ContainerState): Promise<void> {
    try {
      await writeFileAtomic(path.join(this.cdir(id), 'state.json'), JSON.stringify(s), this.cdir(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await exists(this.cdir(id)))) return;
      throw err;
    }
  }

  /**
   * Runs the container in this process and resolves when it exits (non-zero is not an error),
   * after its state is `exited` (and, with `autoRemove`, after it is removed). Output goes to
   * the log and to `io.stdout`/`io.stderr` (with a tty, all of it arrives on stdout).
   * Throws BuildError INVALID_ARGUMENT when it is already running, BuildError RUNTIME when the
   * runtime cannot start it (the state then records exit code 127 for a missing executable,
   * 126 for one that cannot be run, 125 otherwise, and the error), NotFoundError when unknown.
   */
  start(ref: string, io: StartIO = {}): Promise<ExitInfo> {
    const p = this.startInner(ref, io);
    void this.resolveId(ref).then(
      (id) => {
        this.inflight.set(id, p);
        void p.catch(() => undefined).finally(() => {
          if (this.inflight.get(id) === p) this.inflight.delete(id);
        });
      },
      () => undefined,
    );
    return p;
  }

  private async startInner(ref: string, io: StartIO): Promise<ExitInfo> {
    const c = await this.inspect(ref);
    const { id, config } = c;
    if (c.state.status === 'running') throw new BuildError('INVALID_ARGUMENT', `container ${c.name} is already running`);
    const ownerFile = path.join(this.cdir(id), 'owner');
    await claimOwner(ownerFile, c.name);
    const startedAt = new Date().toISOString();
    let log: LogWriter | undefined;
    let exit: ExitInfo | undefined;
    let failure: unknown;
    let idle: PassThrough | undefined;
    let stateError: string | undefined;
    try {
      await resolveRuntime(this.runtime);
      // What an owner that died while running it left (runc container, mounts, bundle).
      await cleanupStale(path.join(this.cdir(id), 'runtime'), this.runtime, [this.cdir(id)]);
      await this.writeState(id, { status: 'running', ownerPid: process.pid, startedAt, ...(this.tied ? { tied: true } : {}) });
      const mounts = await this.rootfsMounts(config);
      const settings = config.settings ?? {};
      for (const v of config.volumes) if (v.volume) await (await this.volumes()).mount(v.volume);
      const user = await this.resolveUserIn(id, mounts, config.user, settings.groupAdd, config.volumes);
      const env = [...config.env];
      if (!env.some((e) => e.startsWith('HOSTNAME='))) env.unshift(`HOSTNAME=${config.hostname}`);
      if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home || '/root'}`);
      log = newLogWriter(path.join(this.cdir(id), 'log.jsonl'), settings.logConfig);
      idle = new PassThrough();
      const executor = new RuncExecutor({ root: path.join(this.cdir(id), 'runtime'), runtime: this.runtime, tied: this.tied });
      const onAbort = (): void => void this.kill(id, 'KILL').catch(() => undefined);
      io.signal?.addEventListener('abort', onAbort, { once: true });
      if (io.signal?.aborted) onAbort();
      try {
        const st = await executor.run(
          {
            args: withInit(settings, config.command),
            env,
            cwd: config.workdir,
            user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
            hostname: config.hostname,
            network: config.network,
            ...(config.publish?.length && config.network !== 'bridge' ? { publish: config.publish } : {}),
            ...(config.network === 'bridge' && this.attachNetworks ? { attachNetworks: this.attachNetworks(config) } : {}),
            mounts: [
              ...config.volumes.map((v) => ({ type: 'bind', source: v.source, target: v.target, options: ['rbind', v.readonly ? 'ro' : 'rw'] })),
              ...extraMounts(settings, settings.init ? await initBinary() : undefined),
            ],
            ...(config.settings ? { container: toRunSettings(settings, id), ...execSpecFields(settings), privileged: settings.privileged === true } : {}),
            // A tty without -i still gets an open (idle) stdin: script(1) would otherwise read
            // EOF at once and echo it into the terminal as "^@".
            stdin: config.openStdin ? io.stdin : config.tty ? idle : undefined,
            stdout: tee(log, 'stdout', io.stdout),
            stderr: tee(log, 'stderr', config.tty ? io.stdout : io.stderr),
            tty: config.tty,
            ...(io.terminal ? { terminal: io.terminal } : {}),
          },
          mounts,
        );
        exit = { exitCode: st.exitCode };
      } finally {
        io.signal?.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      failure = err;
      const msg = err instanceof Error ? err.message : String(err);
      stateError = msg;
      exit = { exitCode: /executable file not found|no such file or directory/i.test(msg) ? 127 : /permission denied/i.test(msg) ? 126 : 125 };
    } finally {
      idle?.end();
      await log?.close();
      await this.releaseVolumes(id, config.volumes).catch(() => undefined);
      await this.writeState(id, { status: 'exited', exitCode: exit?.exitCode ?? 125, startedAt, finishedAt: new Date().toISOString(), ...(stateError ? { error: stateError } : {}) });
      await unlink(ownerFile).catch(() => undefined);
    }
    if (config.autoRemove) await this.remove(id, { force: true, volumes: true }).catch(() => undefined);
    if (failure !== undefined) throw failure;
    return exit!;
  }

  /** Unmounts the device of each volume of `volumes` that no other running container mounts. */
  private async releaseVolumes(id: string, volumes: VolumeSpec[]): Promise<void> {
    const vs = await this.volumes();
    for (const v of volumes) {
      if (!v.volume || !(await vs.get(v.volume).catch(() => undefined))?.options) continue;
      const users = await this.volumeUsers(v.volume);
      let busy = false;
      for (const u of users) if (u !== id && (await this.effectiveState(u)).status === 'running') busy = true;
      if (!busy) await vs.unmount(v.volume);
    }
  }

  /**
   * Resolves `spec` through the rootfs' /etc/passwd (mounted briefly at `<id>/probe-*`); copies
   * the image's content into the empty named volumes of `volumes` meanwhile (dockerd's copy-up).
   */
  private async resolveUserIn(id: string, mounts: Mount[], spec: string, groupAdd: string[] = [], volumes: VolumeSpec[] = []): Promise<{ uid: number; gid: number; additionalGids: number[]; home?: string }> {
    const dir = await mkdtemp(path.join(this.cdir(id), 'probe-'));
    try {
      await mountAll(mounts, dir);
      for (const v of volumes) if (v.volume && !v.nocopy) await (await this.volumes()).copyUp(v.volume, dir, v.target);
      const u = await resolveUser(dir, spec || '0');
      if (groupAdd.length) u.additionalGids = [...new Set([...u.additionalGids, ...(await resolveGroups(dir, groupAdd))])];
      return u;
    } finally {
      await unmountAll(dir);
      await rmdir(dir).catch(() => undefined);
    }
  }

  /**
   * Resolves once the container is not running (immediately for a created or exited one), with
   * its exit code (0 when it never ran). Works for containers run by other processes (polls
   * their state). NotFoundError when unknown; a container removed while waiting resolves with
   * the last known code.
   */
  async wait(ref: string, opts: { signal?: AbortSignal } = {}): Promise<ExitInfo> {
    const id = await this.resolveId(ref);
    const own = this.inflight.get(id);
    if (own) {
      const r = await own.catch(() => undefined);
      if (r) return r;
    }
    let last = 0;
    for (;;) {
      let s: ContainerState;
      try {
        s = await this.effectiveState(id);
      } catch {
        return { exitCode: last };
      }
      if (!(await exists(this.cdir(id)))) return { exitCode: last };
      if (s.status !== 'running') return { exitCode: s.exitCode ?? 0 };
      last = s.exitCode ?? last;
      if (opts.signal?.aborted) throw new BuildError('CANCELED', 'canceled');
      await sleep(100);
    }
  }

  /**
   * Sends `signal` (name with or without SIG, or number; default KILL) to the container's main
   * process through the runtime. Throws BuildError INVALID_ARGUMENT when it is not running or
   * the signal is unknown, NotFoundError when the container is unknown, RUNTIME when the
   * runtime fails.
   */
  async kill(ref: string, signal: string | number = 'KILL'): Promise<void> {
    const sig = normalizeSignal(signal);
    const c = await this.inspect(ref);
    if (c.state.status !== 'running') throw new BuildError('INVALID_ARGUMENT', `cannot kill container ${c.name}: container ${c.id} is not running`);
    const bin = await resolveRuntime(this.runtime);
    const state = runcStateDir(path.join(this.cdir(c.id), 'runtime'));
    const deadline = Date.now() + RUNNING_GRACE_MS;
    for (;;) {
      const list = await execCapture(bin, ['--root', state, 'list', '-q']);
      const rid = list.code === 0 ? list.stdout.toString('utf8').split('\n').map((s) => s.trim()).find((s) => s !== '') : undefined;
      if (rid) {
        const r = await execCapture(bin, ['--root', state, 'kill', rid, sig]);
        if (r.code === 0) return;
        if (!/not running|does not exist|container not running/i.test(r.stderr)) throw new BuildError('RUNTIME', `cannot kill container ${c.name}: ${r.stderr.trim()}`);
      }
      // Not created by the runtime yet (just started) or already gone.
      if ((await this.effectiveState(c.id)).status !== 'running') return;
      if (Date.now() > deadline) throw new BuildError('RUNTIME', `cannot kill container ${c.name}: the runtime does not list it`);
      await sleep(50);
    }
  }

  /**
   * Stops a running container: its StopSignal (default SIGTERM), then SIGKILL after
   * `timeoutSec` (default 10). Resolves with its exit code once it is not running; idempotent
   * for a container that is not running.
   */
  async stop(ref: string, opts: { timeoutSec?: number; signal?: string } = {}): Promise<ExitInfo> {
    const c = await this.inspect(ref);
    if (c.state.status !== 'running') return { exitCode: c.state.exitCode ?? 0 };
    const ac = new AbortController();
    const waiting = this.wait(c.id, { signal: ac.signal });
    await this.kill(c.id, opts.signal ?? c.config.stopSignal ?? 'TERM').catch(ignoreNotRunning);
    const timeoutMs = Math.max(0, (opts.timeoutSec ?? c.config.settings?.stopTimeout ?? 10) * 1000);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const first = await Promise.race([waiting, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    await this.kill(c.id, 'KILL').catch(ignoreNotRunning);
    return waiting;
  }

  /**
   * Removes a container: its runtime leftovers, rootfs snapshot, name, log and records.
   * A running one needs `force` (it is killed first and its end awaited). Throws BuildError
   * INVALID_ARGUMENT (running without force), NotFoundError (unknown).
   */
  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = await this.inspect(ref);
    if (c.state.status === 'running') {
      if (!opts.force) {
        throw new BuildError('INVALID_ARGUMENT', `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`, { hint: `mybuild stop ${c.name}, or mybuild rm -f ${c.name}` });
      }
      await this.kill(c.id, 'KILL').catch(ignoreNotRunning);
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), 15_000);
      await this.wait(c.id, { signal: ac.signal }).catch(() => undefined);
      clearTimeout(t);
    }
    const cdir = this.cdir(c.id);
    // What a dead owner left: runc container, rootfs mount, bundle, the user probe mount.
    await cleanupStale(path.join(cdir, 'runtime'), this.runtime, [cdir]);
    const sn = await this.snapshotter();
    await sn.remove(snapshotKey(c.id)).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    await this.releaseName(c.name, c.id);
    await rm(cdir, { recursive: true, force: true });
    if (opts.volumes) {
      // Its anonymous volumes, unless a --volumes-from container still mounts one.
      for (const v of c.config.volumes) if (v.anonymous && v.volume && (await this.volumeUsers(v.volume)).length === 0) await (await this.volumes()).remove(v.volume).catch(() => undefined);
    }
  }

  /**
   * Renames a container (Docker's rules; the new name reserved before the old one is released).
   * Throws AlreadyExistsError (name in use), BuildError INVALID_ARGUMENT (bad name), NotFoundError.
   */
  async rename(ref: string, newName: string): Promise<void> {
    const c = await this.inspect(ref);
    const name = validateName(newName.replace(/^\//, ''));
    if (name === c.name) throw new BuildError('INVALID_ARGUMENT', `Renaming a container with the same name as its current name`);
    await this.reserveName(name, c.id);
    const file = path.join(this.cdir(c.id), 'config.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as ContainerConfigRecord;
    record.name = name;
    await writeFileAtomic(file, JSON.stringify(record, null, 2), this.cdir(c.id));
    await this.releaseName(c.name, c.id);
  }

  /** Replaces the recorded settings of a container (POST /containers/{id}/update); applied from its next start. */
  async updateSettings(ref: string, settings: ContainerSettings): Promise<void> {
    const c = await this.inspect(ref);
    const file = path.join(this.cdir(c.id), 'config.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as ContainerConfigRecord;
    record.settings = settings;
    await writeFileAtomic(file, JSON.stringify(record, null, 2), this.cdir(c.id));
  }

  /**
   * The runtime binary, its state root and the runtime's container ID of a running container
   * (for `runc exec`, `runc ps`). Throws BuildError INVALID_ARGUMENT when it is not running.
   */
  async runtimeHandle(ref: string): Promise<{ bin: string; stateRoot: string; runtimeId: string; container: Container }> {
    const c = await this.inspect(ref);
    if (c.state.status !== 'running') throw new BuildError('INVALID_ARGUMENT', `Container ${c.id} is not running`);
    const bin = await resolveRuntime(this.runtime);
    const stateRoot = runcStateDir(path.join(this.cdir(c.id), 'runtime'));
    for (let i = 0; i < 60; i++) {
      const list = await execCapture(bin, ['--root', stateRoot, 'list', '-q']);
      const rid = list.code === 0 ? list.stdout.toString('utf8').split('\n').map((x) => x.trim()).find((x) => x !== '') : undefined;
      if (rid) return { bin, stateRoot, runtimeId: rid, container: c };
      if ((await this.effectiveState(c.id)).status !== 'running') break;
      await sleep(50);
    }
    throw new BuildError('INVALID_ARGUMENT', `Container ${c.id} is not running`);
  }

  /**
   * The container's filesystem changes against its image, as dockerd's GET /changes lists them:
   * `kind` 0 modified, 1 added, 2 deleted; paths absolute, parents of changed paths included.
   */
  async changes(ref: string): Promise<{ path: string; kind: 0 | 1 | 2 }[]> {
    const c = await this.inspect(ref);
    const sn = await this.snapshotter();
    const mounts = await this.rootfsMounts(c.config);
    const lowers = mounts.flatMap((m) => m.options.filter((o) => o.startsWith('lowerdir=')).flatMap((o) => o.slice('lowerdir='.length).split(':')));
    const inImage = async (rel: string): Promise<boolean> => {
      for (const l of lowers) if (await lstat(path.join(l, rel)).then(() => true, () => false)) return true;
      return false;
    };
    const out: { path: string; kind: 0 | 1 | 2 }[] = [];
    for (const e of await diffSnapshot(sn, snapshotKey(c.id))) {
      const base = path.posix.basename(e.path);
      if (base === '.wh..wh..opq') continue;
      if (base.startsWith('.wh.')) {
        out.push({ path: `/${path.posix.join(path.posix.dirname(e.path), base.slice(4))}`, kind: 2 });
        continue;
      }
      out.push({ path: `/${e.path}`, kind: lowers.length && !(await inImage(e.path)) ? 1 : 0 });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The container's filesystem changes as layer entries (whiteouts included), for a commit. */
  async diffEntries(ref: string): Promise<Awaited<ReturnType<typeof diffSnapshot>>> {
    const c = await this.inspect(ref);
    return diffSnapshot(await this.snapshotter(), snapshotKey(c.id));
  }

  /** Bytes of file content the container wrote into its rootfs (dockerd's SizeRw). */
  async rwSize(ref: string): Promise<number> {
    const c = await this.inspect(ref);
    const entries = await diffSnapshot(await this.snapshotter(), snapshotKey(c.id)).catch(() => []);
    return entries.reduce((n, e) => n + e.size, 0);
  }

  /** The mounts of the container's rootfs (its snapshot), for reading or writing files while it is stopped or running. */
  async rootfsMountsOf(ref: string): Promise<Mount[]> {
    const c = await this.inspect(ref);
    return this.rootfsMounts(c.config);
  }

  /**
   * Writes the container's output to `stdout`/`stderr` (a tty container's all to stdout), each
   * record's text prefixed with its RFC 3339 time when `timestamps`. With `follow`, keeps
   * writing new output until the container is no longer running (or `signal` aborts).
   * `tail`: only the last N lines. The streams are not ended. NotFoundError when unknown.
   */
  async logs(ref: string, opts: { stdout?: Writable; stderr?: Writable; follow?: boolean; timestamps?: boolean; tail?: number; signal?: AbortSignal; since?: number; until?: number }): Promise<void> {
    const id = await this.resolveId(ref);
    const file = path.join(this.cdir(id), 'log.jsonl');
    const lc = (await this.inspect(id)).config.settings?.logConfig;
    if (lc?.type === 'none') throw new BuildError('INVALID_ARGUMENT', 'configured logging driver does not support reading', { hint: 'the container was created with the none log driver' });
    let offset = 0;
    let first = true;
    // Rotated files first (json-file max-size), whole.
    const older: { log: string; stream: LogStream; time: string }[] = [];
    for (const f of logFiles(file, Number(lc?.config['max-file'] ?? 1)).slice(0, -1)) {
      for (let o = 0; ; ) {
        const r = await readLogRecords(f, o);
        if (r.offset === o) break;
        o = r.offset;
        older.push(...r.records);
      }
    }
    // since/until: Unix times in seconds (dockerd skips records before since and stops after until).
    const inWindow = (r: { time: string }): boolean => {
      const t = Date.parse(r.time) / 1000;
      return (opts.since === undefined || t >= opts.since) && (opts.until === undefined || t <= opts.until);
    };
    const emit = async (all: { log: string; stream: LogStream; time: string }[]): Promise<void> => {
      const recs = opts.since !== undefined || opts.until !== undefined ? all.filter(inWindow) : all;
      for (const r of recs) {
        const dest = r.stream === 'stderr' ? opts.stderr : opts.stdout;
        if (!dest) continue;
        const text = opts.timestamps ? `${r.time} ${r.log}` : r.log;
        if (!dest.write(text)) await new Promise<void>((resolve) => dest.once('drain', resolve));
      }
    };
    for (;;) {
      const running = (await this.effectiveState(id).catch(() => ({ status: 'exited' }) as ContainerState)).status === 'running';
      for (;;) {
        const r = await readLogRecords(file, offset);
        if (r.offset === offset) {
          // Rotated meanwhile: the new file is shorter than what was read of the old one.
          const size = await stat(file).then((st) => st.size, () => offset);
          if (size < offset) {
            offset = 0;
            continue;
          }
          break;
        }
        offset = r.offset;
        let recs = first ? [...older.splice(0), ...r.records] : r.records;
        if (first && opts.tail !== undefined) recs = recs.slice(Math.max(0, recs.length - opts.tail));
        first = false;
        await emit(recs);
      }
      if (first && older.length) await emit(opts.tail !== undefined ? older.slice(Math.max(0, older.length - opts.tail)) : older);
      first = false;
      if (!opts.follow || !running || opts.signal?.aborted || !(await exists(this.cdir(id)))) return;
      if (opts.until !== undefined && Date.now() / 1000 > opts.until) return;
      await sleep(100);
    }
  }
}

function snapshotKey(id: string): string {
  return `container-${id}`;
}

function ignoreNotRunning(err: unknown): void {
  if (hasCode(err, 'INVALID_ARGUMENT') && /not running/.test(err.message)) return;
  throw err;
}

/** Image env overridden by key with `extra` (`KEY=value` each). */
function mergeEnv(base: string[], extra: string[]): string[] {
  const out = [...base];
  for (const e of extra) {
    const eq = e.indexOf('=');
    if (eq <= 0) throw new BuildError('INVALID_ARGUMENT', `invalid environment entry "${e}": expected KEY=value`);
    const key = e.slice(0, eq);
    const i = out.findIndex((o) => o.split('=', 1)[0] === key);
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

async function checkVolumes(vols: VolumeSpec[]): Promise<VolumeSpec[]> {
  const out: VolumeSpec[] = [];
  for (const v of vols) {
    if (!path.isAbsolute(v.source)) {
      throw new BuildError('INVALID_ARGUMENT', `invalid volume source "${v.source}": expected an absolute host path (named volumes are not supported)`, { hint: 'use -v /abs/host/path:/path/in/container[:ro]' });
    }
    if (!path.posix.isAbsolute(v.target) || path.posix.normalize(v.target) === '/') {
      throw new BuildError('INVALID_ARGUMENT', `invalid volume destination "${v.target}": expected an absolute path other than /`, { hint: 'use -v /abs/host/path:/path/in/container[:ro]' });
    }
    try {
      await stat(v.source);
    } catch {
      throw new BuildError('INVALID_ARGUMENT', `invalid volume source "${v.source}": no such file or directory on the host`, { hint: 'create it first (mybuild does not create bind sources)' });
    }
    out.push({ ...v, source: path.resolve(v.source), target: path.posix.normalize(v.target) });
  }
  return out;
}

/**
 * `KILL`-style name of `signal` (`SIGTERM`, `TERM`, `term`, `15`). Throws BuildError
 * INVALID_ARGUMENT for an unknown one.
 */
export function normalizeSignal(signal: string | number): string {
  const sigs = osConstants.signals as Record<string, number>;
  if (typeof signal === 'number' || /^\d+$/.test(signal)) {
    const n = Number(signal);
    const name = Object.keys(sigs).find((k) => sigs[k] === n);
    if (!name) throw new BuildError('INVALID_ARGUMENT', `invalid signal: ${signal}`);
    return name.slice(3);
  }
  const up = signal.toUpperCase();
  const name = up.startsWith('SIG') ? up : `SIG${up}`;
  if (!(name in sigs)) throw new BuildError('INVALID_ARGUMENT', `invalid signal: ${signal}`, { hint: 'use a name like TERM, KILL, HUP, INT, USR1 or a number' });
  return name.slice(3);
}

/** A Writable that logs `stream` and forwards to `dest` (honouring its backpressure). */
function tee(log: LogWriter, stream: LogStream, dest: Writable | undefined): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      log.write(stream, chunk);
      if (!dest || dest.destroyed) return cb();
      if (dest.write(chunk)) cb();
      else dest.once('drain', () => cb());
    },
  });
}

interface Owner {
  pid: number;
  start: string;
}


function ownerAlive(o: Owner): boolean {
  const now = processStartTimeSync(o.pid);
  return now !== undefined && now === o.start;
}

async function readOwner(file: string): Promise<Owner | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const [pid, start] = text.trim().split(' ');
  return pid && start ? { pid: Number(pid), start } : undefined;
}

/** Creates the owner file exclusively; a dead owner's file is taken over. */
async function claimOwner(file: string, name: string): Promise<void> {
  const me = `${process.pid} ${processStartTimeSync(process.pid) ?? '0'}`;
  for (let i = 0; i < 2; i++) {
    try {
      await writeFile(file, me, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const o = await readOwner(file);
    if (o && ownerAlive(o)) throw new BuildError('INVALID_ARGUMENT', `container ${name} is already running (in process ${o.pid})`);
    // Take the dead owner's place: rename a unique name over it would race; unlink and retry.
    const stale = `${file}.stale-${randomBytes(4).toString('hex')}`;
    await rename(file, stale).catch(() => undefined);
    await unlink(stale).catch(() => undefined);
  }
  throw new BuildError('INVALID_ARGUMENT', `container ${name} is being started by another process`);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `image` resolved for `platform` (undefined: the host's entry, as before). With a platform the
 * image's config must be for it (docker's "does not match the specified platform") and the host
 * must be able to run it (natively or through a registered binfmt_misc emulator).
 */
async function resolveForPlatform(images: ImageStore, image: string, platform: string | undefined): Promise<ResolvedImage> {
  if (platform === undefined) return images.resolve(image);
  const want = parsePlatform(platform);
  const img = await images.resolve(image, want);
  const have = { os: img.config.os ?? '', architecture: img.config.architecture ?? '', ...(img.config.variant ? { variant: img.config.variant } : {}) };
  if (img.config.architecture && !platformMatches(want, have)) {
    throw new BuildError('INVALID_ARGUMENT', `image with reference ${image} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`, { hint: `run it without --platform, or pull the ${formatPlatform(want)} image` });
  }
  if (!hostCanRun(want)) {
    const emulator = emulatorName(want);
    throw new BuildError('INVALID_ARGUMENT', `${image} is for ${formatPlatform(want)}, which this host (${formatPlatform(hostPlatform())}) cannot run: ${emulator ? `no binfmt_misc emulator ${emulator} is registered` : `QEMU has no user emulator for ${want.architecture}`}`, {
      hint: emulator ? `install qemu-user-static and register it (scripts/install-system-deps.sh, or update-binfmts --enable ${emulator})` : undefined,
    });
  }
  return img;
}

/** The log writer for a run: json-file (rotated by max-size/max-file), or nothing kept for `none`. */
function newLogWriter(file: string, lc: ContainerSettings['logConfig']): LogWriter {
  if (lc?.type === 'none') return new LogWriter('/dev/null');
  const maxSize = lc?.config['max-size'];
  if (!maxSize) return new LogWriter(file);
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)/i.exec(maxSize.trim());
  const bytes = m ? Math.floor(Number(m[1]) * 1024 ** ' kmgtp'.indexOf(m[2].toLowerCase() || ' ')) : 0;
  return bytes > 0 ? new LogWriter(file, { maxSize: bytes, maxFiles: Math.max(1, Number(lc.config['max-file'] ?? 1)) }) : new LogWriter(file);
}
