/**
 * The instruction handler contract. Every instruction has one handler in its own file,
 * dispatched from the table in ./index.ts (a missing handler is a compile error).
 *
 * `apply` either changes the stage state in place (metadata steps: ENV, LABEL, CMD, …) and
 * returns nothing, or returns a LayerStep: the readable cache key parts of a filesystem step and
 * a producer that makes its layer, which runs only on a cache miss (src/builder/step.ts).
 */
import type { LayerResult } from '../../image/layer-writer.js';
import type { Command } from '../../plan/index.js';
import type { BuildSession } from '../session.js';
import type { LayerRef, StageState } from '../state.js';
import type { StepInfo } from '../events.js';
import type { ImageConfig } from '../../image/types.js';

/** A filesystem other than the stage's own: an earlier stage or an image (COPY --from, RUN --mount from). */
export interface SourceFs {
  /** Cache identity of the filesystem (stage fsKey, or the image's manifest digest). */
  fsKey: string;
  layers: LayerRef[];
  config: ImageConfig;
}

export interface StepContext<C extends Command> {
  b: BuildSession;
  st: StageState;
  cmd: C;
  info: StepInfo;
  /** Resolves a `--from` value: a stage name or index, else an image reference. */
  from(name: string): Promise<SourceFs>;
}

export interface LayerStep {
  parts: string[];
  createdBy: string;
  produce(): Promise<LayerResult | null>;
}

export interface Handler<C extends Command> {
  apply(ctx: StepContext<C>): Promise<LayerStep | void>;
}

export type HandlerTable = { [K in Command['kind']]: Handler<Extract<Command, { kind: K }>> };

/** Go's `%q` of a string slice, as BuildKit writes CMD/ENTRYPOINT history: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}
