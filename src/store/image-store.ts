/**
 * ImageStore: named images (refs) on top of a LocalContentStore, kept in the OCI layout's
 * `index.json` (image-layout.md): each ref is a `manifests` entry whose annotation
 * `org.opencontainers.image.ref.name` holds the full normalised name
 * (`docker.io/library/app:1`). Names are stored as given; callers normalise them with
 * src/image/reference.ts (`resolve` also tries the normalised form of what it is given).
 *
 * Lifecycle and concurrency: every change of `index.json` is a read-modify-write under the
 * store lock (`<root>/index.lock`, see fs-util.withLock; other processes wait, a dead holder's
 * lock is broken), written as a temp file in `<root>/ingest`, fsynced and renamed over
 * `index.json`. Readers never lock: they see the old or the new file. A ref is only set to a
 * blob that is already stored, so a SIGKILL at any moment leaves no ref to a partial blob.
 *
 * Root layout: see content-store.ts.
 */
import { uncompressedImageSize } from './layer-size.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError, NotFoundError } from '../errors.js';
import { isIndexType, isManifestType, parseJsonBlob } from '../image/manifest.js';
import { isInvalid, readReference } from '../oci/reference.js';
import { resolveImageManifest } from '../image/formats/walk.js';
import { MediaTypes, type Descriptor, type Digest, type ImageConfig, type Index, type Manifest, type Platform } from '../oci/types.js';
import { CacheIndex } from './cache-index.js';
import { LocalContentStore } from './content-store.js';
import { isDigest } from '../oci/digest.js';
import { checkDigest, ioError, withLock, writeFileAtomic } from './fs-util.js';
import { checkImageTree } from './gc.js';
import { createLease, type Lease } from './lease.js';
import { storeDir } from './store-dirs.js';
import type { ImageRef } from './types.js';

/** The annotation holding a ref's name in index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

const OCI_LAYOUT = `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`;

/** What `resolve` found. */
export interface ResolvedImage {
  /** The ref name when the image was found by name (or the first ref pointing at it), else undefined. */
  name?: string;
  /** The descriptor the ref points at (may be an index). */
  descriptor: Descriptor;
  /** The image manifest's descriptor (= `descriptor` unless that is an index). */
  manifestDescriptor: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
  /** The image ID, as Docker shows it. */
  configDigest: Digest;
  /** When `descriptor` is an index (a multi-platform image): its entries, each marked whether its manifest is stored. */
  platforms?: { descriptor: Descriptor; available: boolean }[];
}

export interface ImageStoreOptions {
  /** How long to wait for the store lock before failing (default 60 s). */
  lockTimeoutMs?: number;
}

export class ImageStore {
  readonly content: LocalContentStore;
  readonly cache: CacheIndex;
  readonly indexPath: string;
  readonly lockPath: string;

  private constructor(
    content: LocalContentStore,
    private readonly opts: ImageStoreOptions,
  ) {
    this.content = content;
    this.cache = new CacheIndex(content.paths.cache, content.paths.ingest);
    this.indexPath = content.paths.indexJson;
    this.lockPath = content.paths.indexLock;
  }

  /** The store root directory. */
  get root(): string {
    return this.content.paths.root;
  }

  /**
   * Opens the store at `root`, creating the directories, `oci-layout` and an empty
   * `index.json` when missing (each atomically; concurrent opens are safe). Idempotent.
   * Throws BuildError IO when the root cannot be written.
   */
  static async open(root: string, opts: ImageStoreOptions = {}): Promise<ImageStore> {
    const content = await LocalContentStore.open(root);
    const s = new ImageStore(content, opts);
    try {
      await storeDir(content.paths.cache);
    } catch (err) {
      throw ioError(err);
    }
    const layoutFile = path.join(content.paths.layout, 'oci-layout');
    if (!(await exists(layoutFile))) await writeFileAtomic(layoutFile, OCI_LAYOUT, content.paths.ingest);
    if (!(await exists(s.indexPath))) {
      await s.withIndexLock(async () => {
        if (!(await exists(s.indexPath))) await s.writeIndex({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: [] });
      });
    }
    return s;
  }

