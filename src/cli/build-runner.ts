/**
 * Runs a build for the CLI on an Engine: picks the progress view (src/cli/progress.ts), wires Ctrl-C and
 * SIGTERM to cancellation (exit 130), writes --iidfile / --metadata-file after a successful
 * build, prints `-q`'s image ID, and reports a failed build.
 *
 * A failing build step is reported here (the step, the Dockerfile excerpt with its lines
 * marked, the exit code, the last output lines, the hint) and its exit code returned; any other
 * error is rethrown for the top-level catch in src/cli.ts (excerpt and caret for parse and plan
 * errors, "this is a bug" for internal errors). In json mode the error is also the last JSON
 * line on stdout.
 */
import { writeFile } from 'node:fs/promises';
import type { CliContext } from './context.js';
import type { BuildOptions } from '../builder/options.js';
import type { BuildResult } from '../builder/session.js';
import type { BuiltImage, Engine } from '../engine/engine.js';
import { BuildError, hasCode, toBuildError } from '../errors.js';
import { createProgress, type ProgressMode } from './progress.js';
import { failureReport, type BuildTracker } from './progress/format.js';

/**
 * Builds `options` on `engine` with progress mode `progress`; returns the exit code (0, or
 * the failing step's code). Throws BuildError for failures that are not a step's (usage,
 * parse, plan, registry, …) after the progress view has been closed. An engine that reports
 * text (a daemon) has its text printed as it comes (only the image ID with -q).
 */
export async function runBuildCommand(options: BuildOptions, progress: ProgressMode, ctx: CliContext, engine: Engine): Promise<number> {
  if (!engine.buildEvents) {
    const quiet = progress === 'quiet';
    const r = await engine.build(options, { quiet, onText: (t) => ctx.stdout.write(t) });
    if (quiet) ctx.stdout.write(`${r.imageId}\n`);
    if (options.iidfile) await writeFile(options.iidfile, r.imageId);
    return 0;
  }
  const view = await createProgress(progress, ctx, { explain: options.explain, env: ctx.env });
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => abort.abort(new BuildError('CANCELED', `build canceled (${sig})`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let result: BuiltImage;
  try {
    result = await engine.build(options, { onEvent: view.onEvent, signal: abort.signal });
  } catch (err) {
    const e = abort.signal.aborted && !hasCode(err, 'CANCELED') ? (abort.signal.reason as BuildError) : toBuildError(err);
    view.finish({ ok: false, error: e });
    const step = view.tracker.failedStep !== undefined ? view.tracker.steps.get(view.tracker.failedStep) : undefined;
    if (e.code === 'STEP_FAILED' || (step && e.code !== 'INTERNAL')) {
      ctx.stderr.write(`${failureReport(e, step).join('\n')}\n`);
      return e.exitCode;
    }
    throw err instanceof BuildError || e.code !== 'INTERNAL' ? e : err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  view.finish({ ok: true });
  if (options.iidfile) await writeFile(options.iidfile, result.imageId);
  if (options.metadataFile) await writeFile(options.metadataFile, `${JSON.stringify(buildMetadata(result as BuildResult, view.tracker), null, 2)}\n`);
  if (view.mode === 'quiet') ctx.stdout.write(`${result.imageId}\n`);
  return 0;
}

/**
 * The --metadata-file document: the builder's `BuildResult.metadata` (BuildKit's keys
 * `containerimage.digest`, `containerimage.config.digest`, `image.name`, `pushed`, …) with
 * `mybuild.steps` replaced by one entry per step, from the events: step, stage, instruction,
 * cached, key, reason (for misses), durationMs; and `mybuild.cache` counting only the steps
 * that looked up the cache (FROM and config-only steps are neither hits nor misses).
 */
export function buildMetadata(result: BuildResult, tracker: BuildTracker): Record<string, unknown> {
  const steps = tracker.ordered().map((s) => ({
    step: s.info.step,
    stage: s.info.stage,
    instruction: s.info.instruction,
    cached: s.state === 'cached',
    ...(s.cache?.key ? { key: s.cache.key } : {}),
    ...(s.cache && !s.cache.hit && s.cache.reason ? { reason: s.cache.reason } : {}),
    ...(s.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
  }));
  const looked = tracker.ordered().filter((s) => s.cache);
  const hits = looked.filter((s) => s.cache!.hit).length;
  return { ...result.metadata, 'mybuild.steps': steps, 'mybuild.cache': { hits, misses: looked.length - hits } };
}
