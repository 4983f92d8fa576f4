/**
 * The live tty view of a build, redrawn in place on a terminal with log-update (diffed frames,
 * synchronized output, so no flicker; width-aware; the cursor hidden while it runs):
 *
 *     [+] Building 3.2s (4/6)
 *      #1 DONE    [base 1/3] FROM busybox                               0.0s
 *      #2 CACHED  [base 2/3] RUN echo prepare                           0.0s
 *      #3 running [base 3/3] RUN make                                   2.1s
 *           > compiling a.c
 *           > compiling b.c
 *      #4 waiting [final 1/2] FROM base
 *
 * One line per step (state, label truncated to the terminal width, elapsed time), the last few
 * output lines of running steps, active transfers with bytes and rate. Redraws at most every
 * 100 ms and at once on 'resize' (SIGWINCH). The live frame never is taller than the terminal
 * less one line, so its header stays on screen (BuildKit's): finished steps are folded into one
 * line first, then the oldest others (`… 3 more steps above`). A step shown `waiting` has not
 * started (it waits for another stage: the builder starts a COPY --from once its stage is built). `finish` replaces the live frame with the
 * final one (every step, in the scrollback), the warnings, the cache explanation (--explain)
 * and the summary. Colours unless NO_COLOR is set.
 */
import { createLogUpdate } from 'log-update';
import type { BuildEvent } from '../../builder/events.js';
import type { BuildOutcome, Progress, ProgressOptions } from '../progress.js';
import {
  BuildTracker,
  colorsAllowed,
  explainStep,
  palette,
  sanitize,
  seconds,
  stepLabel,
  summaryLines,
  transferLine,
  truncate,
  warningsBlock,
  type Palette,
  type StepView,
} from './format.js';

/** How many output lines of a running step are shown under it. */
const TAIL = 3;
const REDRAW_MS = 100;

const STATE_WORD: Record<StepView['state'], string> = { waiting: 'waiting', running: 'running', cached: 'CACHED', done: 'DONE', error: 'ERROR' };

/** Renders the frame for `width` × `rows` (pure; exported for tests of the layout). */
export function renderFrame(t: BuildTracker, now: number, width: number, rows: number, pal: Palette, final: boolean, outcome?: BuildOutcome): string[] {
  const w = Math.max(20, width - 1); // never write into the last column (autowrap)
  const steps = t.ordered();
  const finished = steps.filter((s) => s.state === 'done' || s.state === 'cached').length;
  const status = final ? (outcome?.ok ? ' FINISHED' : ' ERROR') : '';
  const header = `[+] Building ${seconds(now - t.startedAt)} (${finished}/${steps.length})${status}`;
  const numWidth = String(steps.length ? steps[steps.length - 1].info.step : 1).length + 1;

  const stepLine = (s: StepView): string => {
    const time = s.state === 'running' && s.startedAt !== undefined ? seconds(now - s.startedAt) : s.durationMs !== undefined ? seconds(s.durationMs) : '';
    const head = ` ${`#${s.info.step}`.padStart(numWidth)} ${STATE_WORD[s.state].padEnd(7)} `;
    const room = w - head.length - (time ? time.length + 1 : 0);
    const label = truncate(sanitize(stepLabel(s.info)), room);
    const line = `${head}${label}`.padEnd(w - (time ? time.length : 0)) + time;
    const color = s.state === 'error' ? pal.red : s.state === 'cached' ? pal.blue : s.state === 'done' ? pal.green : s.state === 'running' ? pal.yellow : pal.dim;
    return color(line);
  };
  const indent = ' '.repeat(numWidth + 5);
  const outputLines = (s: StepView): string[] => {
    const lines = [...s.tail, ...(s.partial ? [s.partial] : [])].slice(-TAIL);
    return lines.map((l) => pal.dim(truncate(`${indent}> ${sanitize(l)}`, w)));
  };

  const blocks: { step: StepView; lines: string[] }[] = steps.map((s) => ({ step: s, lines: [stepLine(s), ...(!final && s.state === 'running' ? outputLines(s) : [])] }));
  const transfers = final ? [] : [...t.transfers.values()].filter((x) => x.total === undefined || x.current < x.total).map((x) => pal.dim(truncate(`${indent}${transferLine(x, now)}`, w)));

  let body = blocks.flatMap((b) => b.lines);
  let shownTransfers = transfers;
  // The live frame keeps to rows - 1 lines (the cursor's line below it), so the header stays on
  // screen as BuildKit's does: log-update would cut a taller frame from the top. Finished steps
  // are folded first (oldest first), then the oldest of the others, then transfers.
  const room = Math.max(1, rows - 1);
  if (!final && 1 + body.length + transfers.length > room) {
    let folded = 0;
    let more = 0;
    const keep = [...blocks];
    const total = () => 1 + (folded || more ? 1 : 0) + keep.reduce((n, b) => n + b.lines.length, 0) + shownTransfers.length;
    for (let i = 0; i < keep.length && total() > room; ) {
      if (keep[i].step.state === 'done' || keep[i].step.state === 'cached') {
        keep.splice(i, 1);
        folded++;
      } else {
        i++;
      }
    }
    while (keep.length > 1 && total() > room) {
      keep.shift();
      more++;
    }
    if (total() > room) shownTransfers = shownTransfers.slice(0, Math.max(0, shownTransfers.length - (total() - room)));
    const note = [folded ? `${folded} finished step${folded === 1 ? '' : 's'}` : '', more ? `${more} more step${more === 1 ? '' : 's'} above` : ''].filter(Boolean).join(', ');
    body = [...(note ? [pal.dim(` … ${note}`)] : []), ...keep.flatMap((b) => b.lines)];
    // One step's block taller than the room (tiny terminal): its first lines.
    body = body.slice(0, Math.max(0, room - 1 - shownTransfers.length));
  }
  return [pal.bold(header), ...body, ...shownTransfers];
}

