/**
 * A BuildSession holds what every step of one build shares: options, the store, the cache, the
 * build context, the lexer, lazily created runtime parts, and the event sink.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { BuildOptions } from './options.js';
import type { EventSink, StepInfo } from './events.js';
import type { ImageStore } from '../store/image-store.js';
import type { Lease } from '../store/lease.js';
import type { ContentStore } from '../store/types.js';
import type { Digest } from '../image/types.js';
import type { ShellLex } from '../plan/index.js';
import { BuildContext } from '../context/context.js';
import { StatCache } from '../context/hash.js';
import { createSnapshotter } from '../runtime/snapshotter.js';
import { RootfsManager } from './rootfs.js';
import type { RemoteCache } from '../cache/remote/remote-cache.js';
import type { StepHistory } from '../cache/history.js';
import { BuildError, type SourceLocation } from '../errors.js';
import type { Range } from '../parser/ast.js';

export interface BuildRequest extends BuildOptions {
  /** Store root. */
  root: string;
}

export class BuildSession {
  private contextP?: Promise<BuildContext>;
  private statCacheP?: Promise<StatCache>;
  private rootfsP?: Promise<RootfsManager>;
  /** --cache-from / --cache-to of this build (src/cache/remote), when given. */
  remoteCache?: RemoteCache;
  /** Steps whose cache was hit / missed, for the summary and metadata. */
  readonly stepResults: { step: number; cached: boolean; durationMs: number; key?: string }[] = [];

  constructor(
    readonly req: BuildRequest,
    readonly store: ImageStore,
    readonly lex: ShellLex,
    readonly file: string,
    readonly text: string,
    readonly emit: EventSink,
    readonly signal: AbortSignal,
    readonly history: StepHistory,
    /**
     * The build's lease (src/store/lease.ts): blobs written through `content` or pinned with
     * `pin` survive a concurrent `mybuild prune` until a ref or cache record names them.
     */
    readonly lease?: Lease,
  ) {}

  /** Where the build writes blobs: through its lease, so a concurrent prune keeps them. */
  get content(): ContentStore {
    return this.lease?.content ?? this.store.content;
  }

  /** Pins blobs the build reuses without writing them (cache hits, base images). Check that they exist afterwards. */
  async pin(...digests: Digest[]): Promise<void> {
    await this.lease?.add(...digests);
  }

  /** The build context (opened on first use). */
  context(): Promise<BuildContext> {
    this.contextP ??= BuildContext.open(this.req.contextDir, { dockerfilePath: this.req.dockerfilePath });
    return this.contextP;
  }

  /** The persistent stat cache of this context (see src/context/hash.ts). */
  statCache(): Promise<StatCache> {
    this.statCacheP ??= this.context().then((ctx) => StatCache.open(path.join(this.req.root, 'context-cache'), ctx.root));
    return this.statCacheP;
  }

  /** Index of the stage whose filesystem becomes the image (the plan's target). */
  targetStage = -1;
  /** Set when a killed build was found at registration (src/builder/stale.ts): clean snapshots up. */
  snapshotLeftovers = false;
  private cleanupP?: Promise<void>;

  /** Snapshots and views (created on first use: metadata-only builds never need them). */
  rootfs(): Promise<RootfsManager> {
    this.rootfsP ??= (async () => {
      // Extracting layers (owners, devices) and running steps (mounts, runc) need root.
      if (typeof process.getuid === 'function' && process.getuid() !== 0) {
        throw new BuildError('RUNTIME', 'this step needs the image\'s filesystem, which mybuild can only mount and run as root', {
          hint: 'run mybuild as root, or talk to a mybuild daemon running as root with -H (rootless mode is not supported)',
        });
      }
      const tmp = path.join(this.req.root, 'tmp');
      await mkdir(tmp, { recursive: true });
      const sn = await createSnapshotter(path.join(this.req.root, 'snapshots'));
      // Snapshots left by killed builds (registerBuild found one's marker) are removed while
      // this build goes on: cleanup is safe against snapshots being created meanwhile (see
      // Snapshotter.cleanup), and reading every snapshot's metadata first cost ~20 ms before the
      // first COPY or RUN in a store with a hundred snapshots. finish() waits for it; a failure
      // only leaves the leftovers for the next build.
      if (this.snapshotLeftovers) this.cleanupP = sn.cleanup().catch(() => undefined);
      return new RootfsManager(sn, this.remoteCache ? this.remoteCache.contentStore(this.store.content) : this.store.content, tmp);
    })();
    return this.rootfsP;
  }

  /** Saves what must persist after the build (the stat cache). */
  async finish(): Promise<void> {
    await this.cleanupP;
    if (this.statCacheP) await (await this.statCacheP).save();
  }

  /** A SourceLocation for errors about `range`. */
  source(range: Range): SourceLocation {
    return { file: this.file, range, text: this.text };
  }

  /** Time options for configs and history: SOURCE_DATE_EPOCH when set. */
  get sourceDateEpoch(): number | undefined {
    return this.req.sourceDateEpoch;
  }

  throwIfAborted(): void {
    if (this.signal.aborted) throw this.signal.reason instanceof Error ? this.signal.reason : new Error('canceled');
  }
}

export type { StepInfo };
