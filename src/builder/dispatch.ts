/**
 * The dispatcher: every instruction of a stage goes through `dispatch`, which expands its words
 * once with the stage's variables (as BuildKit's `dispatch` does before calling `dispatchRun`,
 * `dispatchCopy`, …) and hands the expanded command to its handler (./instructions). ARG is
 * the one exception: `StageEnv.applyArg` expands each default in turn, with the args before it
 * in scope.
 */
import type { Command } from '../plan/index.js';
import { HANDLERS } from './instructions/index.js';
import type { Handler, LayerStep, StepContext } from './instructions/handler.js';

/** The command as its handler sees it: words expanded with the stage's variables (ARG: as written). Throws PlanError. */
export function expandForStep(ctx: Pick<StepContext<Command>, 'stage'>, cmd: Command): Command {
  return cmd.kind === 'ARG' ? cmd : ctx.stage.env.expand(cmd).cmd;
}

/**
 * Expands `cmd` (see the module comment) and applies its handler: a metadata step changes
 * `ctx.stage` and returns nothing; a filesystem step returns its key parts and producer.
 */
export async function dispatch(ctx: Omit<StepContext<Command>, 'cmd'>, cmd: Command): Promise<LayerStep | void> {
  const handler = HANDLERS[cmd.kind] as Handler<Command>;
  return handler.apply({ ...ctx, cmd: expandForStep(ctx, cmd) });
}
