/**
 * An image's layers checked against its config's `rootfs.diff_ids` (the sha256 of each layer's
 * uncompressed tar) when the image first enters the store (load of an OCI layout, pull), as
 * containerd's unpacker does: a blob's own digest only proves it is the blob the manifest
 * names, not that it holds the filesystem the config (and so the image ID and every ChainID)
 * claims. The extraction of a layer checks it again (src/runtime/snapshotter.ts).
 */
import { BuildError, DigestMismatchError } from '../errors.js';
import type { ContentStore } from '../oci/content-store.js';
import { layerCompression } from './compression.js';
import { measureLayer } from './layer-reader.js';
import type { Descriptor, ImageConfig } from '../oci/types.js';

/**
 * Checks every layer of `layers` against `config.rootfs.diff_ids`: an uncompressed layer's
 * digest must equal its diffId; a compressed one is decompressed and hashed. `what` names the
 * image in messages. Throws BuildError INVALID_ARGUMENT when the counts differ and
 * DigestMismatchError naming the layer and both digests on the first mismatch.
 */
export async function verifyDiffIds(store: ContentStore, layers: readonly Descriptor[], config: ImageConfig, what: string): Promise<void> {
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== layers.length) {
    throw new BuildError('INVALID_ARGUMENT', `${what}: the manifest lists ${layers.length} layers but the config has ${Array.isArray(diffIds) ? diffIds.length : 'no'} diff_ids`);
  }
  for (const [i, layer] of layers.entries()) {
    const got = layerCompression(layer.mediaType) === 'none' ? layer.digest : (await measureLayer(store, layer)).diffId;
    if (got !== diffIds[i]) {
      throw new DigestMismatchError(`${what}: layer ${i + 1} (${layer.digest}) uncompresses to ${got}, but the config's diff_ids[${i}] says ${diffIds[i]}`, {
        hint: 'the image is corrupt or was tampered with; it was not stored under any name',
      });
    }
  }
}
