/** The image API: layers, configs, manifests, validation and the archive formats. */
export * from './types.js';
export type * from './layer-entry.js';
export { writeLayer, writeTarLayer, sortLayerEntries, compareLayerPaths, type WriteLayerOptions, type LayerResult } from './layer-writer.js';
export { openLayer, measureLayer, verifyingTransform } from './layer-reader.js';
export { createCompressor, createDecompressor, detectCompression, layerCompression, layerMediaType, DOCKER_LAYER_ZSTD, DEFAULT_GZIP_LEVEL, type Compression, type InputCompression } from './compression.js';
export {
  HISTORY_COMMENT,
  emptyConfig,
  appendLayer,
  appendHistory,
  withContainerConfig,
  normalizeConfig,
  serializeConfig,
  createdTime,
  configPlatform,
  type TimeOptions,
} from './config.js';
export { writeImage, readImage, buildManifest, serializeManifest, serializeIndex, normalizeDescriptor, layerForFormat, isManifestType, isIndexType, type ImageFormat, type WriteImageOptions, type WrittenImage } from './manifest.js';
export { validateImage, type ValidateOptions } from './validate.js';
export { applyChanges, CHANGE_INSTRUCTIONS } from './changes.js';
export { goJson, rfc3339 } from './json.js';
export { exportOciLayout, refAnnotations, REF_NAME_ANNOTATION, IMAGE_NAME_ANNOTATION, type LayoutRef } from './formats/oci-layout.js';
export { exportDockerArchive, type DockerArchiveImage, type DockerArchiveManifestEntry } from './formats/docker-archive.js';
export { importArchive, importRootfs, type ImportedImage, type ImportRootfsOptions } from './formats/import.js';
export { reachableBlobs, resolveImageManifest, readManifestOrIndex, hostPlatform } from './formats/walk.js';
export * from './reference.js';
