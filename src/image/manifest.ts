/**
 * Image manifests in OCI (default) or Docker schema2 media types, written deterministically,
 * and reading an image (manifest + config) back from a store.
 */
import { BuildError } from '../errors.js';
import type { ContentStore } from '../oci/content-store.js';
import { layerCompression, layerMediaType } from './compression.js';
import { normalizeConfig, serializeConfig } from './config.js';
import { goJson, ordered, sortedKeys } from './json.js';
import { MediaTypes, type Descriptor, type Digest, type ImageConfig, type Index, type Manifest } from '../oci/types.js';

export type ImageFormat = 'oci' | 'docker';

const DESCRIPTOR_ORDER = ['mediaType', 'digest', 'size', 'urls', 'annotations', 'data', 'platform', 'artifactType'] as const;
const PLATFORM_ORDER = ['architecture', 'os', 'os.version', 'os.features', 'variant'] as const;

/** A descriptor with its keys in OCI struct order (annotations sorted). */
export function normalizeDescriptor(d: Descriptor): Descriptor {
  const out = ordered(d, DESCRIPTOR_ORDER);
  if (out.annotations) out.annotations = sortedKeys(out.annotations);
  if (out.platform) out.platform = ordered(out.platform, PLATFORM_ORDER);
  return out;
}

/** The layer descriptor with its media type for `format` (same bytes: only the type changes). */
export function layerForFormat(layer: Descriptor, format: ImageFormat): Descriptor {
  return normalizeDescriptor({ ...layer, mediaType: layerMediaType(layerCompression(layer.mediaType), format) });
}

/** A manifest for `config` + `layers` in `format`. Annotations only exist in OCI manifests. */
export function buildManifest(config: Descriptor, layers: Descriptor[], format: ImageFormat = 'oci', annotations?: Record<string, string>): Manifest {
  if (format === 'docker' && annotations && Object.keys(annotations).length) {
    throw new BuildError('INVALID_ARGUMENT', 'manifest annotations need the OCI format', { hint: 'use the oci format, or drop the annotations' });
  }
  return ordered(
    {
      schemaVersion: 2 as const,
      mediaType: format === 'docker' ? MediaTypes.DOCKER_MANIFEST : MediaTypes.OCI_MANIFEST,
      config: normalizeDescriptor({ ...config, mediaType: format === 'docker' ? MediaTypes.DOCKER_CONFIG : MediaTypes.OCI_CONFIG }),
      layers: layers.map((l) => layerForFormat(l, format)),
      annotations: annotations && Object.keys(annotations).length ? sortedKeys(annotations) : undefined,
    },
    ['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'subject', 'annotations'],
  );
}

/** The manifest's bytes (canonical order, Go escaping, no trailing newline). */
export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(goJson(ordered({ ...m, config: normalizeDescriptor(m.config), layers: m.layers.map(normalizeDescriptor) }, ['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'subject', 'annotations'])), 'utf8');
}

/** An index's bytes (canonical order). */
export function serializeIndex(idx: Index): Buffer {
  return Buffer.from(goJson(ordered({ ...idx, manifests: idx.manifests.map(normalizeDescriptor) }, ['schemaVersion', 'mediaType', 'artifactType', 'manifests', 'subject', 'annotations'])), 'utf8');
}

export interface WriteImageOptions {
  /** `oci` (default) or `docker` (schema2 media types for manifest, config and layers). */
  format?: ImageFormat;
  /** OCI manifest annotations. */
  annotations?: Record<string, string>;
}

export interface WrittenImage {
  manifestDescriptor: Descriptor;
  configDescriptor: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
}

/**
 * Stores the config and a manifest for `layers` (whose blobs must already be in the store) and
 * returns their descriptors. Deterministic and idempotent: the same config and layers give the
 * same digests. Throws BuildError INVALID_ARGUMENT when the number of layers differs from
 * `rootfs.diff_ids`.
 */
export async function writeImage(store: ContentStore, config: ImageConfig, layers: Descriptor[], opts: WriteImageOptions = {}): Promise<WrittenImage> {
  const format = opts.format ?? 'oci';
  if (config.rootfs.diff_ids.length !== layers.length) {
    throw new BuildError('INVALID_ARGUMENT', `image has ${layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`);
  }
  const cfg = normalizeConfig(config);
  const cfgBytes = serializeConfig(cfg);
  const cfgInfo = await store.writeBytes(cfgBytes);
  const configDescriptor: Descriptor = { mediaType: format === 'docker' ? MediaTypes.DOCKER_CONFIG : MediaTypes.OCI_CONFIG, digest: cfgInfo.digest, size: cfgInfo.size };
  const manifest = buildManifest(configDescriptor, layers, format, opts.annotations);
  const mBytes = serializeManifest(manifest);
  const mInfo = await store.writeBytes(mBytes);
  return { manifestDescriptor: { mediaType: manifest.mediaType!, digest: mInfo.digest, size: mInfo.size }, configDescriptor, manifest, config: cfg };
}

const MANIFEST_TYPES = new Set<string>([MediaTypes.OCI_MANIFEST, MediaTypes.DOCKER_MANIFEST]);
const INDEX_TYPES = new Set<string>([MediaTypes.OCI_INDEX, MediaTypes.DOCKER_MANIFEST_LIST]);

/** True for an image manifest media type (OCI or Docker schema2). */
export function isManifestType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && MANIFEST_TYPES.has(mediaType);
}

/** True for an index / manifest list media type. */
export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.has(mediaType);
}

/** Parses JSON from a blob, with a BuildError naming the blob when it is not JSON. */
export function parseJsonBlob<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new BuildError('INVALID_ARGUMENT', `${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads a manifest and its config from the store (verified by the store). Throws NotFoundError
 * when a blob is missing and BuildError INVALID_ARGUMENT when the manifest is not an image
 * manifest.
 */
export async function readImage(store: ContentStore, manifestDigest: Digest): Promise<{ manifest: Manifest; config: ImageConfig; configBytes: Buffer }> {
  const manifest = parseJsonBlob<Manifest>(await store.readBytes(manifestDigest), `manifest ${manifestDigest}`);
  if (manifest.schemaVersion !== 2 || !manifest.config || !Array.isArray(manifest.layers)) {
    throw new BuildError('INVALID_ARGUMENT', `${manifestDigest} is not an image manifest (expected schemaVersion 2 with config and layers)`);
  }
  const configBytes = await store.readBytes(manifest.config.digest);
  const config = parseJsonBlob<ImageConfig>(configBytes, `config ${manifest.config.digest}`);
  return { manifest, config, configBytes };
}
