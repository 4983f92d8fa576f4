/**
 * The `Engine` every CLI command is written against: images, containers, build. Two
 * implementations: LocalEngine (./local.ts: the store, the container manager and the builder in
 * this process, what `mybuild` does without -H, and what the daemon's routes run on) and
 * RemoteEngine (./remote.ts: the same calls over the Engine API to a daemon, for -H). A
 * command formats what the engine returns, so its output through -H is the daemonless output
 * by construction.
 */
import type { Readable, Writable } from 'node:stream';
import type { ContainerSummary } from '../api/containers.js';
import type { Filters } from '../api/filters.js';
import type { TerminalSource } from '../runtime/spec.js';
import type { BuildResult } from '../builder/session.js';
import type { EventSink } from '../builder/events.js';
import type { BuildOptions } from '../builder/options.js';
import type { ApiVersion, JsonMessage } from '../api/types.js';
import type { CreateOptions } from '../containers/manager.js';
import type { Reference } from '../oci/reference.js';
import type { Credentials } from '../registry/auth.js';

export type { ContainerSummary };

/** One row of `images`: a ref (or an untagged image, `name` undefined). */
export interface ImageRow {
  /** The full normalised name (`docker.io/library/app:1`), or a `name@digest` ref. */
  name?: string;
  /** Image ID (config digest). */
  id: string;
  /** What the ref points at (manifest or index digest); '' when the daemon does not say. */
  digest: string;
  /** RFC 3339 creation time from the config, in whole seconds (the Engine API's precision). */
  created?: string;
  /** Sum of the layer sizes. */
  size: number;
  /** The image config's labels. */
  labels?: Record<string, string>;
  /** Stored blob bytes of a single-platform image (manifest, config, layers; `images --tree`). */
  contentSize?: number;
  /** A multi-platform image's entries in the index's order (`images --tree`, docker's). */
  platforms?: ImagePlatformRow[];
}

/** An entry of a multi-platform image (Docker API 1.47's ImageManifestSummary). */
export interface ImagePlatformRow {
  /** `linux/arm64`, `linux/arm/v7`; '' for an entry without a platform (an attestation). */
  platform: string;
  /** The entry's manifest digest. */
  digest: string;
  /** Whether its manifest is in the store (a pull keeps one platform). */
  available: boolean;
  /** Unpacked layer bytes (docker's DISK USAGE), 0 when not available. */
  size: number;
  /** Stored blob bytes (docker's CONTENT SIZE), 0 when not available. */
  contentSize: number;
}

/** One line of `rmi` (Docker's ImageDeleteResponseItem). */
export type ImageDeleteItem = { Untagged: string; Deleted?: undefined } | { Deleted: string; Untagged?: undefined };

/** Registry access of one pull or push. */
export interface TransferOptions {
  /** `--insecure-registry` hosts (beside MYBUILD_INSECURE_REGISTRIES); a daemon refuses them (its own setting). */
  insecureRegistries?: string[];
  /** Explicit credentials (the daemon's from X-Registry-Auth); else the docker config's. */
  credentials?: Credentials;
  /** Docker's per-layer progress messages (`id` = short digest; `Already exists`, `Pull complete`, `Pushed`, …). */
  onProgress?: (m: JsonMessage) => void;
  /** Called once the image is found, before anything is transferred (push prints its header then). */
  onStart?: () => void;
}

export interface PullResult {
  /** What the name resolved to (the index when it was one). */
  digest: string;
  /** The ref named the same image before. */
  upToDate: boolean;
}

export interface PushResult {
  /** The pushed manifest (or index) digest and size. */
  digest: string;
  size: number;
}

