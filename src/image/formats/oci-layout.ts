/**
 * Exporting images as an OCI image layout (image-spec image-layout.md), as a directory or a tar.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BuildError } from '../../errors.js';
import type { ContentStore } from '../../oci/content-store.js';
import { goJson } from '../json.js';
import { isInvalid, readReference } from '../../oci/reference.js';
import { normalizeDescriptor, serializeIndex } from '../manifest.js';
import { MediaTypes, type Descriptor, type Index } from '../../oci/types.js';
import { writeArchive, type ArchiveFile } from './archive-tar.js';
import { reachableBlobs } from './walk.js';

/** `org.opencontainers.image.ref.name`: the tag (or name) a layout entry is known by. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** containerd's / BuildKit's annotation with the full image name. */
export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';

export interface LayoutRef {
  /**
   * The image name. A reference (`docker.io/library/app:1`, `app:1`) gives ref.name `1` and
   * io.containerd.image.name the normalised full name, as BuildKit writes; a bare word (`x`) is
   * used as ref.name as is (what `skopeo … oci:DIR:x` looks up).
   */
  name?: string;
  descriptor: Descriptor;
}

/**
 * The annotations of an index.json entry for `name` (see {@link LayoutRef.name}): a bare word
 * is the ref name as is; a reference gives its tag as ref name and its normalised full form
 * (`docker.io/library/app:1`) as io.containerd.image.name, as BuildKit and Docker 25+ write.
 */
export function refAnnotations(name: string | undefined): Record<string, string> {
  if (!name) return {};
  if (!name.includes('/') && !name.includes(':') && !name.includes('@')) return { [REF_NAME_ANNOTATION]: name };
  let full = name;
  let tag: string | undefined;
  const ref = readReference(name);
  if (!isInvalid(ref)) {
    full = ref.toString();
    tag = ref.tag;
  } else {
    // Not a Docker reference (e.g. an uppercase name): keep it as given.
    const at = name.indexOf('@');
    const base = at >= 0 ? name.slice(0, at) : name;
    const colon = base.lastIndexOf(':');
    tag = colon > base.lastIndexOf('/') ? base.slice(colon + 1) : undefined;
  }
  return tag ? { [IMAGE_NAME_ANNOTATION]: full, [REF_NAME_ANNOTATION]: tag } : { [IMAGE_NAME_ANNOTATION]: full };
}

function layoutIndex(refs: LayoutRef[]): Index {
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_INDEX,
    manifests: refs.map((r) => {
      const ann = { ...(r.descriptor.annotations ?? {}), ...refAnnotations(r.name) };
      return normalizeDescriptor({ ...r.descriptor, annotations: Object.keys(ann).length ? ann : undefined });
    }),
  };
}

/**
 * The new index.json of an existing layout directory: its entries, minus those whose ref name
 * is taken by `refs` (as `skopeo copy … oci:DIR:tag` replaces a tag), plus `refs`.
 */
async function mergeIndex(file: string, refs: LayoutRef[]): Promise<Buffer> {
  const fresh = layoutIndex(refs);
  let old: Index | null = null;
  try {
    old = JSON.parse(await fs.readFile(file, 'utf8')) as Index;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new BuildError('INVALID_ARGUMENT', `${file} exists but is not a valid index: ${(err as Error).message}`, { hint: 'export into an empty directory' });
    }
  }
  const taken = new Set(fresh.manifests.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter((n): n is string => n !== undefined));
  const kept = (old?.manifests ?? []).filter((d) => {
    const n = d.annotations?.[REF_NAME_ANNOTATION];
    return n === undefined ? !fresh.manifests.some((f) => f.digest === d.digest) : !taken.has(n);
  });
  return serializeIndex({ ...fresh, manifests: [...kept, ...fresh.manifests] });
}

const OCI_LAYOUT_FILE = Buffer.from(goJson({ imageLayoutVersion: '1.0.0' }));

async function allBlobs(store: ContentStore, refs: LayoutRef[]): Promise<Descriptor[]> {
  const byDigest = new Map<string, Descriptor>();
  for (const r of refs) for (const d of await reachableBlobs(store, r.descriptor)) byDigest.set(d.digest, d);
  return [...byDigest.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/**
 * Writes the images `refs` (manifests or indexes, with every blob they reference) as an OCI
 * layout: a directory `dest` (created if needed; existing blobs and index entries are kept,
 * entries with the same ref name are replaced) or, with `tar`, a tar file at `dest` or into a Writable. The tar is deterministic:
 * `oci-layout`, `index.json`, then `blobs/sha256/…` sorted by digest, mtime 0, owner 0:0.
 * Blobs are verified against their digests as they are copied. Throws NotFoundError when a
 * referenced blob is missing (before anything is written).
 */
export async function exportOciLayout(store: ContentStore, refs: LayoutRef[], dest: string | Writable, opts: { tar: boolean }): Promise<void> {
  if (refs.length === 0) throw new BuildError('INVALID_ARGUMENT', 'nothing to export: no images given');
  const blobs = await allBlobs(store, refs);
  if (opts.tar) {
    const index = serializeIndex(layoutIndex(refs));
    const files: ArchiveFile[] = [
      { path: 'oci-layout', data: OCI_LAYOUT_FILE },
      { path: 'index.json', data: index },
      ...blobs.map((b) => ({ path: `blobs/sha256/${b.digest.slice(7)}`, size: b.size, open: () => store.reader(b) })),
    ];
    await writeArchive(files, dest);
    return;
  }
  if (typeof dest !== 'string') throw new BuildError('INVALID_ARGUMENT', 'an OCI layout directory needs a path, not a stream', { hint: 'pass tar: true to stream it' });
  const blobDir = path.join(dest, 'blobs', 'sha256');
  await fs.mkdir(blobDir, { recursive: true });
  for (const b of blobs) {
    const p = path.join(blobDir, b.digest.slice(7));
    const st = await fs.stat(p).catch(() => null);
    if (st?.size === b.size) continue;
    const tmp = `${p}.tmp`;
    try {
      await pipeline(await store.reader(b), createWriteStream(tmp));
      await fs.rename(tmp, p);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }
  await fs.writeFile(path.join(dest, 'oci-layout'), OCI_LAYOUT_FILE);
  await fs.writeFile(path.join(dest, 'index.json.tmp'), await mergeIndex(path.join(dest, 'index.json'), refs));
  await fs.rename(path.join(dest, 'index.json.tmp'), path.join(dest, 'index.json'));
}
