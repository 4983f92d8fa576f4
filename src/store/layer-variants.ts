/**
 * Lazy layer compression (issue 21): a build keeps its layers uncompressed in the store (an
 * `application/vnd.oci.image.layer.v1.tar` blob whose digest is the diffID), and the stored
 * manifest references them. A compressed blob is made only when something needs one (push, an
 * OCI / docker export, `save`, a cache export), once per (diffID, compression, level), and kept:
 *
 *     <root>/variants/<diffID hex>/<compression>-<level>   → {"mediaType","digest","size"} (JSON)
 *
 * as containerd keeps such variants by label. `prune` (gc.ts) keeps the variants of live layers
 * and drops the others. The compressed bytes are deterministic (ParallelGzip's fixed chunking,
 * zstd's fixed settings), so the manifest `distributable` writes for an image is the one a build
 * that gzipped while it built made: same pushed digest. The config (the image ID) never changes.
 *
 * `<root>/variants/pushed.json` records, per local manifest, the digest each repository was
 * pushed as (what `inspect` shows as RepoDigests: the digest the registry serves).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InternalError } from '../errors.js';
import { DEFAULT_GZIP_LEVEL, layerCompression, layerMediaType, type Compression } from '../image/compression.js';
import { openLayer } from '../image/layer-reader.js';
import { isAttestationEntry, REFERENCE_DIGEST_ANNOTATION, retargetAttestation } from '../image/attestation.js';
import { writeTarLayer } from '../image/layer-writer.js';
import { isIndexType, isManifestType, parseJsonBlob, serializeIndex, serializeManifest } from '../image/manifest.js';
import type { Reference } from '../oci/reference.js';
import { parseReference } from '../image/reference.js';
import { MediaTypes, type Descriptor, type Digest, type Index, type Manifest } from '../oci/types.js';
import { isDigest } from '../oci/digest.js';
import { withLock, writeFileAtomic } from './fs-util.js';
import { splitName } from './display.js';
import type { ImageStore } from './image-store.js';
import type { ContentStore } from '../oci/content-store.js';
import { storeLayout } from './layout.js';

/** The compression a distributable image's layers get. */
export interface VariantChoice {
  compression: Compression;
  /** gzip 0..9 (default 6), zstd 1..19 (default 3). */
  level?: number;
}

/** The zstd level used when none is given (see compression.ts). */
const DEFAULT_ZSTD_LEVEL = 3;

function levelOf(c: VariantChoice): number {
  return c.level ?? (c.compression === 'zstd' ? DEFAULT_ZSTD_LEVEL : DEFAULT_GZIP_LEVEL);
}

/** The variant index directory of a store root. */
export function variantsDir(root: string): string {
  return storeLayout(root).variants;
}

function hexOf(d: Digest): string {
  return d.slice('sha256:'.length);
}

/** The compressed variants of uncompressed layers kept in a store (see the module comment). */
export class LayerVariants {
  readonly dir: string;
  private readonly tmp: string;

  constructor(root: string) {
    this.dir = variantsDir(root);
    this.tmp = storeLayout(root).tmp;
  }

  private file(diffId: Digest, c: VariantChoice): string {
    if (!isDigest(diffId)) throw new InternalError(`invalid diffID ${diffId}`);
    return path.join(this.dir, hexOf(diffId), `${c.compression}-${levelOf(c)}`);
  }

  /** The recorded variant, or null (also when the record is unreadable). Does not check the blob. */
  async get(diffId: Digest, c: VariantChoice): Promise<Descriptor | null> {
    try {
      const d = JSON.parse(await fs.readFile(this.file(diffId, c), 'utf8')) as Descriptor;
      return isDigest(d.digest) && typeof d.size === 'number' && typeof d.mediaType === 'string' ? d : null;
    } catch {
      return null;
    }
  }

  async set(diffId: Digest, c: VariantChoice, desc: Descriptor): Promise<void> {
    const f = this.file(diffId, c);
    await fs.mkdir(path.dirname(f), { recursive: true, mode: 0o700 });
    await fs.mkdir(this.tmp, { recursive: true, mode: 0o700 });
    await writeFileAtomic(f, JSON.stringify({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size }), this.tmp);
  }

