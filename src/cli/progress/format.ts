/**
 * What every progress mode shares: the step model built from build events (`BuildTracker`),
 * the wording of cache explanations, the end-of-build warnings block, the summary and the
 * report of a failed build. Pure functions over events and errors; nothing here writes to a
 * stream or reads the clock except through the `now` the caller passes.
 */
import { styleText } from 'node:util';
import type { BuildEvent, StepInfo } from '../../builder/events.js';
import type { BuildError } from '../../errors.js';
import type { Range } from '../../oci/range.js';
import { humanSize } from '../../store/display.js';

/** The version of the `--progress=json` line format (docs/progress.md). Bumped on incompatible changes. */
export const PROGRESS_JSON_VERSION = 1;

export type StepState = 'waiting' | 'running' | 'cached' | 'done' | 'error';

/** One step as the views show it. */
export interface StepView {
  info: StepInfo;
  state: StepState;
  startedAt?: number;
  durationMs?: number;
  /** The step-cache event, when the step went through the cache (layer steps only). */
  cache?: { hit: boolean; key?: string; reason?: string; source?: string };
  /** Complete output lines, the last `tailLines` of them. */
  tail: string[];
  /** An output line not yet ended by a newline. */
  partial: string;
  error?: string;
}

/** One transfer (pull/push of a blob) as the tty view shows it. */
export interface TransferView {
  id: string;
  action: string;
  current: number;
  total?: number;
  firstAt: number;
  lastAt: number;
  firstBytes: number;
}

/** A warning event, kept for the block at the end. */
export type WarningEvent = Extract<BuildEvent, { type: 'warning' }>;
export type ResultEvent = Extract<BuildEvent, { type: 'result' }>;

/**
 * Folds build events into per-step state. `apply` is idempotent per event only in the sense
 * that unknown steps are created on the fly (a step-start without a build-start still shows).
 */
export class BuildTracker {
  readonly steps = new Map<number, StepView>();
  readonly transfers = new Map<string, TransferView>();
  readonly warnings: WarningEvent[] = [];
  result?: ResultEvent;
  startedAt: number;
  /** The step whose failure ended the build (first step-error). */
  failedStep?: number;

  constructor(
    now: number,
    private readonly tailLines = 5,
  ) {
    this.startedAt = now;
  }

  private view(step: number, info?: StepInfo): StepView {
    let v = this.steps.get(step);
    if (!v) {
      v = { info: info ?? { step, stage: '', index: 0, total: 0, instruction: '' }, state: 'waiting', tail: [], partial: '' };
      this.steps.set(step, v);
    } else if (info) {
      v.info = info;
    }
    return v;
  }

  apply(e: BuildEvent, now: number): void {
    switch (e.type) {
      case 'build-start':
        for (const s of e.steps) this.view(s.step, s);
        break;
      case 'step-start': {
        const v = this.view(e.step, e.info);
        v.state = 'running';
        v.startedAt = now;
        break;
      }
      case 'step-cache': {
        const v = this.view(e.step);
        v.cache = { hit: e.hit, ...(e.key ? { key: e.key } : {}), ...(e.reason ? { reason: e.reason } : {}), ...(e.source ? { source: e.source } : {}) };
        if (e.hit) v.state = 'cached';
        break;
      }
      case 'step-output': {
        const v = this.view(e.step);
        const lines = (v.partial + e.data.replace(/\r\n/g, '\n')).split('\n');
        v.partial = lines.pop() ?? '';
        v.tail.push(...lines);
        if (v.tail.length > this.tailLines) v.tail.splice(0, v.tail.length - this.tailLines);
        break;
      }
      case 'step-end': {
        const v = this.view(e.step);
        v.durationMs = e.durationMs;
        v.state = v.cache?.hit ? 'cached' : 'done';
        break;
      }
      case 'step-error': {
        const v = this.view(e.step);
        v.state = 'error';
        v.error = e.message;
        if (v.startedAt !== undefined) v.durationMs = now - v.startedAt;
        this.failedStep ??= e.step;
        break;
      }
      case 'warning':
        this.warnings.push(e);
        break;
      case 'transfer': {
        const t = this.transfers.get(e.id);
        if (t) {
          t.current = e.current;
          t.total = e.total ?? t.total;
          t.action = e.action;
          t.lastAt = now;
        } else {
          this.transfers.set(e.id, { id: e.id, action: e.action, current: e.current, ...(e.total !== undefined ? { total: e.total } : {}), firstAt: now, lastAt: now, firstBytes: e.current });
        }
        break;
      }
      case 'result':
        this.result = e;
        break;
    }
  }

  /** Steps in step-number order. */
  ordered(): StepView[] {
    return [...this.steps.values()].sort((a, b) => a.info.step - b.info.step);
  }
}

/** `[stage 2/5] RUN make` (BuildKit's step label). */
export function stepLabel(i: StepInfo): string {
  return i.total ? `[${i.stage} ${i.index}/${i.total}] ${i.instruction}` : i.instruction;
}

/** Seconds with one decimal, as BuildKit prints step times (`1.2s`). */
export function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}

/**
 * The cache explanation of one step in words: `cache hit (key sha256:0123456789ab)`,
 * `cache miss: file src/app.ts changed`, or `no cache lookup: base image` (FROM) /
 * `no cache lookup: config-only step` (ENV, LABEL, …: no layer, so no cache key).
 */
