/**
 * The instruction handler contract. Every instruction has one handler in its own file,
 * dispatched from the table in ./index.ts (a missing handler is a compile error).
 *
 * `apply` either changes the stage state in place (metadata steps: ENV, LABEL, CMD, …) and
 * returns nothing, or returns a LayerStep: the readable cache key parts of a filesystem step and
 * a producer that makes its layer, which runs only on a cache miss (src/builder/step.ts).
 */
import type { LayerResult } from '../../image/layer-writer.js';
import type { Command, FromSource } from '../../plan/index.js';
import type { BuildRequest, StepSession } from '../session.js';
import type { Worker } from '../worker.js';
import type { LayerRef, StageState } from '../state.js';
import type { StepInfo } from '../events.js';
import type { ImageConfig } from '../../oci/types.js';
import type { StepProvenance } from '../provenance.js';

/** A filesystem other than the stage's own: an earlier stage or an image (COPY --from, RUN --mount from). */
export interface SourceFs {
  /** Cache identity of the filesystem (stage fsKey, or the image's manifest digest). */
  fsKey: string;
  layers: LayerRef[];
  config: ImageConfig;
}

/** The build options steps read: the store root (temporaries, cache mounts), network, entitlements, secrets, layer compression, SOURCE_DATE_EPOCH, RUN's --add-host/--ulimit/--shm-size/--memory/--cpu-*, the build args (BUILDKIT_SANDBOX_HOSTNAME). */
export type StepOptions = Pick<BuildRequest, 'root' | 'network' | 'allow' | 'secrets' | 'compression' | 'sourceDateEpoch' | 'extraHosts' | 'ulimits' | 'shmSize' | 'runResources' | 'noCache' | 'noCacheFilter'> & Partial<Pick<BuildRequest, 'buildArgs'>>;

/** What a handler is given (BuildKit's dispatchState + dispatchOpt, narrowed). */
export interface StepContext<C extends Command> {
  /** The stage being built: metadata steps change it in place. */
  stage: StageState;
  /** The command, its words already expanded by the dispatcher (src/builder/dispatch.ts; ARG as written). */
  cmd: C;
  info: StepInfo;
  /**
   * The filesystem a `--from`/`from=` names: `planned` as the plan resolved it (the command's
   * `source`/`mountSources`), else (ONBUILD triggers) `name` as a stage name or index, else an
   * image reference.
   */
  from(name: string, planned: FromSource | undefined): Promise<SourceFs>;
  /** What the step runs on: executor, snapshots, content store (made once per build). */
  worker: Worker;
  /** The build options a step may depend on (not the whole request: no tags, outputs, iidfile, …). */
  options: StepOptions;
  /** Errors' source locations, the build context, events and cancellation. */
  session: StepSession;
}

export interface LayerStep {
  parts: string[];
  createdBy: string;
  produce(): Promise<LayerResult | null>;
  /** The step always makes a layer (RUN): a cached record without one is not reused. */
  alwaysLayer?: boolean;
  /** What the build's provenance records of the step (its op, sources read, secrets, network). */
  provenance?: StepProvenance;
}

export interface Handler<C extends Command> {
  apply(ctx: StepContext<C>): Promise<LayerStep | void>;
}

export type HandlerTable = { [K in Command['kind']]: Handler<Extract<Command, { kind: K }>> };

/** Go's `%q` of a string slice, as BuildKit writes CMD/ENTRYPOINT history: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}
