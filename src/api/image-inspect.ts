/**
 * The `docker image inspect` document (GET /images/{name}/json): one builder, used by the
 * daemonless engine and the daemon alike, so `mybuild inspect` prints the same JSON with or
 * without -H.
 */
import type { ResolvedImage } from '../store/image-store.js';
import { splitName } from '../store/display.js';

/**
 * The `docker image inspect` object of a resolved image; `names` are every ref of the same image;
 * `pushed` the digest each repository was pushed as (the registry's, which differs from the local
 * manifest's when the store keeps the layers uncompressed: src/store/layer-variants.ts).
 */
export function inspectObject(image: ResolvedImage, names: string[], pushed: Record<string, string> = {}): Record<string, unknown> {
  const c = image.config;
  const tags = names.map(splitName).filter((n) => n.tag !== '<none>');
  const repos = [...new Set(names.map((n) => splitName(n).repository))];
  return {
    Id: image.configDigest,
    RepoTags: tags.map((n) => `${n.repository}:${n.tag}`),
    RepoDigests: repos.map((r) => `${r}@${pushed[r] ?? image.descriptor.digest}`),
    Parent: c.parent ?? '',
    // Docker's legacy fields (set by commit): the container and its config.
    ...(c.container ? { Container: c.container, ContainerConfig: c.container_config ?? {} } : {}),
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: c.created ?? '',
    DockerVersion: '',
    Author: c.author ?? '',
    // dockerd's container.Config keys without omitempty are always there (clients index them).
    Config: { Cmd: null, Entrypoint: null, Env: null, Labels: null, OnBuild: null, Volumes: null, WorkingDir: '', User: '', ...(c.config ?? {}) },
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: image.manifest.layers.reduce((n, l) => n + l.size, 0),
    RootFS: { Type: c.rootfs?.type ?? 'layers', Layers: c.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
    Descriptor: { mediaType: image.descriptor.mediaType, digest: image.descriptor.digest, size: image.descriptor.size },
    ManifestDigest: image.manifestDescriptor.digest,
    // A multi-platform image: its platforms, as Docker's API 1.48 `Manifests` (ImageManifestSummary) lists them.
    ...(image.platforms
      ? {
          Manifests: image.platforms.map(({ descriptor: d, available }) => ({
            ID: d.digest,
            Descriptor: { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}) },
            Available: available,
            Kind: d.platform ? 'image' : 'unknown',
            ...(d.platform ? { ImageData: { Platform: d.platform } } : {}),
          })),
        }
      : {}),
  };
}
