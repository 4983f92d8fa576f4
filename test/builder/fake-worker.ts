/**
 * Workers for tests that run the builder's handlers without root, runc or a base image: the
 * executor records what it was asked to run (and may act on the rootfs directory, as the
 * process would), and snapshots are either absent (key computation) or the real
 * NativeSnapshotter, whose bind mounts the recording executor never mounts. The real worker
 * (src/builder/worker.ts) is what every build test uses; test/runtime keeps the executor's and
 * the snapshotters' own tests.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { RootfsManager } from '../../src/builder/rootfs.js';
import type { ExecSpec } from '../../src/runtime/spec.js';
import type { Executor, ExitStatus } from '../../src/runtime/executor.js';
import type { Mount } from '../../src/runtime/mount.js';
import { NativeSnapshotter } from '../../src/runtime/snapshotter.js';
import type { ContentStore } from '../../src/oci/content-store.js';
import type { Worker } from '../../src/builder/worker.js';

/** What a recorded run may do in place of the process: change its rootfs directory. */
export type FakeProcess = (spec: ExecSpec, rootfsDir: string) => Promise<number | void>;

/**
 * An Executor that records each run and, instead of running it, calls `process` with the
 * rootfs directory (the source of the snapshot's one bind mount); its result is the exit code
 * (default 0).
 */
export class RecordingExecutor implements Executor {
  readonly runs: { spec: ExecSpec; rootfs: Mount[] }[] = [];
  constructor(private readonly process?: FakeProcess) {}

  async run(spec: ExecSpec, rootfsMounts: Mount[], signal?: AbortSignal): Promise<ExitStatus> {
    signal?.throwIfAborted();
    this.runs.push({ spec, rootfs: rootfsMounts });
    const dir = rootfsMounts.length === 1 && rootfsMounts[0]!.type === 'bind' ? rootfsMounts[0]!.source : undefined;
    if (!this.process) return { exitCode: 0 };
    if (!dir) throw new Error('RecordingExecutor: a process needs a single bind-mounted rootfs');
    return { exitCode: (await this.process(spec, dir)) ?? 0 };
  }
}

/**
 * A worker on a NativeSnapshotter under `root` (no mounts are made: the recording executor
 * works on the snapshot's directory) writing layers to `content`.
 */
export async function snapshotWorker(root: string, content: ContentStore, process?: FakeProcess): Promise<FakeWorker> {
  const tmp = path.join(root, 'tmp');
  await mkdir(tmp, { recursive: true });
  const sn = new NativeSnapshotter(path.join(root, 'snapshots'));
  const layers = new RootfsManager(sn, content, tmp);
  return { content, executor: new RecordingExecutor(process), layers: async () => layers, snapshotter: async () => sn, close: async () => {} };
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
