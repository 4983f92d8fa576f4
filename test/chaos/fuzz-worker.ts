/**
 * Worker thread for fuzz-parser.test.ts: runs the mutants [from, to) of `seed` through
 * parseAndPlan and posts, per input, a `start` message (so the test's watchdog can name an input
 * that hangs) and a `done` or `crash` message with the time it took.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { mutant } from './mutate.js';
import { Crash, parseAndPlan } from './fuzz-run.js';

/** What the test gives the worker. */
export interface FuzzJob {
  pool: string[];
  seed: number;
  indexes: number[];
}

/** What the worker posts. */
export type FuzzMessage =
  | { type: 'start'; index: number }
  | { type: 'done'; index: number; outcome: string; ms: number }
  | { type: 'crash'; index: number; phase: string; message: string; ms: number }
  | { type: 'end' };

const job = workerData as FuzzJob;
const post = (m: FuzzMessage): void => parentPort!.postMessage(m);
for (const index of job.indexes) {
  const { text } = mutant(job.pool, job.seed, index);
  post({ type: 'start', index });
  const t0 = performance.now();
  try {
    const outcome = await parseAndPlan(text);
    post({ type: 'done', index, outcome, ms: performance.now() - t0 });
  } catch (e) {
    const c = e instanceof Crash ? e : new Crash('fuzz', e);
    post({ type: 'crash', index, phase: c.phase, message: c.message, ms: performance.now() - t0 });
  }
}
post({ type: 'end' });
