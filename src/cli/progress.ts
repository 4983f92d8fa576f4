/**
 * Progress output of `mybuild build`, one of five modes (`--progress`):
 *
 * - `tty`: a live view redrawn in place on stderr (src/cli/progress/tty.ts);
 * - `plain`: BuildKit's plain log for CI: one line per event, each output line prefixed with
 *   `#N` and the seconds since its step started, no escape codes ever;
 * - `json`: one build event per line on stdout, `{"version":1,…event}` (docs/progress.md), the
 *   same events `build()` emits to `onEvent`, then a final `error` line when the build fails;
 * - `quiet`: nothing (the runner prints the image ID on stdout);
 * - `auto`: `tty` when stderr is a terminal (and TERM is not `dumb`), else `plain`.
 *
 * A `Progress` is used once: feed it every event through `onEvent`, then call `finish` exactly
 * once (later calls do nothing). Neither closes the streams it writes to.
 */
import type { BuildEvent, EventSink } from '../builder/events.js';
import type { BuildError } from '../errors.js';
import {
  BuildTracker,
  PROGRESS_JSON_VERSION,
  explainStep,
  seconds,
  stepLabel,
  summaryLines,
  warningsBlock,
} from './progress/format.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json' | 'quiet';

/** How a build ended, for `Progress.finish`. */
export type BuildOutcome = { ok: true } | { ok: false; error: BuildError };

export interface Progress {
  /** The mode actually used (`auto` and `tty` without a terminal resolved). */
  readonly mode: Exclude<ProgressMode, 'auto'>;
  readonly onEvent: EventSink;
  /** The step model every mode keeps (the runner uses it for the error report and metadata). */
  readonly tracker: BuildTracker;
  /** Ends the output: warnings block and summary (or nothing more on failure). Idempotent. */
  finish(outcome: BuildOutcome): void;
}

export interface ProgressOptions {
  /** Print for every step whether it hit the cache and why it missed. */
  explain?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The clock (tests pass a fake one to make `plain` output stable). */
  now?: () => number;
}

/** `auto` → `tty` or `plain`; `tty` on a stream that is not a terminal → `plain`. */
export function resolveProgressMode(mode: ProgressMode, stderr: NodeJS.WritableStream, env: NodeJS.ProcessEnv = {}): Exclude<ProgressMode, 'auto'> {
  const isTty = (stderr as { isTTY?: boolean }).isTTY === true && env.TERM !== 'dumb';
  if (mode === 'auto' || mode === 'tty') return isTty ? 'tty' : 'plain';
  return mode;
}

/** The Progress for `mode` writing to the given streams (json to stdout, the others to stderr). */
export async function createProgress(mode: ProgressMode, streams: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }, opts: ProgressOptions = {}): Promise<Progress> {
  const resolved = resolveProgressMode(mode, streams.stderr, opts.env ?? {});
  switch (resolved) {
    case 'json':
      return jsonProgress(streams.stdout, opts);
    case 'quiet':
      return quietProgress(opts);
    case 'plain':
      return plainProgress(streams.stderr, opts);
    case 'tty': {
      const { ttyProgress } = await import('./progress/tty.js');
      return ttyProgress(streams.stderr as NodeJS.WriteStream, opts);
    }
  }
}

function quietProgress(opts: ProgressOptions): Progress {
  const now = opts.now ?? Date.now;
  const tracker = new BuildTracker(now());
  return { mode: 'quiet', tracker, onEvent: (e) => tracker.apply(e, now()), finish: () => {} };
}

/**
 * `plain`: one line per event (BuildKit's `--progress=plain`):
 *
 *     #2 [stage-0 2/3] RUN echo hi
 *     #2 0.104 hi
 *     #2 DONE 0.3s
 *     #3 [stage-0 3/3] COPY a.txt /a
 *     #3 CACHED
 *
 * With `explain`, every step also gets a `#N cache: …` line (hit with key, or miss and why).
 * Warnings are collected and printed at the end, followed by the summary.
 */
