/**
 * Progress printers for build events. `plain` is BuildKit's plain log (one line per event,
 * output prefixed with `#N` and the time since the step started, no escape codes); `json` is
 * one event per line; `quiet` prints nothing (the caller prints the image ID).
 */
import type { BuildEvent, EventSink, StepInfo } from '../builder/events.js';

export function plainPrinter(out: NodeJS.WritableStream): EventSink {
  const infos = new Map<number, StepInfo>();
  const started = new Map<number, number>();
  const partial = new Map<number, string>();
  const label = (i: StepInfo) => `[${i.stage} ${i.index}/${i.total}] ${i.instruction}`;
  const flush = (step: number) => {
    const rest = partial.get(step);
    if (rest) out.write(`#${step} ${elapsed(step)} ${rest}\n`);
    partial.delete(step);
  };
  const elapsed = (step: number) => ((Date.now() - (started.get(step) ?? Date.now())) / 1000).toFixed(3);
  return (e: BuildEvent) => {
    switch (e.type) {
      case 'build-start':
        for (const s of e.steps) infos.set(s.step, s);
        break;
      case 'step-start':
        started.set(e.step, Date.now());
        out.write(`#${e.step} ${label(e.info)}\n`);
        break;
      case 'step-cache':
        if (e.hit) out.write(`#${e.step} CACHED${e.source && e.source !== 'local' ? ` (from ${e.source})` : ''}\n`);
        else if (e.reason) out.write(`#${e.step} cache miss: ${e.reason}\n`);
        break;
      case 'step-output': {
        const text = (partial.get(e.step) ?? '') + e.data;
        const lines = text.split('\n');
        partial.set(e.step, lines.pop() ?? '');
        for (const l of lines) out.write(`#${e.step} ${elapsed(e.step)} ${l}\n`);
        break;
      }
      case 'step-end':
        flush(e.step);
        if (!e.cached) out.write(`#${e.step} DONE ${(e.durationMs / 1000).toFixed(1)}s\n`);
        break;
      case 'step-error':
        flush(e.step);
        out.write(`#${e.step} ERROR: ${e.message}\n`);
        break;
      case 'warning':
        out.write(`WARNING: ${e.file && e.range ? `${e.file}:${e.range.start.line}: ` : ''}${e.message}\n`);
        break;
      case 'transfer':
        break;
      case 'result':
        out.write(
          `#${infos.size + 1} writing image ${e.imageId}${e.tags.length ? ` (${e.tags.join(', ')})` : ''}\n` +
            `#${infos.size + 1} DONE: ${e.steps} steps, ${e.cacheHits} cached, ${(e.durationMs / 1000).toFixed(1)}s\n`,
        );
        break;
    }
  };
}

export function jsonPrinter(out: NodeJS.WritableStream): EventSink {
  return (e) => out.write(`${JSON.stringify(e)}\n`);
}
