/**
 * LocalEngine: the Engine over the store at `root`, the container manager and the builder in
 * this process — `mybuild` without -H, and what the daemon's routes run on.
 */
import { distributable, LayerVariants, pushDistributable } from '../store/layer-variants.js';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { containerFilterFacts, containerSummary, wholeSeconds } from '../api/containers.js';
import { filterContainers, filterImages, type Filters } from '../api/filters.js';
import { type BuildResult } from '../builder/session.js';
import { build } from '../builder/build.js';
import type { BuildOptions } from '../builder/options.js';
import { inspectObject } from '../api/image-inspect.js';
import { packageVersion } from '../api/version.js';
import { ContainerManager, type CreateOptions } from '../containers/manager.js';
import { AlreadyExistsError, InternalError } from '../errors.js';
import { exportDockerArchive } from '../image/formats/docker-archive.js';
import { importArchive } from '../image/formats/import.js';
import { exportOciLayout } from '../image/formats/oci-layout.js';
import type { Reference } from '../oci/reference.js';
import { parseReference } from '../image/reference.js';
import type { Descriptor } from '../oci/types.js';
import { BlobSources } from '../registry/blob-sources.js';
import type { ClientOptions } from '../registry/client.js';
import { pull, type TransferProgress } from '../registry/pull.js';
import { formatPlatform } from '../oci/platform.js';
import { runtimeFacts } from '../runtime/facts.js';
import { push } from '../registry/push.js';
import { insecureRegistriesFromEnv } from '../registry/transport.js';
import { ImageStore, imageContentSize, normalizedName } from '../store/image-store.js';
import { splitName } from '../store/display.js';
import type { BuildHooks, ContainerService, ContainerSummary, Engine, ImageDeleteItem, ImageRow, ImageService, LogOptions, PullResult, PushResult, RunIO, TransferOptions } from './engine.js';
import { storeLayout } from '../store/layout.js';

const short = (d: string): string => d.slice('sha256:'.length, 'sha256:'.length + 12);

/** An image ID or ID prefix as `save` takes it (saved without a name). */
const IMAGE_ID = /^(sha256:)?[0-9a-f]{6,64}$/;

export interface LocalEngineOptions {
  /** Store root. */
  root: string;
  env: NodeJS.ProcessEnv;
  /** An open store (the daemon's); else opened at `root` on first use. */
  images?: ImageStore;
  /** The container manager to use (the daemon's); else opened at `root` on first use. */
  manager?: () => Promise<ContainerManager>;
  /** OCI runtime binary (default runc). */
  runtime?: string;
}

export class LocalEngine implements Engine {
  readonly images: ImageService;
  readonly containers: ContainerService;
  private storeP?: Promise<ImageStore>;
  private managerP?: Promise<ContainerManager>;

  /** Daemonless, a container is a child of this process. */
  readonly detaches = false;
  readonly buildEvents = true;

  constructor(readonly options: LocalEngineOptions) {
    if (options.images) this.storeP = Promise.resolve(options.images);
    this.images = new LocalImages(() => this.store(), options);
    this.containers = new LocalContainers(() => this.manager(), async () => (await this.images.list()).images);
  }

  build(options: BuildOptions, hooks: BuildHooks): Promise<BuildResult> {
    return build({ ...options, root: this.options.root }, { onEvent: hooks.onEvent, signal: hooks.signal });
  }

  async serverVersion(): Promise<undefined> {
    return undefined;
  }

  async info(): Promise<Record<string, unknown>> {
    const { images } = await (await this.store()).listImages();
    const facts = await runtimeFacts(storeLayout(this.options.root).snapshots);
    return {
      Images: new Set(images.map((s) => s.image.configDigest)).size,
      DockerRootDir: this.options.root,
      ServerVersion: `${packageVersion()} (in-process)`,
      Driver: facts.snapshotter,
      Rootless: facts.rootless ? `true${facts.mappedIds !== undefined ? ` (${facts.mappedIds} ids mapped)` : ''}` : false,
      DefaultNetwork: facts.network,
    };
  }

  store(): Promise<ImageStore> {
    this.storeP ??= ImageStore.open(this.options.root);
    return this.storeP;
  }

  manager(): Promise<ContainerManager> {
    if (this.options.manager) return this.options.manager();
    this.managerP ??= this.store().then((images) => ContainerManager.open(this.options.root, { images, runtime: this.options.runtime }));
    return this.managerP;
  }
}

class LocalImages implements ImageService {
  constructor(
    private readonly store: () => Promise<ImageStore>,
    private readonly options: LocalEngineOptions,
  ) {}

  private transfer(o: TransferOptions): { clientOptions: ClientOptions; sources: BlobSources } {
    return {
      clientOptions: { insecureRegistries: [...(o.insecureRegistries ?? []), ...insecureRegistriesFromEnv(this.options.env)], env: this.options.env, ...(o.credentials ? { credentials: o.credentials } : {}) },
      // The blob-source record kept beside the store (for cross-repository mounts on push).
      sources: new BlobSources(path.join(this.options.root, 'registry-sources.json')),
    };
  }

