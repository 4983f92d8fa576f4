/**
 * LocalEngine: the Engine over the store at `root`, the container manager and the builder in
 * this process — `mybuild` without -H, and what the daemon's routes run on.
 */
import { containerSummary } from '../api/containers.js';
import { inspectObject } from '../api/image-inspect.js';
import { ContainerManager } from '../containers/manager.js';
import { BuildError } from '../errors.js';
import { ImageStore, normalizedName } from '../store/image-store.js';
import { splitName } from '../store/display.js';
import type { ContainerService, ContainerSummary, Engine, ImageDeleteItem, ImageRow, ImageService, LogOptions } from './engine.js';

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

  constructor(readonly options: LocalEngineOptions) {
    if (options.images) this.storeP = Promise.resolve(options.images);
    this.images = new LocalImages(() => this.store());
    this.containers = new LocalContainers(() => this.manager());
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
  constructor(private readonly store: () => Promise<ImageStore>) {}

  async list(): Promise<{ images: ImageRow[]; warnings: string[] }> {
    const { images, broken, dangling } = await (await this.store()).listImages();
    const row = (s: { name?: string; image: (typeof images)[number]['image']; size: number }): ImageRow => ({
      ...(s.name !== undefined ? { name: s.name } : {}),
      id: s.image.configDigest,
      digest: s.image.descriptor.digest,
      created: s.image.config.created,
      size: s.size,
    });
    return { images: [...images.map(row), ...dangling.map(row)], warnings: broken.map((b) => `${b.name}: ${b.error.message} (run "mybuild system check")`) };
  }

  async inspect(name: string): Promise<Record<string, unknown>> {
    const store = await this.store();
    const image = await store.resolve(name);
    const { images } = await store.listImages();
    return inspectObject(image, images.filter((s) => s.image.configDigest === image.configDigest).map((s) => s.name));
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
      throw new BuildError('ALREADY_EXISTS', `conflict: unable to delete ${arg} (must be forced) - image is referenced in multiple repositories`, { hint: 'untag it by name, or use -f to remove every tag' });
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
  constructor(private readonly manager: () => Promise<ContainerManager>) {}

  async list(opts: { all?: boolean }): Promise<ContainerSummary[]> {
    const now = Date.now();
    return (await (await this.manager()).list({ all: opts.all })).map((c) => containerSummary(c, now));
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
}