  private withIndexLock<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.lockPath, this.content.paths.ingest, fn, { timeoutMs: this.opts.lockTimeoutMs });
  }

  /**
   * A lease for a build (see lease.ts): blobs written through `lease.content` or pinned with
   * `lease.add` survive `prune` until `lease.release()` (or the process dies). The caller releases it.
   */
  lease(): Promise<Lease> {
    return createLease(this.root, this.content, this.lockPath);
  }

  /** Reads index.json (no lock needed: it is replaced atomically). Throws BuildError on a malformed file. */
  async readIndex(): Promise<Index> {
    let text: string;
    try {
      text = await fs.readFile(this.indexPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: [] };
      throw ioError(err);
    }
    let idx: Index;
    try {
      idx = JSON.parse(text) as Index;
    } catch (err) {
      throw new BuildError('INVALID_ARGUMENT', `${this.indexPath} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!idx || typeof idx !== 'object' || !Array.isArray(idx.manifests)) {
      throw new BuildError('INVALID_ARGUMENT', `${this.indexPath} is not an OCI image index (expected a "manifests" array)`);
    }
    return idx;
  }

  private async writeIndex(idx: Index): Promise<void> {
    await writeFileAtomic(this.indexPath, `${JSON.stringify(idx)}\n`, this.content.paths.ingest);
  }

  /** Read-modify-write of index.json under the lock. `fn` mutates the index or returns false for "no change". */
  private async updateIndex<T>(fn: (idx: Index) => Promise<{ changed: boolean; result: T }>): Promise<T> {
    return this.withIndexLock(async () => {
      const idx = await this.readIndex();
      const { changed, result } = await fn(idx);
      if (changed) await this.writeIndex(idx);
      return result;
    });
  }

  /**
   * Points `name` at `desc` (a manifest or index already in the store), replacing any previous
   * target. Returns the previous descriptor or null. Idempotent. Throws NotFoundError when the
   * blob is not stored (or has another size), BuildError INVALID_ARGUMENT for an empty name.
   */
  async setRef(name: string, desc: Descriptor): Promise<Descriptor | null> {
    if (!name) throw new BuildError('INVALID_ARGUMENT', 'an image name must not be empty');
    checkDigest(desc.digest);
    const entry: Descriptor = {
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      ...(desc.platform ? { platform: desc.platform } : {}),
      annotations: { ...(desc.annotations ?? {}), [REF_NAME_ANNOTATION]: name },
    };
    return this.updateIndex(async (idx) => {
      // Under the lock that prune holds while sweeping: the image is complete now and stays so.
      const problems = await checkImageTree(this.content, name, desc);
      if (problems.length) {
        const missing = problems.some((p) => p.missing);
        const msg = `cannot tag ${name}: ${problems[0].message.replace(`ref ${name}: `, '')}`;
        throw missing ? new NotFoundError(msg) : new BuildError('INVALID_ARGUMENT', msg);
      }
      const i = idx.manifests.findIndex((m) => m.annotations?.[REF_NAME_ANNOTATION] === name);
      const prev = i >= 0 ? idx.manifests[i] : null;
      if (prev && JSON.stringify(prev) === JSON.stringify(entry)) return { changed: false, result: stripName(prev) };
      if (i >= 0) idx.manifests[i] = entry;
      else idx.manifests.push(entry);
      // A tagged image is no longer dangling; the image the name moved away from becomes
      // dangling (`<none>`) when nothing else names it, as Docker keeps it until a prune.
      idx.manifests = idx.manifests.filter((m) => !(isDangling(m) && m.digest === desc.digest));
      if (prev && prev.digest !== desc.digest && !idx.manifests.some((m) => m.digest === prev.digest)) idx.manifests.push(stripName(prev));
      return { changed: true, result: prev ? stripName(prev) : null };
    });
  }

  /**
   * Keeps an untagged image (a build without `-t`, a load of an unnamed image): an index.json
   * entry without a ref name, which `images` lists as `<none>`, `resolve` finds by ID or unique
   * prefix, `rmi ID` removes and `prune` deletes. A no-op when any entry already holds `desc`.
   * Throws like setRef when the image is not complete in the store.
   */
  async addDangling(desc: Descriptor): Promise<void> {
    checkDigest(desc.digest);
    const entry = stripName(desc);
    await this.updateIndex(async (idx) => {
      if (idx.manifests.some((m) => m.digest === desc.digest)) return { changed: false, result: undefined };
      const problems = await checkImageTree(this.content, desc.digest, desc);
      if (problems.length) throw problems.some((p) => p.missing) ? new NotFoundError(problems[0].message) : new BuildError('INVALID_ARGUMENT', problems[0].message);
      idx.manifests.push(entry);
      return { changed: true, result: undefined };
    });
  }

  /** Untagged images (index.json entries without a ref name), in index order. */
  async listDangling(): Promise<Descriptor[]> {
    return (await this.readIndex()).manifests.filter(isDangling);
  }

  /**
   * Removes untagged entries: those with the given descriptor digests, or every one (prune).
   * Returns the removed descriptors. Blobs stay until `prune` sweeps them.
   */
  async deleteDangling(digests?: readonly Digest[]): Promise<Descriptor[]> {
    return this.updateIndex(async (idx) => {
      const gone = idx.manifests.filter((m) => isDangling(m) && (!digests || digests.includes(m.digest)));
      if (!gone.length) return { changed: false, result: [] };
      idx.manifests = idx.manifests.filter((m) => !gone.includes(m));
      return { changed: true, result: gone };
    });
  }

  /** The descriptor `name` points at (without the ref-name annotation), or null. Exact name match. */
  async getRef(name: string): Promise<Descriptor | null> {
    const idx = await this.readIndex();
    const e = idx.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === name);
    return e ? stripName(e) : null;
  }

  /** Removes the ref `name`; returns its descriptor, or null when there was none. Blobs stay until `prune`. */
  async deleteRef(name: string): Promise<Descriptor | null> {
    return this.updateIndex(async (idx) => {
      const i = idx.manifests.findIndex((m) => m.annotations?.[REF_NAME_ANNOTATION] === name);
      if (i < 0) return { changed: false, result: null };
      const [removed] = idx.manifests.splice(i, 1);
      return { changed: true, result: stripName(removed) };
    });
  }

  /** Every ref, sorted by name. Entries of index.json without a ref name are left out. */
  async listRefs(): Promise<ImageRef[]> {
    const idx = await this.readIndex();
    const out: ImageRef[] = [];
    for (const m of idx.manifests) {
      const name = m.annotations?.[REF_NAME_ANNOTATION];
      if (name !== undefined) out.push({ name, descriptor: stripName(m) });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Reads and parses a manifest blob (verified). NotFoundError when missing; INVALID_ARGUMENT when it is not a manifest. */
  async readManifest(digest: Digest): Promise<Manifest> {
    const m = parseJsonBlob<Manifest>(await this.content.readBytes(checkDigest(digest)), `manifest ${digest}`);
    if (m.schemaVersion !== 2 || !m.config || !Array.isArray(m.layers)) {
      throw new BuildError('INVALID_ARGUMENT', `${digest} is not an image manifest (expected schemaVersion 2 with config and layers)`);
    }
    return m;
  }

  /** Reads and parses an image config blob (verified). NotFoundError when missing. */
  async readConfig(digest: Digest): Promise<ImageConfig> {
    return parseJsonBlob<ImageConfig>(await this.content.readBytes(checkDigest(digest)), `config ${digest}`);
  }

  /** Resolves a descriptor (manifest or index) to an image for `platform` (default: host). */
  async resolveDescriptor(desc: Descriptor, platform?: Platform, name?: string): Promise<ResolvedImage> {
    const { descriptor: manifestDescriptor, manifest } = isManifestType(desc.mediaType) || isIndexType(desc.mediaType)
      ? await resolveImageManifest(this.content, desc, platform)
      : { descriptor: desc, manifest: await this.readManifest(desc.digest) };
    const configDigest = manifest.config.digest;
    const config = await this.readConfig(configDigest);
    let platforms: ResolvedImage['platforms'];
    if (isIndexType(desc.mediaType)) {
      const index = parseJsonBlob<Index>(await this.content.readBytes(desc.digest), `index ${desc.digest}`);
      platforms = [];
      for (const d of index.manifests ?? []) platforms.push({ descriptor: d, available: (await this.content.info(d.digest)) !== null });
    }
    return { name, descriptor: desc, manifestDescriptor, manifest, config, configDigest, ...(platforms ? { platforms } : {}) };
  }

  /**
   * Every ref resolved to its image (for `images`, `inspect`), sorted by name. Refs that do not
   * resolve (missing blobs; `check` reports them) are returned in `broken` with their error.
   */
  async listImages(platform?: Platform): Promise<{ images: ImageSummary[]; broken: { name: string; error: Error }[]; dangling: DanglingImage[] }> {
    const images: ImageSummary[] = [];
    const broken: { name: string; error: Error }[] = [];
    const dangling: DanglingImage[] = [];
    for (const r of await this.listRefs()) {
      try {
        const image = await this.resolveDescriptor(r.descriptor, platform, r.name);
        images.push({ name: r.name, image, size: await uncompressedImageSize(this.content, image.manifest.layers), ...(image.platforms ? { platforms: await this.platformSizes(image.platforms) } : {}) });
      } catch (err) {
        broken.push({ name: r.name, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
    for (const d of await this.listDangling()) {
      try {
        const image = await this.resolveDescriptor(d, platform);
        dangling.push({ image, size: await uncompressedImageSize(this.content, image.manifest.layers), ...(image.platforms ? { platforms: await this.platformSizes(image.platforms) } : {}) });
      } catch (err) {
        broken.push({ name: d.digest, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
    return { images, broken, dangling };
  }

  /** Each entry of a multi-platform image with its sizes (0 for an entry whose manifest is not stored). */
  private async platformSizes(platforms: NonNullable<ResolvedImage['platforms']>): Promise<PlatformSummary[]> {
    const out: PlatformSummary[] = [];
    for (const { descriptor, available } of platforms) {
      let size = 0;
      let contentSize = 0;
      if (available) {
        try {
          const m = JSON.parse((await this.content.readBytes(descriptor.digest)).toString('utf8')) as Manifest;
          size = await uncompressedImageSize(this.content, m.layers ?? []);
          contentSize = descriptor.size + (m.config?.size ?? 0) + (m.layers ?? []).reduce((n, l) => n + l.size, 0);
        } catch {
          // not an image manifest (an attestation or a nested index): no sizes
        }
      }
      out.push({ descriptor, available, size, contentSize });
    }
    return out;
  }

  /**
   * Finds an image by
   * - ref name, exactly as stored, else in its normalised form (`app:1` → `docker.io/library/app:1`);
   * - `sha256:<hex>`: an image ID (config digest, as Docker uses) or a manifest/index digest,
   *   of a ref, or a manifest blob in the store;
   * - a hex prefix (at least 4 digits, `sha256:` optional) of an image ID or a ref's manifest digest,
   *   like Docker's 12-digit short IDs;
   * - `name@sha256:<manifest digest>`: a ref of that repository with that digest, else the blob.
   * Throws NotFoundError (`No such image`), or BuildError INVALID_ARGUMENT when a prefix is ambiguous.
   */
  async resolve(input: string, platform?: Platform): Promise<ResolvedImage> {
    const refs = await this.listRefs();
    const byName = (n: string): ImageRef | undefined => refs.find((r) => r.name === n);
    let hit = byName(input);
    if (!hit) {
      const norm = normalizedName(input);
      if (norm) hit = byName(norm);
    }
    if (hit) return this.resolveDescriptor(hit.descriptor, platform, hit.name);
    // `name@sha256:…` not stored under that exact name: any ref of the repository with that
    // digest, else the manifest blob itself.
    const byDigest = parseDigestRef(input);
    let query = input;
    if (byDigest) {
      const same = refs.find((r) => r.descriptor.digest === byDigest.digest && refRepository(r.name) === byDigest.name);
      if (same) return this.resolveDescriptor(same.descriptor, platform, same.name);
      query = byDigest.digest;
    }

    const hex = /^(?:sha256:)?([a-f0-9]{4,64})$/.exec(query)?.[1];
    if (hex) {
      const matches = new Map<string, ResolvedImage>();
      const untagged = (await this.listDangling()).map((descriptor) => ({ name: undefined, descriptor }));
      for (const r of [...refs, ...untagged]) {
        let img: ResolvedImage;
        try {
          img = await this.resolveDescriptor(r.descriptor, platform, r.name);
        } catch {
          continue; // a broken ref (reported by check) must not hide the others
        }
        const ids = [img.configDigest, img.descriptor.digest, img.manifestDescriptor.digest].map((d) => d.slice('sha256:'.length));
        if (ids.some((id) => id.startsWith(hex)) && !matches.has(img.configDigest)) matches.set(img.configDigest, img);
      }
      if (matches.size > 1) {
        throw new BuildError('INVALID_ARGUMENT', `short ID "${input}" is ambiguous: it matches ${matches.size} images`, { hint: 'give more digits of the image ID' });
      }
      if (matches.size === 1) return [...matches.values()][0];
      const full = `sha256:${hex}`;
      if (isDigest(full)) {
        const info = await this.content.info(full);
        if (info) {
          const head = (await this.content.readBytes(full).catch(() => null))?.toString('utf8');
          let mt: string | undefined;
          try {
            const j = head ? (JSON.parse(head) as { mediaType?: string; manifests?: unknown; config?: unknown; layers?: unknown }) : undefined;
            // OCI manifests may omit mediaType: tell them by shape.
            mt = j?.mediaType ?? (Array.isArray(j?.manifests) ? MediaTypes.OCI_INDEX : j?.config && Array.isArray(j?.layers) ? MediaTypes.OCI_MANIFEST : undefined);
          } catch {
            mt = undefined; // not JSON: not an image
          }
          if (mt && (isManifestType(mt) || isIndexType(mt))) return this.resolveDescriptor({ mediaType: mt, digest: full, size: info.size }, platform);
        }
      }
    }
    throw new NotFoundError(`No such image: ${input}`, { hint: 'run "mybuild images" to list the stored images' });
  }
}

/** An untagged image with its resolved image, for listings (`<none>`). */
export interface DanglingImage {
  image: ResolvedImage;
  /** Sum of the uncompressed layer sizes of the platform manifest, as `docker images` shows (layer-size.ts). */
  size: number;
  /** A multi-platform image's entries, in the index's order (`images --tree`). */
  platforms?: PlatformSummary[];
}

/** The stored bytes of an image's manifest, config and layers (docker's CONTENT SIZE). */
export function imageContentSize(image: ResolvedImage): number {
  return image.manifestDescriptor.size + image.manifest.config.size + image.manifest.layers.reduce((n, l) => n + l.size, 0);
}

/** An entry of a multi-platform image: `size` its unpacked layers, `contentSize` its blobs (manifest, config, layers) as stored. */
export interface PlatformSummary {
  descriptor: Descriptor;
  available: boolean;
  size: number;
  contentSize: number;
}

function isDangling(m: Descriptor): boolean {
  return m.annotations?.[REF_NAME_ANNOTATION] === undefined;
}

/** One ref with its resolved image, for listings. */
export interface ImageSummary {
  name: string;
  image: ResolvedImage;
  /** Sum of the uncompressed layer sizes of the platform manifest, as `docker images` shows (layer-size.ts). */
  size: number;
  /** A multi-platform image's entries, in the index's order (`images --tree`). */
  platforms?: PlatformSummary[];
}

/** The normalised form of `input` as a reference, or undefined when it is not a valid reference. */
export function normalizedName(input: string): string | undefined {
  const r = readReference(input);
  return isInvalid(r) ? undefined : r.toString();
}

function parseDigestRef(input: string): { name: string; digest: Digest } | undefined {
  if (!input.includes('@')) return undefined;
  const r = readReference(input);
  return !isInvalid(r) && r.digest ? { name: r.name, digest: r.digest } : undefined;
}

function refRepository(name: string): string | undefined {
  const r = readReference(name);
  return isInvalid(r) ? undefined : r.name;
}

function stripName(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform) out.platform = d.platform;
  if (d.annotations) {
    const rest = Object.fromEntries(Object.entries(d.annotations).filter(([k]) => k !== REF_NAME_ANNOTATION));
    if (Object.keys(rest).length) out.annotations = rest;
  }
  return out;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