export function explainStep(v: StepView): string {
  if (v.cache) {
    if (v.cache.hit) return `cache hit${v.cache.source && v.cache.source !== 'local' ? ` from ${v.cache.source}` : ''}${v.cache.key ? ` (key ${shortKey(v.cache.key)})` : ''}`;
    return `cache miss: ${v.cache.reason ?? 'no reason given'}`;
  }
  if (/^FROM\b/i.test(v.info.instruction)) return 'no cache lookup: base image';
  if (v.state === 'error') return 'failed before its cache lookup';
  if (v.state === 'waiting') return 'not run';
  return 'no cache lookup: config-only step';
}

/** `sha256:` + 12 hex digits. */
export function shortKey(key: string): string {
  return key.startsWith('sha256:') ? key.slice(0, 'sha256:'.length + 12) : key.slice(0, 12);
}

/** Control characters other than tab removed (output shown in a view must not move the cursor). */
export function sanitize(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\x1b[\]P^_][^\x07\x1b]*(\x07|\x1b\\)?/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').replace(/\t/g, '  ');
}

/** `s` cut to `width` code points, ending in `…` when cut. Width < 1 gives ''. */
export function truncate(s: string, width: number): string {
  const cps = [...s];
  if (width < 1) return '';
  if (cps.length <= width) return s;
  return `${cps.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** The warnings block printed at the end of a build (BuildKit's checks). Empty when none. */
export function warningsBlock(warnings: WarningEvent[]): string[] {
  if (!warnings.length) return [];
  const out = [`${warnings.length} warning${warnings.length === 1 ? '' : 's'} found:`];
  for (const w of warnings) {
    const where = w.file && w.range ? ` (${w.file}:${w.range.start.line})` : '';
    out.push(` - ${w.rule ? `${w.rule}: ` : ''}${w.message}${where}`);
  }
  return out;
}

/** The last lines of a successful build: steps (`steps`, default the builder's count), cache hits, time, image ID, size, tags. */
export function summaryLines(r: ResultEvent, steps: number = r.steps): string[] {
  return [
    `Built in ${seconds(r.durationMs)}: ${steps} steps, ${r.cacheHits} cached, image size ${humanSize(r.size)}`,
    `Image ID ${r.imageId}`,
    ...(r.tags.length ? [`Tagged ${r.tags.join(', ')}`] : []),
  ];
}

/**
 * The Dockerfile lines of `range` marked with `>>>`, with `context` lines either side:
 *
 *        3 |     ENV A=1
 *        4 | >>> RUN make
 *        5 |     COPY . .
 */
export function markedExcerpt(text: string, range: Range, context = 2): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop(); // the final newline ends the last line
  const first = Math.max(1, range.start.line - context);
  // A range ending at column 1 of a line (after the newline) does not cover that line.
  const endLine = range.end.line > range.start.line && range.end.col <= 1 ? range.end.line - 1 : range.end.line;
  const last = Math.min(lines.length, endLine + context);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const marked = n >= range.start.line && n <= endLine;
    out.push(` ${String(n).padStart(width)} | ${marked ? '>>> ' : '    '}${lines[n - 1] ?? ''}`);
  }
  return out;
}

/**
 * The report of a failed build step: the headline, which step, the Dockerfile excerpt with the
 * step's lines marked, the details (last output lines), the hint.
 */
export function failureReport(err: BuildError, step: StepView | undefined): string[] {
  const out = [`error: ${err.headline}`];
  if (step) out.push(`failed step: #${step.info.step} ${stepLabel(step.info)}`);
  if (err.source?.text !== undefined) {
    out.push('--------------------', ...markedExcerpt(err.source.text, err.source.range), '--------------------');
  } else if (step?.info.range) {
    // no text to excerpt
  }
  if (err.details?.length) out.push(...err.details);
  else if (step && (step.tail.length || step.partial)) out.push('last output:', ...[...step.tail, ...(step.partial ? [step.partial] : [])].map((l) => `  ${sanitize(l)}`));
  if (err.hint) out.push(`hint: ${err.hint}`);
  return out;
}

/** Colours for the tty view; every function returns its input unchanged when colours are off. */
export interface Palette {
  red(s: string): string;
  green(s: string): string;
  blue(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

/** Whether colours may be used: never with NO_COLOR (any non-empty value) or TERM=dumb. */
export function colorsAllowed(env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return true;
}

export function palette(enabled: boolean): Palette {
  const s = (fmt: Parameters<typeof styleText>[0]) => (t: string) => (enabled && t ? styleText(fmt, t) : t);
  return { red: s('red'), green: s('green'), blue: s('blue'), yellow: s('yellow'), dim: s('dim'), bold: s('bold') };
}

/** Bytes and rate of a transfer: `pull sha256:0123… 1.2MB / 3.4MB 2.1MB/s`. */
export function transferLine(t: TransferView, now: number): string {
  const secs = (now - t.firstAt) / 1000;
  const rate = secs > 0.2 ? ` ${humanSize((t.current - t.firstBytes) / secs)}/s` : '';
  return `${t.action} ${shortKey(t.id)} ${humanSize(t.current)}${t.total !== undefined ? ` / ${humanSize(t.total)}` : ''}${rate}`;
}