export function plainProgress(out: NodeJS.WritableStream, opts: ProgressOptions = {}): Progress {
  const now = opts.now ?? Date.now;
  const tracker = new BuildTracker(now());
  const started = new Map<number, number>();
  const elapsed = (step: number) => ((now() - (started.get(step) ?? now())) / 1000).toFixed(3);
  const write = (lines: string[]) => {
    if (lines.length) out.write(`${lines.join('\n')}\n`);
  };
  // Output not yet ended by a newline, per step (printed when the step ends).
  const pending = new Map<number, string>();
  const flush = (step: number) => {
    const rest = pending.get(step);
    if (rest) write([`#${step} ${elapsed(step)} ${rest}`]);
    pending.delete(step);
  };
  let finished = false;
  const onEvent = (e: BuildEvent) => {
    tracker.apply(e, now());
    switch (e.type) {
      case 'step-start':
        started.set(e.step, now());
        write([`#${e.step} ${stepLabel(e.info)}`]);
        break;
      case 'step-cache': {
        const v = tracker.steps.get(e.step)!;
        if (opts.explain) write([`#${e.step} ${explainStep(v)}`]);
        if (e.hit) write([`#${e.step} CACHED${e.source && e.source !== 'local' ? ` (from ${e.source})` : ''}`]);
        break;
      }
      case 'step-output': {
        const lines = (pending.get(e.step) ?? '') + e.data.replace(/\r\n/g, '\n');
        const parts = lines.split('\n');
        pending.set(e.step, parts.pop() ?? '');
        write(parts.map((l) => `#${e.step} ${elapsed(e.step)} ${l}`));
        break;
      }
      case 'step-end': {
        flush(e.step);
        const v = tracker.steps.get(e.step)!;
        if (opts.explain && !v.cache) write([`#${e.step} ${explainStep(v)}`]);
        if (!v.cache?.hit) write([`#${e.step} DONE ${seconds(e.durationMs)}`]);
        break;
      }
      case 'step-error':
        flush(e.step);
        write([`#${e.step} ERROR: ${e.message}`]);
        break;
      case 'transfer': {
        const t = tracker.transfers.get(e.id)!;
        if (t.firstAt === t.lastAt && t.current === t.firstBytes) write([`#- ${e.action} ${e.id}${e.total !== undefined ? ` (${e.total} bytes)` : ''}`]);
        else if (e.total !== undefined && e.current >= e.total) write([`#- ${e.action} ${e.id} done`]);
        break;
      }
      case 'result': {
        const n = tracker.steps.size + 1;
        write([
          `#${n} exporting to image`,
          `#${n} writing image ${e.imageId} done`,
          ...e.tags.map((t) => `#${n} naming to ${t} done`),
          `#${n} DONE ${seconds(e.durationMs)}`,
        ]);
        break;
      }
      default:
        break;
    }
  };
  return {
    mode: 'plain',
    tracker,
    onEvent,
    finish(outcome) {
      if (finished) return;
      finished = true;
      const lines = warningsBlock(tracker.warnings).map((l, i) => (i === 0 ? `WARNING: ${l}` : l));
      if (outcome.ok && tracker.result) lines.push(...summaryLines(tracker.result, tracker.steps.size));
      write(lines);
    },
  };
}

/** The JSON line of one event (`{"version":1,…}`); see docs/progress.md. */
export function jsonLine(e: BuildEvent | ErrorLine): string {
  return `${JSON.stringify({ version: PROGRESS_JSON_VERSION, ...e })}\n`;
}

/** The last line of `--progress=json` when a build fails (the library throws instead). */
export interface ErrorLine {
  type: 'error';
  code: string;
  exitCode: number;
  message: string;
  step?: number;
  file?: string;
  range?: unknown;
  hint?: string;
  details?: string[];
}

/** The error line for `err` (failing in step `step`, when known). */
export function errorLine(err: BuildError, step?: number): ErrorLine {
  return {
    type: 'error',
    code: err.code,
    exitCode: err.exitCode,
    message: err.message,
    ...(step !== undefined ? { step } : {}),
    ...(err.source ? { file: err.source.file, range: err.source.range } : {}),
    ...(err.hint ? { hint: err.hint } : {}),
    ...(err.details?.length ? { details: err.details } : {}),
  };
}

/** `json`: every event as one line on `out`; on failure a final `error` line. */
export function jsonProgress(out: NodeJS.WritableStream, opts: ProgressOptions = {}): Progress {
  const now = opts.now ?? Date.now;
  const tracker = new BuildTracker(now());
  let finished = false;
  return {
    mode: 'json',
    tracker,
    onEvent: (e) => {
      tracker.apply(e, now());
      out.write(jsonLine(e));
    },
    finish(outcome) {
      if (finished) return;
      finished = true;
      if (!outcome.ok) out.write(jsonLine(errorLine(outcome.error, tracker.failedStep)));
    },
  };
}
