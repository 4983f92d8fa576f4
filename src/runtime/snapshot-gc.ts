/**
 * Garbage collection and disk usage of the store's extracted layers (`<root>/snapshots`), for
 * `prune` and `system df`. A committed snapshot is kept when its chain is a prefix of the layers
 * of an image of the store (tagged or dangling; every stored platform of an index), when its top
 * layer is the layer of a build cache record, or when a snapshot on top of it is kept or
 * active (a container's rootfs, a running build step); the others are removed
 * (Snapshotter.removeUnused, safe alongside builds: see snapshotter.ts).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isIndexType, isManifestType } from '../image/manifest.js';
import type { Descriptor, Index, Manifest } from '../oci/types.js';
import type { ImageStore } from '../store/image-store.js';
import { chainId, createSnapshotter, diskUsage } from './snapshotter.js';
import { storeLayout } from '../store/layout.js';

/** The chain IDs of every layer prefix of the images under `desc`. */
async function chainsOf(store: ImageStore, desc: Descriptor, out: Set<string>, seen: Set<string>): Promise<void> {
  if (seen.has(desc.digest)) return;
  seen.add(desc.digest);
  if (!isIndexType(desc.mediaType) && !isManifestType(desc.mediaType)) return;
  let json: Partial<Manifest & Index>;
  try {
    json = JSON.parse((await store.content.readBytes(desc.digest)).toString('utf8')) as Partial<Manifest & Index>;
  } catch {
    return; // not stored (a platform that was not pulled)
  }
  if (Array.isArray(json.manifests)) for (const m of json.manifests) await chainsOf(store, m, out, seen);
  if (!json.config) return;
  try {
    const diffIds = (await store.readConfig(json.config.digest)).rootfs?.diff_ids ?? [];
    for (let i = 1; i <= diffIds.length; i++) out.add(chainId(diffIds.slice(0, i)));
  } catch {
    // no config: nothing to keep
  }
}

/** What the store keeps (see the module comment). */
async function keepSet(store: ImageStore): Promise<{ names: Set<string>; diffIds: Set<string> }> {
  const names = new Set<string>();
  const seen = new Set<string>();
  for (const r of await store.listRefs()) await chainsOf(store, r.descriptor, names, seen);
  for (const d of await store.listDangling()) await chainsOf(store, d, names, seen);
  const diffIds = new Set<string>();
  for (const key of await store.cache.keys()) {
    const rec = await store.cache.get(key).catch(() => null);
    if (rec?.layer?.diffId) diffIds.add(rec.layer.diffId);
  }
  return { names, diffIds };
}

export interface SnapshotPruneResult {
  removed: { name: string; bytes: number }[];
  bytesFreed: number;
}

/** Removes the committed snapshots no image, cache record or other snapshot needs. */
export async function pruneSnapshots(store: ImageStore): Promise<SnapshotPruneResult> {
  const sn = await createSnapshotter(storeLayout(store.root).snapshots);
  const removed = await sn.removeUnused(await keepSet(store));
  return { removed, bytesFreed: removed.reduce((n, r) => n + r.bytes, 0) };
}

/** Committed snapshots and the bytes every snapshot directory holds (every snapshotter's). */
export async function snapshotUsage(store: ImageStore): Promise<{ committed: number; total: number; bytes: number }> {
  let bytes = 0;
  for (const kind of ['overlay', 'fuse-overlayfs', 'native']) {
    const dir = path.join(storeLayout(store.root).snapshots, kind, 's');
    if ((await readdir(dir).catch(() => [] as string[])).length > 0) bytes += await diskUsage(dir);
  }
  const sn = await createSnapshotter(storeLayout(store.root).snapshots);
  const all = await sn.list();
  return { committed: all.filter((s) => s.kind === 'committed').length, total: all.length, bytes };
}