  /** Every recorded variant: its diffID, record file and descriptor (unreadable records: desc null). */
  async list(): Promise<{ diffId: Digest; file: string; desc: Descriptor | null }[]> {
    const out: { diffId: Digest; file: string; desc: Descriptor | null }[] = [];
    let dirs: string[];
    try {
      dirs = await fs.readdir(this.dir);
    } catch {
      return out;
    }
    for (const hex of dirs) {
      const diffId = `sha256:${hex}`;
      if (!isDigest(diffId)) continue;
      let files: string[];
      try {
        files = await fs.readdir(path.join(this.dir, hex));
      } catch {
        continue;
      }
      for (const name of files) {
        const file = path.join(this.dir, hex, name);
        let desc: Descriptor | null = null;
        try {
          desc = JSON.parse(await fs.readFile(file, 'utf8')) as Descriptor;
        } catch {
          desc = null;
        }
        out.push({ diffId, file, desc });
      }
    }
    return out;
  }

  /** Removes one record (and its diffID directory once empty). */
  async remove(file: string): Promise<void> {
    await fs.rm(file, { force: true });
    await fs.rmdir(path.dirname(file)).catch(() => undefined);
  }

  private get pushedFile(): string {
    return path.join(this.dir, 'pushed.json');
  }

  private async readPushed(): Promise<Record<string, Record<string, string>>> {
    try {
      return JSON.parse(await fs.readFile(this.pushedFile, 'utf8')) as Record<string, Record<string, string>>;
    } catch {
      return {};
    }
  }

  /** Records that `repo` (e.g. `127.0.0.1:5000/app`) was pushed as `pushed` for the local manifest `local`. */
  async recordPush(local: Digest, repo: string, pushed: Digest): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.tmp, { recursive: true, mode: 0o700 });
    await withLock(path.join(this.dir, 'pushed.lock'), this.tmp, async () => {
      const all = await this.readPushed();
      all[local] = { ...(all[local] ?? {}), [repo]: pushed };
      await writeFileAtomic(this.pushedFile, JSON.stringify(all), this.tmp);
    });
  }

  /** The digests the local manifest `local` was pushed as, by repository. */
  async pushedAs(local: Digest): Promise<Record<string, string>> {
    return (await this.readPushed())[local] ?? {};
  }

  /** Drops the push records of manifests not in `live` (prune). */
  async keepPushed(live: Set<Digest>): Promise<void> {
    const all = await this.readPushed();
    const kept = Object.fromEntries(Object.entries(all).filter(([d]) => live.has(d as Digest)));
    if (Object.keys(kept).length === Object.keys(all).length) return;
    await writeFileAtomic(this.pushedFile, JSON.stringify(kept), this.tmp);
  }
}

/**
 * The compressed variant of the uncompressed layer `layer` (digest = diffID): the recorded one
 * when its blob is still stored, else made now (streamed: read, compressed in parallel, written
 * into `content`, the diffID checked on the way) and recorded.
 */
export async function compressedLayer(variants: LayerVariants, content: ContentStore, layer: Descriptor, c: VariantChoice, format: 'oci' | 'docker'): Promise<Descriptor> {
  const diffId = layer.digest;
  const mediaType = layerMediaType(c.compression, format);
  const known = await variants.get(diffId, c);
  if (known && (await content.info(known.digest))?.size === known.size) return { ...layer, mediaType, digest: known.digest, size: known.size };
  // The store's reader verifies the plain tar against its digest (the diffID) as it streams.
  const written = await writeTarLayer(await openLayer(content, layer), content, {
    knownDiffId: { digest: diffId, size: layer.size },
    compression: c.compression,
    ...(c.compression === 'zstd' ? { zstdLevel: levelOf(c) } : { gzipLevel: levelOf(c) }),
  });
  await variants.set(diffId, c, written.descriptor);
  return { ...layer, mediaType, digest: written.descriptor.digest, size: written.descriptor.size };
}

/**
 * The manifest (or index) `desc` with every uncompressed layer replaced by its `c` variant (made
 * when missing), written to `content`; `desc` itself when no layer is uncompressed or `c` is
 * `none`. Compressed layers are kept as they are. An index gets each stored child converted;
 * children not stored locally are kept.
 */
