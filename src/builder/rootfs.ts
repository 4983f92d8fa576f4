/**
 * Materialised root filesystems. Layers are extracted once per chain ID into the snapshotter
 * (src/runtime) and reused by every later build; a read-only view of a stage's filesystem is an
 * overlay (or bind) mount of that chain, made for the time of one callback and always undone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openLayer } from '../image/layer-reader.js';
import type { ContentStore } from '../store/types.js';
import { ensureLayerChain, type Snapshotter } from '../runtime/snapshotter.js';
import { mountAll, unmountAll } from '../runtime/mount.js';
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
      layers.map((l) => ({ diffId: l.diffId, open: () => openLayer(this.store, l.descriptor) })),
    );
  }

  /**
   * Runs `fn` with a read-only view of the filesystem made of `layers` mounted at a temporary
   * directory. The view is unmounted and removed when `fn` settles, whatever happens.
   */
  async withView<T>(layers: readonly LayerRef[], fn: (dir: string) => Promise<T>): Promise<T> {
    const parent = await this.chain(layers);
    const target = await mkdtemp(path.join(this.tmpDir, 'view-'));
    const key = `view-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      const mounts = await this.snapshotter.view(key, parent || undefined);
      try {
        await mountAll(mounts, target);
        return await fn(target);
      } finally {
        await unmountAll(target);
        await this.snapshotter.remove(key).catch(() => undefined);
      }
    } finally {
      await rm(target, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
