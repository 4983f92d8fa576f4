/**
 * Exporting images in the `docker save` format.
 *
 * Layout written (the form Docker 25+ writes: a docker save archive that is also an OCI layout):
 *
 *     blobs/sha256/<config hex>      the config, byte for byte (so the image ID is unchanged)
 *     blobs/sha256/<diffId hex>      each layer, uncompressed (as `docker save` writes them)
 *     blobs/sha256/<manifest hex>    an OCI manifest over those uncompressed layers
 *     index.json                     the manifests, named by ref annotations, with platforms
 *                                    (a multi-platform image: an index of every platform's
 *                                    manifest, its blobs written too; `mybuild load` reads it)
 *     manifest.json                  [{"Config": …, "RepoTags": […], "Layers": […]}]
 *     oci-layout
 *
 * `docker load` and `skopeo copy docker-archive:` read `manifest.json` and follow its paths;
 * `skopeo … oci-archive:` and other OCI tools read index.json. (The OCI manifest differs from
 * the stored one, whose layers are compressed; the config, hence the image ID, is the same.)
 * Layers are decompressed twice: once to learn the uncompressed size the tar header needs
 * (and to check the diffId), once while streaming; nothing is held in memory.
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { BuildError, DigestMismatchError } from '../../errors.js';
import type { ContentStore } from '../../oci/content-store.js';
import { goJson } from '../json.js';
import { measureLayer, openLayer, verifyingTransform } from '../layer-reader.js';
import { layersOf } from '../layers.js';
import { buildManifest, isManifestType, normalizeDescriptor, parseJsonBlob, serializeIndex, serializeManifest } from '../manifest.js';
import { configPlatform } from '../config.js';
import { MediaTypes, type Descriptor, type Digest, type ImageConfig, type Manifest, type Platform } from '../../oci/types.js';
import { refAnnotations } from './oci-layout.js';
import { writeArchive, type ArchiveFile } from './archive-tar.js';
import { readManifestOrIndex, resolveImageManifest } from './walk.js';

export interface DockerArchiveImage {
  /** RepoTags, written as given (e.g. `app:1`, `registry:5000/x/y:tag`). May be empty. */
  names: string[];
  /** A manifest, or an index (manifest.json gets the entry for `platform`, index.json all of them). */
  descriptor: Descriptor;
}

/** One `manifest.json` entry of a docker save archive. */
export interface DockerArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/**
 * Writes `images` as a docker save tar to the file `dest` (atomically) or into a Writable.
 * Deterministic for the same images and names. Throws NotFoundError for missing blobs and
 * DigestMismatchError when a layer's uncompressed digest differs from the config's diff_id.
 */
export async function exportDockerArchive(store: ContentStore, images: DockerArchiveImage[], dest: string | Writable, opts: { platform?: Platform } = {}): Promise<void> {
  if (images.length === 0) throw new BuildError('INVALID_ARGUMENT', 'nothing to save: no images given');
  const files: ArchiveFile[] = [];
  const written = new Set<string>();
  const entries: DockerArchiveManifestEntry[] = [];
  const index: Descriptor[] = [];
  const sizes = new Map<Digest, Descriptor>();
  /** Adds one image manifest's config, uncompressed layers and OCI manifest; returns what manifest.json and index.json name. */
  const addManifest = async (manifest: Manifest): Promise<{ configPath: string; layerPaths: string[]; desc: Descriptor }> => {
    const configBytes = await store.readBytes(manifest.config.digest);
    const config = parseJsonBlob<ImageConfig>(configBytes, `config ${manifest.config.digest}`);
    const layers = layersOf(manifest, config, `image ${manifest.config.digest}`);
    const configPath = `blobs/sha256/${manifest.config.digest.slice(7)}`;
    if (!written.has(configPath)) {
      written.add(configPath);
      files.push({ path: configPath, data: configBytes });
    }
    const layerPaths: string[] = [];
    const ociLayers: Descriptor[] = [];
    for (const { descriptor: layer, diffId } of layers) {
      const p = `blobs/sha256/${diffId.slice(7)}`;
      layerPaths.push(p);
      if (written.has(p)) {
        ociLayers.push(sizes.get(diffId)!);
        continue;
      }
      written.add(p);
      const measured = await measureLayer(store, layer);
      const ociLayer: Descriptor = { mediaType: MediaTypes.OCI_LAYER, digest: diffId, size: measured.size };
      sizes.set(diffId, ociLayer);
      ociLayers.push(ociLayer);
      if (measured.diffId !== diffId) throw new DigestMismatchError(`layer ${layer.digest} uncompresses to ${measured.diffId}, but the config says ${diffId}`);
      files.push({
        path: p,
        size: measured.size,
        open: async () => {
          const src = await openLayer(store, layer);
          const check = verifyingTransform({ digest: diffId, size: measured.size }, `layer ${layer.digest}`);
          src.on('error', (err) => check.destroy(err));
          check.on('close', () => src.destroy());
          return src.pipe(check);
        },
      });
    }
    // The same image as an OCI manifest over the uncompressed layers, for index.json.
    const ociManifest = serializeManifest(buildManifest({ mediaType: MediaTypes.OCI_CONFIG, digest: manifest.config.digest, size: configBytes.length }, ociLayers, 'oci'));
    const mDigest: Digest = `sha256:${createHash('sha256').update(ociManifest).digest('hex')}`;
    addBlob(mDigest, ociManifest);
    return { configPath, layerPaths, desc: { mediaType: MediaTypes.OCI_MANIFEST, digest: mDigest, size: ociManifest.length, platform: configPlatform(config) } };
  };
  const addBlob = (digest: Digest, data: Buffer): void => {
    const p = `blobs/sha256/${digest.slice(7)}`;
    if (written.has(p)) return;
    written.add(p);
    files.push({ path: p, data });
  };
  for (const img of images) {
    const resolved = await resolveImageManifest(store, img.descriptor, opts.platform);
    const main = await addManifest(resolved.manifest);
    entries.push({ Config: main.configPath, RepoTags: img.names.length ? [...img.names] : null, Layers: main.layerPaths });
    let desc = main.desc;
    // A multi-platform image: index.json names an index of every platform's image (manifest.json,
    // which `docker load` reads, holds the one for `platform`).
    const top = await readManifestOrIndex(store, img.descriptor);
    const children = top.kind === 'index' ? top.index.manifests.filter((c) => isManifestType(c.mediaType)) : [];
    if (children.length > 1) {
      const descs: Descriptor[] = [];
      for (const c of children) {
        const m = parseJsonBlob<Manifest>(await store.readBytes(c.digest), `manifest ${c.digest}`);
        const x = c.digest === resolved.descriptor.digest ? main : await addManifest(m);
        descs.push(normalizeDescriptor({ ...x.desc, ...(c.platform ? { platform: c.platform } : {}) }));
      }
      const bytes = serializeIndex({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: descs });
      const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      addBlob(digest, bytes);
      desc = { mediaType: MediaTypes.OCI_INDEX, digest, size: bytes.length };
    }
    if (img.names.length === 0) index.push(normalizeDescriptor(desc));
    for (const name of img.names) index.push(normalizeDescriptor({ ...desc, annotations: refAnnotations(name) }));
  }
  files.push({ path: 'index.json', data: serializeIndex({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: index }) });
  files.push({ path: 'manifest.json', data: Buffer.from(`${goJson(entries)}\n`) });
  files.push({ path: 'oci-layout', data: Buffer.from(goJson({ imageLayoutVersion: '1.0.0' })) });
  await writeArchive(files, dest);
}
