/**
 * A stage's starting state (its FROM): scratch, an earlier stage, or an image. Image and stage
 * lookups come in as functions, so the orchestration (./build.ts) resolves images from the store
 * or a registry and a test gives fixed ones.
 */
import { cacheKey } from '../cache/key.js';
import { emptyConfig, withContainerConfig } from '../image/config.js';
import type { ImageConfig, Platform } from '../oci/types.js';
import type { Range } from '../oci/range.js';
import { StageEnv, type ShellLex, type Stage } from '../plan/index.js';
import type { SourceFs } from './instructions/handler.js';
import type { StageState } from './state.js';

/** Every image gets a PATH, as BuildKit gives it. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BaseOptions {
  platform: Platform;
  lex: ShellLex;
  /** The plan's global ARGs and the request's --build-arg values. */
  globalArgs: ReadonlyMap<string, string | undefined>;
  buildArgs: Record<string, string>;
  /** For error locations. */
  file: string;
  text: string;
  sourceDateEpoch?: number;
  /** The image `ref` (a FROM at `range`), with its creation time. */
  image(ref: string, range: Range): Promise<SourceFs & { created?: string }>;
  /** The finished state of stage `index`. */
  stageState(index: number): Promise<StageState>;
}

/** The state a stage starts from. Throws what `image`/`stageState` throw. */
export async function baseState(stage: Stage, o: BaseOptions): Promise<StageState> {
  const name = stage.name ?? `stage-${stage.index}`;
  let config: ImageConfig;
  let layers: StageState['layers'] = [];
  let fsKey: string;
  let created: string | undefined;
  let parent: StageEnv | undefined;
  const time = o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {};
  if (stage.base.kind === 'scratch') {
    // BuildKit's emptyImage: a scratch stage starts with WorkingDir "/" (and the default PATH).
    config = withContainerConfig(emptyConfig(o.platform, time), { WorkingDir: '/' });
    fsKey = cacheKey(['base=scratch', `platform=${o.platform.os}/${o.platform.architecture}${o.platform.variant ? `/${o.platform.variant}` : ''}`]).digest;
  } else if (stage.base.kind === 'stage') {
    const s = await o.stageState(stage.base.index);
    config = s.config;
    layers = [...s.layers];
    fsKey = s.fsKey;
    created = s.created;
    parent = s.env;
  } else {
    const img = await o.image(stage.base.ref, stage.fromNode.range);
    config = img.config;
    layers = [...img.layers];
    fsKey = img.fsKey;
    created = img.created;
  }
  const env = config.config?.Env ?? [];
  if (!env.some((e) => e.startsWith('PATH='))) config = withContainerConfig(config, { Env: [...env, DEFAULT_PATH] });
  const stageEnv = new StageEnv({ lex: o.lex, globalArgs: o.globalArgs, buildArgs: o.buildArgs, imageEnv: config.config?.Env ?? [], file: o.file, text: o.text, ...(parent ? { parent } : {}) });
  return { name, index: stage.index, config, layers, fsKey, env: stageEnv, created };
}
