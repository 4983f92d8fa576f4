/**
 * An image's layers as one list, as go-containerregistry's `v1.Layer` gives them: each layer's
 * blob descriptor (from the manifest) paired with its diff ID (the config's `rootfs.diff_ids`
 * entry of the same index). This is the one place the two lists are zipped; `layerSource` is the
 * one opener the snapshotter extracts a layer from.
 */
import type { Readable } from 'node:stream';
import { BuildError } from '../errors.js';
import type { ContentStore } from '../oci/content-store.js';
import type { Descriptor, Digest, ImageConfig, Manifest } from '../oci/types.js';
import { openLayer } from './layer-reader.js';

/** One layer of an image: its blob and the sha256 of its uncompressed tar. */
export interface Layer {
  descriptor: Descriptor;
  diffId: Digest;
}

/**
 * The layers of `manifest`, each with the config's diff ID of the same index. `what` names the
 * image in the message. Throws BuildError INVALID_ARGUMENT when the two lists differ in length.
 */
export function layersOf(manifest: Pick<Manifest, 'layers'>, config: Pick<ImageConfig, 'rootfs'>, what: string): Layer[] {
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new BuildError('INVALID_ARGUMENT', `${what} has ${manifest.layers.length} layers but ${diffIds.length} diff_ids in its config`);
  }
  return manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i] }));
}

/** A layer as the snapshotter's `ensureLayerChain` extracts it: named by its blob digest, opened uncompressed from `store`. */
export function layerSource(store: ContentStore, layer: Layer): { diffId: Digest; name: string; open(): Promise<Readable> } {
  return { diffId: layer.diffId, name: layer.descriptor.digest, open: () => openLayer(store, layer.descriptor) };
}
