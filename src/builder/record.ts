/** The steps of a build record (src/cache/build-record.ts), collected from the build's events. */
import type { BuildRecordStep } from '../cache/build-record.js';
import type { BuildEvent } from './events.js';

/** Collects the record's steps from the build's events (a step number may repeat for ONBUILD triggers). */
export class BuildRecorder {
  readonly steps: BuildRecordStep[] = [];
  private last(step: number): BuildRecordStep | undefined {
    for (let i = this.steps.length - 1; i >= 0; i--) if (this.steps[i].step === step) return this.steps[i];
    return undefined;
  }

  apply(e: BuildEvent): void {
    if (e.type === 'step-start') {
      const kind = e.info.instruction.trimStart().split(/\s+/)[0]?.toUpperCase() ?? '';
      this.steps.push({ step: e.step, stage: e.info.stage, index: e.info.index, instruction: e.info.instruction, kind, cached: false, durationMs: 0 });
    } else if (e.type === 'step-cache') {
      const s = this.last(e.step);
      if (!s) return;
      if (e.key) s.key = e.key;
      if (!e.hit && e.reason) s.reason = e.reason;
      if (e.hit && e.source && e.source !== 'local') s.source = e.source;
    } else if (e.type === 'step-end') {
      const s = this.last(e.step);
      if (!s) return;
      s.cached = e.cached;
      s.durationMs = e.durationMs;
    }
  }
}
