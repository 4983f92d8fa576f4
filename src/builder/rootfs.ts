/**
 * Materialised root filesystems. Layers are extracted once per chain ID into the snapshotter
 * (src/runtime) and reused by every later build; a read-only view of a stage's filesystem is an
 * overlay (or bind) mount of that chain, made for the time of one callback and always undone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { layerSource } from '../image/layers.js';
import type { ContentStore } from '../oci/content-store.js';
import { ensureLayerChain, onChain, type Snapshotter } from '../runtime/snapshotter.js';
import { mountAll, unmountAll } from '../runtime/mount.js';
import { tieRemoval } from '../runtime/watchdog.js';
import type { LayerRef } from './state.js';

export class RootfsManager {
  constructor(
    readonly snapshotter: Snapshotter,
    private readonly store: ContentStore,
    private readonly tmpDir: string,
  ) {}

  /** Extracts what is missing of `layers` and returns the top chain's snapshot name ('' for none). */
  async chain(layers: readonly LayerRef[]): Promise<string> {
    return ensureLayerChain(
      this.snapshotter,
      layers.map((l) => layerSource(this.store, l)),
    );
  }

  /**
   * Runs `fn` with a read-only view of the filesystem made of `layers` mounted at a temporary
   * directory. The view is unmounted and removed when `fn` settles, whatever happens.
   */
  withView<T>(layers: readonly LayerRef[], fn: (dir: string) => Promise<T>): Promise<T> {
    return this.withViews([layers], ([dir]) => fn(dir));
  }

  /**
   * {@link withView} of several filesystems at once (COPY --from: the destination's and the
   * source's): they are mounted, and afterwards unmounted, concurrently rather than one inside
   * the other, which was two process waits more per COPY --from.
   */
  async withViews<T>(layerSets: readonly (readonly LayerRef[])[], fn: (dirs: string[]) => Promise<T>): Promise<T> {
    const made: { target: string; key?: string; mounted: boolean; untie?: () => void }[] = [];
    const undo = async (): Promise<void> => {
      await Promise.all(
        made.map(async (v) => {
          if (v.mounted) await unmountAll(v.target);
          if (v.key) await this.snapshotter.remove(v.key).catch(() => undefined);
          await rm(v.target, { recursive: true, force: true }).catch(() => undefined);
          v.untie?.();
        }),
      );
    };
    try {
      // allSettled: when one view fails, the others must have finished mounting before the
      // finally below undoes them.
      const settled = await Promise.allSettled(
        layerSets.map(async (layers) => {
          const v: { target: string; key?: string; mounted: boolean; untie?: () => void } = { target: '', mounted: false };
          const parent = await this.chain(layers);
          v.target = await mkdtemp(path.join(this.tmpDir, 'view-'));
          v.untie = tieRemoval(v.target); // removed by the watchdog if the build is killed
          made.push(v);
          const key = `view-${process.pid}-${randomBytes(6).toString('hex')}`;
          const mounts = await onChain(() => this.chain(layers), (p) => this.snapshotter.view(key, p || undefined), parent);
          v.key = key;
          // Marked before mounting: a mount that fails half-way is still looked for and undone.
          v.mounted = true;
          await mountAll(mounts, v.target);
          return v.target;
        }),
      );
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return await fn(settled.map((r) => (r as PromiseFulfilledResult<string>).value));
    } finally {
      await undo();
    }
  }
}