/** The tty Progress on `stream` (a terminal: `isTTY`, `columns`, `rows`, 'resize' events). */
export function ttyProgress(stream: NodeJS.WriteStream, opts: ProgressOptions = {}): Progress {
  const now = opts.now ?? Date.now;
  const tracker = new BuildTracker(now(), TAIL);
  const pal = palette(colorsAllowed(opts.env ?? {}));
  const log = createLogUpdate(stream);
  let dirty = true;
  let finished = false;
  const width = () => stream.columns || 80;
  const rows = () => stream.rows || 24;
  const render = () => {
    dirty = false;
    log(renderFrame(tracker, now(), width(), rows(), pal, false).join('\n'));
  };
  const timer = setInterval(() => {
    if (dirty || [...tracker.steps.values()].some((s) => s.state === 'running')) render();
  }, REDRAW_MS);
  timer.unref();
  const onResize = () => render();
  stream.on('resize', onResize);

  return {
    mode: 'tty',
    tracker,
    onEvent(e: BuildEvent) {
      tracker.apply(e, now());
      dirty = true;
      if (e.type === 'build-start') render();
    },
    finish(outcome) {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      stream.off('resize', onResize);
      log.clear();
      log.done();
      const w = Math.max(20, width() - 1);
      const lines = renderFrame(tracker, now(), width(), rows(), pal, true, outcome);
      const warnings = warningsBlock(tracker.warnings);
      if (warnings.length) lines.push('', ...warnings.map((l, i) => truncate(i === 0 ? pal.yellow(`WARNING: ${l}`) : l, i === 0 ? Number.MAX_SAFE_INTEGER : w)));
      if (opts.explain) {
        lines.push('', pal.bold('Cache:'));
        for (const s of tracker.ordered()) lines.push(truncate(` #${s.info.step} ${explainStep(s)}  ${sanitize(stepLabel(s.info))}`, w));
      }
      if (outcome.ok && tracker.result) lines.push(...summaryLines(tracker.result, tracker.steps.size).map((l) => pal.bold(l)));
      stream.write(`${lines.join('\n')}\n`);
    },
  };
}
