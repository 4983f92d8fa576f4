/**
 * The typed events a build emits. The CLI's progress printers, the daemon's JSON stream and
 * library users all consume these; `--progress=json` prints them one per line.
 */
import type { Range } from '../oci/range.js';

export interface StepInfo {
  /** 1-based step number across the whole build (BuildKit's `#N`). */
  step: number;
  /** Stage name or index (`build`, `stage-1`). */
  stage: string;
  /** Position within the stage, 1-based, and the stage's step count. */
  index: number;
  total: number;
  /** The instruction as written (first line, trimmed). */
  instruction: string;
  range?: Range;
}

export type BuildEvent =
  | { type: 'build-start'; steps: StepInfo[] }
  | { type: 'step-start'; step: number; info: StepInfo }
  | { type: 'step-cache'; step: number; hit: boolean; key?: string; reason?: string; source?: string }
  | { type: 'step-output'; step: number; stream: 'stdout' | 'stderr'; data: string }
  | { type: 'step-end'; step: number; cached: boolean; durationMs: number }
  | { type: 'step-error'; step: number; message: string; exitCode?: number }
  | { type: 'warning'; message: string; rule?: string; file?: string; range?: Range }
  | { type: 'transfer'; id: string; action: string; current: number; total?: number }
  | { type: 'result'; imageId: string; manifestDigest: string; tags: string[]; size: number; steps: number; cacheHits: number; durationMs: number };

export type EventSink = (e: BuildEvent) => void;