  async pull(ref: Reference, o: TransferOptions & { platform?: string }): Promise<PullResult> {
    const images = await this.store();
    const before = await images.resolve(ref.toString()).catch(() => null);
    const seen = new Set<string>();
    const onProgress = (e: TransferProgress): void => {
      if (e.kind !== 'layer' || !o.onProgress) return;
      const id = short(e.digest);
      if (!seen.has(id) && e.status !== 'exists') {
        seen.add(id);
        o.onProgress({ status: 'Pulling fs layer', progressDetail: {}, id });
      }
      if (e.status === 'exists') o.onProgress({ status: 'Already exists', progressDetail: {}, id });
      else if (e.status === 'downloading') o.onProgress({ status: 'Downloading', progressDetail: { current: e.current, total: e.total }, id });
      else if (e.status === 'retrying') o.onProgress({ status: 'Retrying', progressDetail: {}, id });
      else if (e.status === 'done') o.onProgress({ status: 'Pull complete', progressDetail: {}, id });
    };
    const r = await pull(ref, images.content, images, { platform: o.platform, onProgress, ...this.transfer(o) });
    return { digest: r.index?.digest ?? r.descriptor.digest, upToDate: before !== null && before.descriptor.digest === r.descriptor.digest };
  }

  async push(ref: Reference, o: TransferOptions): Promise<PushResult> {
    const images = await this.store();
    const image = await images.resolve(ref.toString());
    o.onStart?.();
    const onProgress = (e: TransferProgress): void => {
      if ((e.kind !== 'layer' && e.kind !== 'config') || !o.onProgress) return;
      const id = short(e.digest);
      if (e.status === 'retrying') o.onProgress({ status: 'Retrying', progressDetail: {}, id });
      if (e.kind === 'config') return;
      if (e.status === 'exists') o.onProgress({ status: 'Layer already exists', progressDetail: {}, id });
      else if (e.status === 'mounted') o.onProgress({ status: 'Mounted from another repository', progressDetail: {}, id });
      else if (e.status === 'uploading') o.onProgress({ status: 'Pushing', progressDetail: { current: e.current, total: e.total }, id });
      else if (e.status === 'done') o.onProgress({ status: 'Pushed', progressDetail: {}, id });
    };
    // Uncompressed layers (a build's, a docker archive's) go up gzipped: src/store/layer-variants.ts.
    let size = 0;
    const r = await pushDistributable(images, ref, image.descriptor, { compression: 'gzip' }, false, async (target, d) => {
      size = d.size;
      return push(target, images.content, d, { onProgress, ...this.transfer(o) });
    });
    return { digest: r.digest, size };
  }

  async save(names: string[], o: { format: 'docker' | 'oci'; dest: string | Writable }): Promise<void> {
    const images = await this.store();
    const byDigest = new Map<string, { names: string[]; descriptor: Descriptor }>();
    for (const arg of names) {
      const r = await images.resolve(arg);
      const entry = byDigest.get(r.descriptor.digest) ?? { names: [], descriptor: r.descriptor };
      // A tag is named by the user; an ID is not a name.
      if (!IMAGE_ID.test(arg)) entry.names.push(parseReference(arg).familiar());
      byDigest.set(r.descriptor.digest, entry);
    }
    const list = [...byDigest.values()];
    // An OCI archive gets gzip layers (made once per layer and kept: src/store/layer-variants.ts);
    // a docker archive holds uncompressed layers anyway.
    if (o.format === 'oci') {
      const variants = new LayerVariants(images.root);
      for (const e of list) e.descriptor = await distributable(variants, images.content, e.descriptor, { compression: 'gzip' });
    }
    if (o.format === 'docker') await exportDockerArchive(images.content, list, o.dest);
    else await exportOciLayout(images.content, list.flatMap((e) => (e.names.length ? e.names.map((n) => ({ name: n, descriptor: e.descriptor })) : [{ descriptor: e.descriptor }])), o.dest, { tar: true });
  }

  async load(input: string | Readable): Promise<string[]> {
    const images = await this.store();
    const { images: loaded } = await importArchive(images.content, input);
    const lines: string[] = [];
    for (const img of loaded) {
      if (img.names.length === 0) {
        lines.push(`Loaded image ID: ${img.configDigest}`);
        continue;
      }
      for (const name of img.names) {
        const ref = parseReference(name);
        await images.setRef(ref.toString(), img.manifestDescriptor);
        lines.push(`Loaded image: ${ref.familiar()}`);
      }
    }
    return lines;
  }

