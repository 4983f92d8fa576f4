/**
 * A BuildSession holds what every step of one build shares: options, the store, the cache, the
 * build context, the lexer, the worker, and the event sink. It is complete when constructed
 * (one options object); handlers see only its {@link StepSession} side.
 */
import type { BuildOptions } from './options.js';
import type { EventSink, StepInfo } from './events.js';
import type { ImageStore } from '../store/image-store.js';
import type { Lease } from '../store/lease.js';
import type { Siblings } from './sibling-builds.js';
import type { ContentStore } from '../oci/content-store.js';
import type { Descriptor, Digest, ImageConfig } from '../oci/types.js';
import type { ShellLex } from '../plan/index.js';
import { BuildContext } from '../context/context.js';
import { StatCache } from '../context/hash.js';
import type { RemoteCache } from '../cache/remote/remote-cache.js';
import type { StepHistory } from '../cache/history.js';
import type { SourceLocation } from '../errors.js';
import type { Range } from '../oci/range.js';
import type { Worker } from './worker.js';
import { storeLayout } from '../store/layout.js';
import { SshAgents } from './ssh-agents.js';
import { ProvenanceCapture } from './provenance.js';
import type { ProvenanceAttacher } from './provenance-outputs.js';

export interface BuildRequest extends BuildOptions {
  /** Store root. */
  root: string;
}

/** What a step handler may use of its build (besides the worker and the options). */
export interface StepSession {
  readonly lex: ShellLex;
  readonly emit: EventSink;
  readonly signal: AbortSignal;
  /** SOURCE_DATE_EPOCH of the build, when set. */
  readonly sourceDateEpoch: number | undefined;
  /** A SourceLocation for errors about `range` of the Dockerfile. */
  source(range: Range): SourceLocation;
  /** The build context (opened on first use). */
  context(): Promise<BuildContext>;
  /** The persistent stat cache of the context (see src/context/hash.ts). */
  statCache(): Promise<StatCache>;
  /** The host socket of `--ssh` agent `id` (a private agent starts on first use), or undefined when none was given. */
  sshAgent(id: string): Promise<string | undefined>;
}

export interface BuildSessionOptions {
  req: BuildRequest;
  store: ImageStore;
  lex: ShellLex;
  /** The Dockerfile's name as errors show it, and its text (for excerpts). */
  file: string;
  text: string;
  emit: EventSink;
  signal: AbortSignal;
  history: StepHistory;
  worker: Worker;
  /**
   * The build's lease (src/store/lease.ts): blobs written through `content` or pinned with
   * `pin` survive a concurrent `mybuild prune` until a ref or cache record names them.
   */
  lease?: Lease;
  /** --cache-from / --cache-to of this build (src/cache/remote), when given. */
  remoteCache?: RemoteCache;
  /** Index of the stage whose filesystem becomes the image (the plan's target); -1 when unknown. */
  targetStage?: number;
  /** The other platforms' builds of a multi-platform build running beside this one (./sibling-builds.ts). */
  siblings?: Siblings;
}

export class BuildSession implements StepSession {
  private contextP?: Promise<BuildContext>;
  private statCacheP?: Promise<StatCache>;
  private ssh?: SshAgents;
  readonly req: BuildRequest;
  readonly store: ImageStore;
  readonly lex: ShellLex;
  readonly file: string;
  readonly text: string;
  readonly emit: EventSink;
  readonly signal: AbortSignal;
  readonly history: StepHistory;
  readonly worker: Worker;
  readonly lease?: Lease;
  readonly remoteCache?: RemoteCache;
  readonly siblings?: Siblings;
  readonly targetStage: number;
  /** What the build resolved and ran, for its provenance (./provenance.ts). */
  readonly capture = new ProvenanceCapture();
  /** Attaches the provenance to the image outputs (./provenance-outputs.ts), once the image is written. */
  attestations?: ProvenanceAttacher;
  /** Steps whose cache was hit / missed, for the summary and metadata. */
  readonly stepResults: { step: number; cached: boolean; durationMs: number; key?: string }[] = [];

  constructor(o: BuildSessionOptions) {
    this.req = o.req;
    this.store = o.store;
    this.lex = o.lex;
    this.file = o.file;
    this.text = o.text;
    this.emit = o.emit;
    this.signal = o.signal;
    this.history = o.history;
    this.worker = o.worker;
    this.lease = o.lease;
    this.remoteCache = o.remoteCache;
    this.siblings = o.siblings;
    this.targetStage = o.targetStage ?? -1;
  }

  /** Where the build writes blobs: through its lease, so a concurrent prune keeps them. */
  get content(): ContentStore {
    return this.lease?.content ?? this.store.content;
  }

  /** Pins blobs the build reuses without writing them (cache hits, base images). Check that they exist afterwards. */
  async pin(...digests: Digest[]): Promise<void> {
    await this.lease?.add(...digests);
  }

  context(): Promise<BuildContext> {
    this.contextP ??= BuildContext.open(this.req.contextDir, { dockerfilePath: this.req.dockerfilePath });
    return this.contextP;
  }

  statCache(): Promise<StatCache> {
    this.statCacheP ??= this.context().then((ctx) => StatCache.open(storeLayout(this.req.root).contextCache, ctx.root));
    return this.statCacheP;
  }

  sshAgent(id: string): Promise<string | undefined> {
    this.ssh ??= new SshAgents(this.req.ssh ?? [], storeLayout(this.req.root).tmp);
    return this.ssh.socketFor(id);
  }

  /** Saves what must persist after the build (the stat cache), stops the private ssh agents and waits for the worker's background work. */
  async finish(): Promise<void> {
    await this.ssh?.close();
    await this.worker.close();
    if (this.statCacheP) await (await this.statCacheP).save();
  }

  source(range: Range): SourceLocation {
    return { file: this.file, range, text: this.text };
  }

  get sourceDateEpoch(): number | undefined {
    return this.req.sourceDateEpoch;
  }

  throwIfAborted(): void {
    if (this.signal.aborted) throw this.signal.reason instanceof Error ? this.signal.reason : new Error('canceled');
  }
}

export type { StepInfo };

/** What `build` (./build.ts) returns, for one platform or (multi-platform.ts) the index. */
export interface BuildResult {
  /** The image ID: the config digest, as docker shows it. */
  imageId: string;
  manifestDescriptor: Descriptor;
  config: ImageConfig;
  tags: string[];
  /** The cache key of the image's filesystem (the last layer step's). */
  fsKey?: string;
  /** What --metadata-file writes. */
  metadata: Record<string, unknown>;
  /** The build's provenance predicate (unless disabled): a multi-platform build attaches one per platform. */
  provenance?: { predicateType: string; predicate: unknown };
}

/** How a caller runs `build` (./build.ts): events, cancellation, and a multi-platform build's shared lease and cache. */
export interface BuildRunOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** A lease of the caller's (a multi-platform build) that also pins this build's blobs, and outlives it. */
  lease?: Lease;
  /**
   * The caller's RemoteCache for `--cache-from`/`--cache-to` (a multi-platform build shares one
   * across its platforms): records accumulate in it and the caller exports and closes it.
   */
  remoteCache?: RemoteCache;
  /** A multi-platform build's platforms built beside this one (./sibling-builds.ts). */
  siblings?: Siblings;
}
