/**
 * Walking the blobs an image or index references, shared by the exporters and importers.
 */
import { BuildError, NotFoundError, DigestMismatchError } from '../../errors.js';
import type { ContentStore } from '../../oci/content-store.js';
import { formatPlatform, hostPlatform, pickManifest } from '../../oci/platform.js';
import { isIndexType, isManifestType, parseJsonBlob } from '../manifest.js';
import { isAttestationEntry } from '../attestation.js';
import type { Descriptor, Digest, Index, Manifest, Platform } from '../../oci/types.js';

/** Reads a manifest or index blob and tells which one it is (by its mediaType field, else by shape). */
export async function readManifestOrIndex(store: ContentStore, desc: Pick<Descriptor, 'digest' | 'mediaType'>): Promise<{ kind: 'manifest'; manifest: Manifest } | { kind: 'index'; index: Index }> {
  const json = parseJsonBlob<Manifest & Index>(await store.readBytes(desc.digest), `manifest ${desc.digest}`);
  const mt = json.mediaType ?? desc.mediaType;
  if (isIndexType(mt) || (!mt && Array.isArray(json.manifests))) return { kind: 'index', index: json };
  if (isManifestType(mt) || (!mt && json.config && Array.isArray(json.layers))) return { kind: 'manifest', manifest: json };
  throw new BuildError('INVALID_ARGUMENT', `${desc.digest} has media type ${String(mt)}, expected an image manifest or index`);
}

/**
 * Every blob reachable from `root` (the root itself, child manifests, configs, layers), each
 * once, children before parents are not guaranteed: the list is sorted by digest. Throws
 * NotFoundError (naming the blob) when one is missing from the store, and DigestMismatchError
 * when a stored blob's size differs from its descriptor. Reads only manifests and indexes whole.
 */
export async function reachableBlobs(store: ContentStore, root: Descriptor): Promise<Descriptor[]> {
  const seen = new Map<Digest, Descriptor>();
  const visit = async (d: Descriptor, parent?: Digest): Promise<void> => {
    if (seen.has(d.digest)) return;
    const info = await store.info(d.digest);
    if (!info) throw new NotFoundError(`blob ${d.digest} (${d.mediaType}) is missing${parent ? `; it is referenced by ${parent}` : ''}`);
    if (info.size !== d.size) throw new DigestMismatchError(`blob ${d.digest}: descriptor says ${d.size} bytes, stored blob has ${info.size}`);
    seen.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
    if (isIndexType(d.mediaType) || isManifestType(d.mediaType)) {
      const m = await readManifestOrIndex(store, d);
      if (m.kind === 'index') for (const c of m.index.manifests) await visit(c, d.digest);
      else {
        await visit(m.manifest.config, d.digest);
        for (const l of m.manifest.layers) await visit(l, d.digest);
      }
    }
  };
  await visit(root);
  return [...seen.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/**
 * The image manifest for `desc`: itself when it is a manifest; for an index, the entry for
 * `platform` (default: the host's; chosen as `pickManifest` does), else the only
 * entry. Throws NotFoundError when an index has no matching entry.
 */
export async function resolveImageManifest(store: ContentStore, desc: Descriptor, platform: Platform = hostPlatform()): Promise<{ descriptor: Descriptor; manifest: Manifest }> {
  const m = await readManifestOrIndex(store, desc);
  if (m.kind === 'manifest') return { descriptor: desc, manifest: m.manifest };
  // Attestation manifests (platform unknown/unknown, ../attestation.ts) are no image to run.
  const images = m.index.manifests.filter((c) => isManifestType(c.mediaType) && !isAttestationEntry(c));
  const match = pickManifest(images, platform) ?? (images.length === 1 ? images[0] : undefined);
  if (!match) {
    const have = images.map((c) => (c.platform ? formatPlatform(c.platform) : c.digest)).join(', ');
    throw new NotFoundError(`index ${desc.digest} has no image for ${platform.os}/${platform.architecture}`, { hint: `it has: ${have || 'no images'}` });
  }
  return resolveImageManifest(store, match, platform);
}
