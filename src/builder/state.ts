/**
 * The state of one stage while it builds: the image config so far, its layers, and the cache
 * identity of its filesystem (`fsKey`). Steps replace fields; nothing here does I/O.
 */
import type { ImageConfig } from '../oci/types.js';
import type { Layer } from '../image/layers.js';
import type { StageEnv } from '../plan/index.js';

export interface LayerRef extends Layer {
  /** A layer of a base image (FROM), not made by this build: --output compression leaves it as it is unless forced. */
  fromImage?: boolean;
}

export interface StageState {
  /** Display name: the stage's `AS` name or `stage-N`. */
  name: string;
  index: number;
  config: ImageConfig;
  layers: LayerRef[];
  /**
   * Cache identity of the filesystem: `scratch`/the base image's manifest digest to start with,
   * then each filesystem step's cache key. Steps that only change the config keep it.
   */
  fsKey: string;
  env: StageEnv;
  /** CMD was set in this stage (ENTRYPOINT then keeps it). */
  cmdSet?: boolean;
  /** Newest creation time among the cache records used (history time without SOURCE_DATE_EPOCH). */
  created?: string;
}

/** The stage's working directory (default `/`). */
export function workdir(stage: StageState): string {
  return stage.config.config?.WorkingDir || '/';
}

/** The shell for shell-form commands (SHELL, default `/bin/sh -c`). */
export function shell(stage: StageState): string[] {
  return stage.config.config?.Shell?.length ? stage.config.config.Shell : ['/bin/sh', '-c'];
}
