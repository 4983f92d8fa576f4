/**
 * The worker (BuildKit's word): what a build's steps run on, made once per build and handed to
 * every handler. Handlers never construct an executor or a snapshotter themselves: a test gives
 * them a fake worker (test/builder/fake-worker.ts) and checks the builder without root.
 */
import { BuildError } from '../errors.js';
import { RuncExecutor, type Executor } from '../runtime/executor.js';
import { createSnapshotter, type Snapshotter } from '../runtime/snapshotter.js';
import type { ContentStore } from '../oci/content-store.js';
import { RootfsManager } from './rootfs.js';
import { storeDir } from '../store/store-dirs.js';
import { storeLayout } from '../store/layout.js';

export interface Worker {
  /** Where steps write their layers (through the build's lease, so a concurrent prune keeps them). */
  readonly content: ContentStore;
  /** Runs RUN steps' processes. */
  readonly executor: Executor;
  /**
   * Layer chains extracted into snapshots and read-only views of them. Made on first use
   * (metadata-only builds never need one); the local worker throws BuildError `RUNTIME` when
   * it cannot mount (not root).
   */
  layers(): Promise<RootfsManager>;
  /** The snapshotter behind `layers()`. */
  snapshotter(): Promise<Snapshotter>;
  /** Waits for background work the worker started (cleanup of leftovers); never throws. */
  close(): Promise<void>;
}

export interface LocalWorkerOptions {
  /** Store root: snapshots under `snapshots/`, runc state under `runtime/`, temporaries under `tmp/`. */
  root: string;
  /** OCI runtime binary (default runc). */
  runtime?: string;
  /** Where layers are written. */
  content: ContentStore;
  /** Where layers are read from when extracted (the store, or the remote cache's lazy view of it). */
  layerSource: ContentStore;
  /** Remove snapshots that killed builds left, in the background, once the snapshotter is opened. */
  cleanLeftovers?: boolean;
}

/** The worker of a local build: runc and the store's snapshotter (overlay, else native). */
export function localWorker(o: LocalWorkerOptions): Worker {
  let layersP: Promise<RootfsManager> | undefined;
  let cleanupP: Promise<void> | undefined;
  const layers = (): Promise<RootfsManager> => {
    layersP ??= (async () => {
      // Extracting layers (owners, devices) and running steps (mounts, runc) need root.
      if (typeof process.getuid === 'function' && process.getuid() !== 0) {
        throw new BuildError('RUNTIME', 'this step needs the image\'s filesystem, which mybuild can only mount and run as root', {
          hint: 'run mybuild as root, or without MYBUILD_ROOTLESS=0 (rootless mode: a user namespace), or talk to a mybuild daemon with -H',
        });
      }
      const tmp = storeLayout(o.root).tmp;
      await storeDir(tmp);
      const sn = await createSnapshotter(storeLayout(o.root).snapshots);
      // Snapshots left by killed builds (registerBuild found one's marker) are removed while
      // this build goes on: cleanup is safe against snapshots being created meanwhile (see
      // Snapshotter.cleanup), and reading every snapshot's metadata first cost ~20 ms before the
      // first COPY or RUN in a store with a hundred snapshots. close() waits for it; a failure
      // only leaves the leftovers for the next build.
      if (o.cleanLeftovers) cleanupP = sn.cleanup().catch(() => undefined);
      return new RootfsManager(sn, o.layerSource, tmp);
    })();
    return layersP;
  };
  return {
    content: o.content,
    executor: new RuncExecutor({ root: storeLayout(o.root).runtime, runtime: o.runtime }),
    layers,
    snapshotter: async () => (await layers()).snapshotter,
    close: async () => {
      await cleanupP;
    },
  };
}