export interface ImageService {
  /** Every ref and untagged image (those `filters` select: src/api/filters.ts); `warnings` for refs that cannot be read. */
  list(opts?: { filters?: Filters }): Promise<{ images: ImageRow[]; warnings: string[] }>;
  /** The `docker image inspect` document. Throws NotFoundError. */
  inspect(name: string): Promise<Record<string, unknown>>;
  /** Names image `source` `target` (a full name without digest). */
  tag(source: string, target: string): Promise<void>;
  /** Untags (a name: that tag; an ID: every tag, which needs `force` when several), deleting the image with its last tag. */
  remove(name: string, opts: { force?: boolean }): Promise<ImageDeleteItem[]>;
  pull(ref: Reference, opts: TransferOptions & { platform?: string }): Promise<PullResult>;
  push(ref: Reference, opts: TransferOptions): Promise<PushResult>;
  /** Writes a docker save tar (or an OCI layout tar) of the named images to a file or a stream. */
  save(names: string[], opts: { format: 'docker' | 'oci'; dest: string | Writable }): Promise<void>;
  /** Loads a docker save tar, an OCI layout tar or directory (a path), or a tar stream; returns Docker's `Loaded image: …` lines. */
  load(input: string | Readable): Promise<string[]>;
}

export interface LogOptions {
  stdout: Writable;
  stderr: Writable;
  follow?: boolean;
  timestamps?: boolean;
  tail?: number;
}

export interface ContainerService {
  /** Containers, newest first (running ones; all with `all` or a status filter), those `filters` select. */
  list(opts: { all?: boolean; filters?: Filters }): Promise<ContainerSummary[]>;
  logs(ref: string, opts: LogOptions): Promise<void>;
  /** Stops a running container (stop signal, SIGKILL after the timeout); a stopped one is left as it is. */
  stop(ref: string, opts: { timeoutSec?: number; signal?: string }): Promise<void>;
  kill(ref: string, signal: string): Promise<void>;
  remove(ref: string, opts: { force?: boolean }): Promise<void>;
  /** Creates a container (the image must be there); returns its ID. */
  create(opts: CreateOptions): Promise<string>;
  /**
   * Runs created container `id` in the foreground with `io` attached; resolves with its exit
   * code. Throws BuildError RUNTIME when it cannot start.
   */
  run(id: string, io: RunIO): Promise<number>;
  /** Starts created container `id` in the background (only where `Engine.detaches`). */
  start(id: string): Promise<void>;
  /** Status and exit code (when known) of a container. */
  inspect(ref: string): Promise<{ status: ContainerSummary['state']; exitCode?: number }>;
}

/** What `run` attaches: the container's options as created, and the streams. */
export interface RunIO {
  tty: boolean;
  openStdin: boolean;
  autoRemove: boolean;
  /** Forwarded with `openStdin`. */
  stdin: NodeJS.ReadableStream;
  stdout: Writable;
  stderr: Writable;
  /** With `tty`: the caller's terminal size and its changes (SIGWINCH). */
  terminal?: TerminalSource;
}

/** How a build reports its progress. */
export interface BuildHooks {
  /** The builder's events (an engine whose `buildEvents` is true). */
  onEvent?: EventSink;
  /** Progress as text (a daemon's legacy-builder stream: `Step 1/3 : FROM …`); not called when `quiet`. */
  onText?: (text: string) => void;
  quiet?: boolean;
  signal?: AbortSignal;
}

/** What a build gives back: the image ID, and where the builder ran here, its whole result. */
export type BuiltImage = Pick<BuildResult, 'imageId'> & Partial<BuildResult>;

export interface Engine {
  readonly images: ImageService;
  readonly containers: ContainerService;
  /** Builds `options` (its context read from this machine). Throws BuildError (a failed step: STEP_FAILED with its exit code). */
  build(options: BuildOptions, hooks: BuildHooks): Promise<BuiltImage>;
  /** Whether `build` reports BuildEvents (the builder runs in this process) rather than text. */
  readonly buildEvents: boolean;
  /** Whether containers can outlive this process (a daemon holds them: `run -d`). */
  readonly detaches: boolean;
  /** The server's `GET /version` (undefined daemonless: there is no server). */
  serverVersion(): Promise<ApiVersion | undefined>;
  /** The `GET /info` document (daemonless: the store's counts). */
  info(): Promise<Record<string, unknown>>;
}
