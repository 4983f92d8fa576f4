/**
 * A worker for tests that run the builder's handlers without root, runc or a base image: the
 * executor records what it was asked to run, and there are no snapshots (a step that needs the
 * image's filesystem fails with a clear error). The real worker (src/builder/worker.ts) is what
 * every build test and test/runtime's executor and snapshotter suites use.
 */
import type { ExecSpec, Executor, ExitStatus } from '../../src/runtime/executor.js';
import type { Mount } from '../../src/runtime/mount.js';
import type { ContentStore } from '../../src/store/types.js';
import type { Worker } from '../../src/builder/worker.js';

/** An Executor that records each run and answers `exitCode` (0 by default) without running anything. */
export class RecordingExecutor implements Executor {
  readonly runs: { spec: ExecSpec; rootfs: Mount[] }[] = [];
  constructor(private readonly exitCode = 0) {}

  async run(spec: ExecSpec, rootfsMounts: Mount[], signal?: AbortSignal): Promise<ExitStatus> {
    signal?.throwIfAborted();
    this.runs.push({ spec, rootfs: rootfsMounts });
    return { exitCode: this.exitCode };
  }
}

export interface FakeWorker extends Worker {
  readonly executor: RecordingExecutor;
}

/** A worker whose layers() and snapshotter() refuse (key computation never needs them). */
export function fakeWorker(content: ContentStore = noContent()): FakeWorker {
  const refuse = async (): Promise<never> => {
    throw new Error('fake worker: no snapshots (this test computes keys only)');
  };
  return { content, executor: new RecordingExecutor(), layers: refuse, snapshotter: refuse, close: async () => {} };
}

function noContent(): ContentStore {
  return new Proxy({} as ContentStore, {
    get: (_t, name) => () => {
      throw new Error(`fake worker: no content store (${String(name)})`);
    },
  });
}