export async function distributable(variants: LayerVariants, content: ContentStore, desc: Descriptor, c: VariantChoice): Promise<Descriptor> {
  if (c.compression === 'none') return desc;
  const bytes = await content.readBytes(desc.digest);
  if (isIndexType(desc.mediaType)) {
    const idx = parseJsonBlob<Index>(bytes, `index ${desc.digest}`);
    let changed = false;
    const manifests: Descriptor[] = [];
    const moved = new Map<Digest, Descriptor>();
    for (const child of idx.manifests) {
      if (isAttestationEntry(child) || !(await content.info(child.digest)) || !(isManifestType(child.mediaType) || isIndexType(child.mediaType))) {
        manifests.push(child);
        continue;
      }
      const out = await distributable(variants, content, child, c);
      if (out.digest !== child.digest) {
        changed = true;
        moved.set(child.digest, out);
      }
      manifests.push({ ...child, digest: out.digest, size: out.size });
    }
    if (!changed) return desc;
    // An attestation names the manifest it describes: it follows it to its new digest (src/image/attestation.ts).
    for (const [i, child] of manifests.entries()) {
      const target = isAttestationEntry(child) ? moved.get(child.annotations![REFERENCE_DIGEST_ANNOTATION] as Digest) : undefined;
      if (target && (await content.info(child.digest))) manifests[i] = await retargetAttestation(content, child, child.annotations![REFERENCE_DIGEST_ANNOTATION] as Digest, target);
    }
    const info = await content.writeBytes(serializeIndex({ ...idx, manifests }));
    return { ...desc, digest: info.digest, size: info.size };
  }
  if (!isManifestType(desc.mediaType)) return desc;
  const m = parseJsonBlob<Manifest>(bytes, `manifest ${desc.digest}`);
  const format = m.mediaType === MediaTypes.DOCKER_MANIFEST ? 'docker' : 'oci';
  if (!m.layers.some((l) => layerCompression(l.mediaType) === 'none')) return desc;
  const layers: Descriptor[] = [];
  for (const l of m.layers) layers.push(layerCompression(l.mediaType) === 'none' ? await compressedLayer(variants, content, l, c, format) : l);
  const info = await content.writeBytes(serializeManifest({ ...m, layers }));
  return { ...desc, digest: info.digest, size: info.size };
}

/**
 * Runs `fn` with the distributable form of `desc` (see {@link distributable}) under a lease, so
 * a prune meanwhile cannot take the compressed blobs or the new manifest before `fn` used them.
 */
export async function withDistributable<T>(store: ImageStore, desc: Descriptor, choice: VariantChoice, fn: (desc: Descriptor) => Promise<T>): Promise<T> {
  const lease = await store.lease();
  try {
    const variants = new LayerVariants(store.root);
    // Existing variants are pinned before they are checked (writes through the lease pin themselves).
    const c = lease.content;
    const pinning: ContentStore = {
      reader: (d) => c.reader(d),
      readBytes: (d, max) => c.readBytes(d, max),
      info: async (d) => {
        await lease.add(d);
        return c.info(d);
      },
      write: (src, expected) => c.write(src, expected),
      writeBytes: (data, expected) => c.writeBytes(data, expected),
      delete: (d) => c.delete(d),
      list: () => c.list(),
    };
    return await fn(await distributable(variants, pinning, desc, choice));
  } finally {
    await lease.release();
  }
}

/**
 * Pushes `desc` as `ref` in its distributable form (see {@link withDistributable}) with `doPush`
 * (the registry client's push), by digest when `byDigest`; records the digest the registry
 * serves for the repository (RepoDigests). Returns the reference pushed and that digest.
 */
export async function pushDistributable(
  store: ImageStore,
  ref: Reference,
  desc: Descriptor,
  choice: VariantChoice,
  byDigest: boolean,
  doPush: (ref: Reference, desc: Descriptor) => Promise<{ digest: string }>,
): Promise<{ ref: string; digest: string }> {
  return withDistributable(store, desc, choice, async (d) => {
    const target = byDigest ? parseReference(`${ref.domain}/${ref.path}@${d.digest}`) : ref;
    const { digest } = await doPush(target, d);
    await new LayerVariants(store.root).recordPush(desc.digest, splitName(ref.toString()).repository, digest as Digest);
    return { ref: target.toString(), digest };
  });
}
