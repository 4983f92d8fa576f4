/**
 * The `Engine` every CLI command is written against: images, containers, build. Two
 * implementations: LocalEngine (./local.ts: the store, the container manager and the builder in
 * this process, what `mybuild` does without -H, and what the daemon's routes run on) and
 * RemoteEngine (./remote.ts: the same calls over the Engine API to a daemon, for -H). A
 * command formats what the engine returns, so its output through -H is the daemonless output
 * by construction.
 */
import type { Writable } from 'node:stream';
import type { ContainerSummary } from '../api/containers.js';

export type { ContainerSummary };

/** One row of `images`: a ref (or an untagged image, `name` undefined). */
export interface ImageRow {
  /** The full normalised name (`docker.io/library/app:1`), or a `name@digest` ref. */
  name?: string;
  /** Image ID (config digest). */
  id: string;
  /** What the ref points at (manifest or index digest); '' when the daemon does not say. */
  digest: string;
  /** RFC 3339 creation time from the config. */
  created?: string;
  /** Sum of the layer sizes. */
  size: number;
}

/** One line of `rmi` (Docker's ImageDeleteResponseItem). */
export type ImageDeleteItem = { Untagged: string; Deleted?: undefined } | { Deleted: string; Untagged?: undefined };

export interface ImageService {
  /** Every ref and untagged image; `warnings` for refs that cannot be read. */
  list(): Promise<{ images: ImageRow[]; warnings: string[] }>;
  /** The `docker image inspect` document. Throws NotFoundError. */
  inspect(name: string): Promise<Record<string, unknown>>;
  /** Names image `source` `target` (a full name without digest). */
  tag(source: string, target: string): Promise<void>;
  /** Untags (a name: that tag; an ID: every tag, which needs `force` when several), deleting the image with its last tag. */
  remove(name: string, opts: { force?: boolean }): Promise<ImageDeleteItem[]>;
}

export interface LogOptions {
  stdout: Writable;
  stderr: Writable;
  follow?: boolean;
  timestamps?: boolean;
  tail?: number;
}

export interface ContainerService {
  /** Containers, newest first (running ones; all with `all`). */
  list(opts: { all?: boolean }): Promise<ContainerSummary[]>;
  logs(ref: string, opts: LogOptions): Promise<void>;
  /** Stops a running container (stop signal, SIGKILL after the timeout); a stopped one is left as it is. */
  stop(ref: string, opts: { timeoutSec?: number; signal?: string }): Promise<void>;
  kill(ref: string, signal: string): Promise<void>;
  remove(ref: string, opts: { force?: boolean }): Promise<void>;
}

export interface Engine {
  readonly images: ImageService;
  readonly containers: ContainerService;
}
