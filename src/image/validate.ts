/**
 * Checks that an image in a store is complete and consistent, like go-containerregistry's
 * `validate.Image`. Every test that builds an image calls it.
 */
import { BuildError, DigestMismatchError } from '../errors.js';
import type { ContentStore } from '../oci/content-store.js';
import { layerCompression } from './compression.js';
import { measureLayer } from './layer-reader.js';
import { isManifestType, parseJsonBlob } from './manifest.js';
import { MediaTypes, type Digest, type ImageConfig, type Manifest } from '../oci/types.js';

export interface ValidateOptions {
  /** Decompress every layer to check its diffId (default true). False only checks presence and sizes. */
  layers?: boolean;
}

function invalid(msg: string): BuildError {
  return new BuildError('INVALID_ARGUMENT', `invalid image: ${msg}`);
}

/**
 * Validates the image whose manifest is `manifestDigest`:
 * - the manifest is an OCI or Docker schema2 image manifest, its config and layer media types
 *   belong to that format family, and it parses;
 * - the config blob exists with the descriptor's size and digest, parses, has os,
 *   architecture and `rootfs.type: layers`;
 * - every layer blob exists with the descriptor's size; with `layers` (default) each layer's
 *   uncompressed digest equals its `rootfs.diff_ids` entry (and its compressed digest is
 *   verified while read);
 * - `diff_ids` and layers have the same count, and so do layers and the history entries
 *   without `empty_layer` (when there is a history).
 * Returns the parsed manifest and config. Throws DigestMismatchError for content that does not
 * match its digest, NotFoundError for a missing blob, BuildError INVALID_ARGUMENT otherwise.
 */
export async function validateImage(store: ContentStore, manifestDigest: Digest, opts: ValidateOptions = {}): Promise<{ manifest: Manifest; config: ImageConfig }> {
  const mBytes = await store.readBytes(manifestDigest);
  const manifest = parseJsonBlob<Manifest>(mBytes, `manifest ${manifestDigest}`);
  if (manifest.schemaVersion !== 2) throw invalid(`manifest schemaVersion is ${String(manifest.schemaVersion)}, expected 2`);
  const mediaType = manifest.mediaType ?? MediaTypes.OCI_MANIFEST;
  if (!isManifestType(mediaType)) throw invalid(`manifest mediaType is ${mediaType}, expected an image manifest`);
  const docker = mediaType === MediaTypes.DOCKER_MANIFEST;
  if (!manifest.config || !Array.isArray(manifest.layers)) throw invalid('manifest lacks config or layers');
  const wantConfigType = docker ? MediaTypes.DOCKER_CONFIG : MediaTypes.OCI_CONFIG;
  if (manifest.config.mediaType !== wantConfigType) throw invalid(`config mediaType is ${manifest.config.mediaType}, expected ${wantConfigType}`);

  const cInfo = await store.info(manifest.config.digest);
  if (!cInfo) throw invalid(`config blob ${manifest.config.digest} is missing`);
  if (cInfo.size !== manifest.config.size) throw new DigestMismatchError(`config ${manifest.config.digest}: descriptor says ${manifest.config.size} bytes, blob has ${cInfo.size}`);
  const config = parseJsonBlob<ImageConfig>(await store.readBytes(manifest.config.digest), `config ${manifest.config.digest}`);
  if (!config.os || !config.architecture) throw invalid('config lacks os or architecture');
  if (config.rootfs?.type !== 'layers' || !Array.isArray(config.rootfs.diff_ids)) throw invalid('config rootfs is not {type: "layers", diff_ids: [...]}');
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) throw invalid(`manifest has ${manifest.layers.length} layers, config has ${diffIds.length} diff_ids`);
  if (config.history) {
    const nonEmpty = config.history.filter((h) => !h.empty_layer).length;
    if (nonEmpty !== manifest.layers.length) throw invalid(`history has ${nonEmpty} non-empty entries for ${manifest.layers.length} layers`);
  }

  for (const [i, layer] of manifest.layers.entries()) {
    layerCompression(layer.mediaType); // throws for non-layer types
    const isDockerType = layer.mediaType.startsWith('application/vnd.docker.');
    if (isDockerType !== docker) throw invalid(`layer ${i} has media type ${layer.mediaType} in a ${docker ? 'Docker' : 'OCI'} manifest`);
    const info = await store.info(layer.digest);
    if (!info) throw invalid(`layer ${i} blob ${layer.digest} is missing`);
    if (info.size !== layer.size) throw new DigestMismatchError(`layer ${i} ${layer.digest}: descriptor says ${layer.size} bytes, blob has ${info.size}`);
    if (opts.layers !== false) {
      const got = await measureLayer(store, layer);
      if (got.diffId !== diffIds[i]) throw new DigestMismatchError(`layer ${i} ${layer.digest}: uncompressed digest is ${got.diffId}, config diff_ids[${i}] says ${diffIds[i]}`);
    }
  }
  return { manifest, config };
}