  async list(opts: { filters?: Filters } = {}): Promise<{ images: ImageRow[]; warnings: string[] }> {
    const { images, broken, dangling } = await (await this.store()).listImages();
    const row = (s: (typeof images)[number] | (typeof dangling)[number]): ImageRow => ({
      ...('name' in s && s.name !== undefined ? { name: s.name } : {}),
      id: s.image.configDigest,
      digest: s.image.descriptor.digest,
      ...(s.image.config.created !== undefined ? { created: wholeSeconds(s.image.config.created) } : {}),
      size: s.size,
      labels: s.image.config.config?.Labels ?? {},
      ...(s.platforms ? { platforms: s.platforms.map((p) => ({ platform: p.descriptor.platform ? formatPlatform(p.descriptor.platform) : '', digest: p.descriptor.digest, available: p.available, size: p.size, contentSize: p.contentSize })) } : { contentSize: imageContentSize(s.image) }),
    });
    return { images: filterImages([...images.map(row), ...dangling.map(row)], opts.filters ?? {}), warnings: broken.map((b) => `${b.name}: ${b.error.message} (run "mybuild system check")`) };
  }

  async inspect(name: string): Promise<Record<string, unknown>> {
    const store = await this.store();
    const image = await store.resolve(name);
    const { images } = await store.listImages();
    return inspectObject(image, images.filter((s) => s.image.configDigest === image.configDigest).map((s) => s.name), await new LayerVariants(store.root).pushedAs(image.descriptor.digest));
  }

  async tag(source: string, target: string): Promise<void> {
    const store = await this.store();
    const image = await store.resolve(source);
    await store.setRef(target, image.descriptor);
  }

  async remove(arg: string, opts: { force?: boolean }): Promise<ImageDeleteItem[]> {
    const store = await this.store();
    const image = await store.resolve(arg);
    const refs = await store.listRefs();
    const sameImage = async (d: { digest: string }): Promise<boolean> => {
      if (d.digest === image.descriptor.digest) return true;
      try {
        return (await store.resolveDescriptor(refs.find((r) => r.descriptor.digest === d.digest)!.descriptor)).configDigest === image.configDigest;
      } catch {
        return false;
      }
    };
    const tagsOfImage: string[] = [];
    for (const r of refs) if (await sameImage(r.descriptor)) tagsOfImage.push(r.name);
    const byName = image.name !== undefined && (arg === image.name || normalizedName(arg) === image.name);
    let remove: string[];
    if (byName) remove = [image.name!];
    else if (tagsOfImage.length > 1 && !opts.force) {
      throw new AlreadyExistsError(`conflict: unable to delete ${arg} (must be forced) - image is referenced in multiple repositories`, { hint: 'untag it by name, or use -f to remove every tag' });
    } else remove = tagsOfImage;
    const out: ImageDeleteItem[] = [];
    for (const name of remove) {
      if (await store.deleteRef(name)) out.push({ Untagged: splitName(name).familiar });
    }
    if (tagsOfImage.every((n) => remove.includes(n))) {
      await store.deleteDangling([image.descriptor.digest, image.manifestDescriptor.digest]);
      out.push({ Deleted: image.configDigest });
    }
    return out;
  }
}

class LocalContainers implements ContainerService {
  constructor(
    private readonly manager: () => Promise<ContainerManager>,
    private readonly imageRows: () => Promise<ImageRow[]>,
  ) {}

  async list(opts: { all?: boolean; filters?: Filters }): Promise<ContainerSummary[]> {
    const now = Date.now();
    const f = opts.filters ?? {};
    const filtered = Object.keys(f).length > 0;
    // With filters every container is read, so before=/since= can name a stopped one; filterContainers drops the stopped.
    const cs = await (await this.manager()).list({ all: opts.all || filtered });
    if (!filtered) return cs.map((c) => containerSummary(c, now));
    const rows = cs.map((c) => ({ ...containerSummary(c, now), ...containerFilterFacts(c) }));
    const keep = new Set(filterContainers(rows, f, f.ancestor ? await this.imageRows() : [], { all: opts.all === true }).map((r) => r.id));
    return cs.filter((c) => keep.has(c.id)).map((c) => containerSummary(c, now));
  }

  async logs(ref: string, opts: LogOptions & { signal?: AbortSignal }): Promise<void> {
    await (await this.manager()).logs(ref, opts);
  }

  async stop(ref: string, opts: { timeoutSec?: number; signal?: string }): Promise<void> {
    await (await this.manager()).stop(ref, opts);
  }

  async kill(ref: string, signal: string): Promise<void> {
    await (await this.manager()).kill(ref, signal);
  }

  async remove(ref: string, opts: { force?: boolean }): Promise<void> {
    await (await this.manager()).remove(ref, opts);
  }

  async create(opts: CreateOptions): Promise<string> {
    return (await (await this.manager()).create(opts)).id;
  }

  async run(id: string, io: RunIO): Promise<number> {
    const exit = await (await this.manager()).start(id, { stdin: io.openStdin ? (io.stdin as Readable) : undefined, stdout: io.stdout, stderr: io.stderr, ...(io.terminal ? { terminal: io.terminal } : {}) });
    return exit.exitCode;
  }

  async start(): Promise<void> {
    throw new InternalError('LocalEngine cannot start a container in the background (Engine.detaches is false)');
  }

  async inspect(ref: string): Promise<{ status: ContainerSummary['state']; exitCode?: number }> {
    const c = await (await this.manager()).inspect(ref);
    return { status: c.state.status, ...(c.state.exitCode !== undefined ? { exitCode: c.state.exitCode } : {}) };
  }
}

