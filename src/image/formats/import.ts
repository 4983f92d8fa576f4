/**
 * Importing images: `importArchive` (an OCI layout directory, an OCI layout tar or a docker
 * save tar, detected by content; optionally gzip/zstd/bzip2/xz compressed) and
 * `importRootfs` (a root filesystem tarball as one layer, like `docker import`).
 *
 * Docker archives: the config is stored byte for byte, so the image ID (config digest) stays
 * the same. Layers are stored as given: an uncompressed layer tar becomes a blob with media
 * type `application/vnd.docker.image.rootfs.diff.tar` (its digest equals its diffId), a
 * compressed one keeps its compression. A Docker schema2 manifest is written for them.
 * OCI layouts: every blob keeps its digest; index.json entries give the names
 * (`io.containerd.image.name`, else `org.opencontainers.image.ref.name`).
 *
 * Every blob is verified: blobs under `blobs/sha256/<hex>` must hash to `<hex>`, the layers of
 * every image (docker archive or OCI layout) must uncompress to the config's diff_ids, and every
 * blob a manifest references must be present with its size. An image that fails is not named.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BuildError, DigestMismatchError, NotFoundError } from '../../errors.js';
import type { BlobInfo, ContentStore } from '../../oci/content-store.js';
import { applyChanges } from '../changes.js';
import { appendLayer, emptyConfig, type TimeOptions } from '../config.js';
import { createDecompressor, detectCompression, layerMediaType, peek } from '../compression.js';
import { measureLayer } from '../layer-reader.js';
import { writeTarLayer } from '../layer-writer.js';
import { buildManifest, parseJsonBlob, serializeManifest, writeImage, type ImageFormat, type WrittenImage } from '../manifest.js';
import { isSha256Hex } from '../../oci/digest.js';
import { MediaTypes, type Descriptor, type Digest, type ImageConfig, type Index, type Platform } from '../../oci/types.js';
import { IMAGE_NAME_ANNOTATION, REF_NAME_ANNOTATION } from './oci-layout.js';
import type { DockerArchiveManifestEntry } from './docker-archive.js';
import { reachableBlobs, readManifestOrIndex } from './walk.js';
import { verifyDiffIds } from '../diff-ids.js';

export interface ImportedImage {
  /** Names from the archive (RepoTags, or index.json annotations); may be empty. */
  names: string[];
  /** The manifest (or index) stored for the image. */
  manifestDescriptor: Descriptor;
  /** The image ID. For an index: the config of the host platform's image is not resolved here; this is the index digest. */
  configDigest: Digest;
}

const META_MAX = 16 << 20;

function cleanName(n: string): string {
  return n.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

async function readAll(stream: AsyncIterable<Buffer | Uint8Array>, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += c.length;
    if (n > max) throw new BuildError('INVALID_ARGUMENT', `${what} is larger than ${max} bytes`);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}

/** What a pass over an archive collected: blobs by archive path, and the small metadata files. */
interface Collected {
  files: Map<string, BlobInfo>;
  links: Map<string, string>;
  meta: Map<string, Buffer>;
}

const META_FILES = new Set(['index.json', 'manifest.json', 'oci-layout', 'repositories']);

async function collectTar(store: ContentStore, input: Readable): Promise<Collected> {
  const { head, stream } = await peek(input, 512);
  const kind = detectCompression(head);
  const ex = tar.extract();
  const got: Collected = { files: new Map(), links: new Map(), meta: new Map() };
  const consume = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      const name = cleanName(h.name);
      if (h.type === 'symlink' || h.type === 'link') {
        // docker save (< 25) links duplicate layers: <id>/layer.tar -> ../<other>/layer.tar
        const target = h.type === 'symlink' ? path.posix.normalize(path.posix.join(path.posix.dirname(name), h.linkname ?? '')) : cleanName(h.linkname ?? '');
        got.links.set(name, target);
        entry.resume();
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      if (META_FILES.has(name)) {
        got.meta.set(name, await readAll(entry as unknown as AsyncIterable<Buffer>, META_MAX, name));
        continue;
      }
      const hex = name.startsWith('blobs/sha256/') ? name.slice('blobs/sha256/'.length) : undefined;
      const info = await store.write(entry as unknown as AsyncIterable<Uint8Array>, isSha256Hex(hex) ? { digest: `sha256:${hex}`, size: h.size } : { size: h.size });
      got.files.set(name, info);
    }
  })();
  try {
    await Promise.all([pipeline(stream, createDecompressor(kind), ex), consume]);
  } catch (err) {
    ex.destroy();
    if (err instanceof BuildError) throw err;
    throw new BuildError('INVALID_ARGUMENT', `could not read the archive: ${(err as Error).message}`, {
      cause: err,
      hint: 'expected a docker save tar or an OCI layout (directory or tar), optionally compressed',
    });
  }
  return got;
}

async function collectDir(store: ContentStore, dir: string): Promise<Collected> {
  const got: Collected = { files: new Map(), links: new Map(), meta: new Map() };
  for (const f of META_FILES) {
    const p = path.join(dir, f);
    const st = await fs.stat(p).catch(() => null);
    if (st?.isFile()) {
      if (st.size > META_MAX) throw new BuildError('INVALID_ARGUMENT', `${p} is larger than ${META_MAX} bytes`);
      got.meta.set(f, await fs.readFile(p));
    }
  }
  if (!got.meta.has('index.json')) {
    throw new BuildError('INVALID_ARGUMENT', `${dir} is not an OCI image layout: index.json is missing`, { hint: 'expected a directory with oci-layout, index.json and blobs/' });
  }
  const index = parseJsonBlob<Index>(got.meta.get('index.json')!, `${dir}/index.json`);
  // Copy only what the index references, verifying each blob as it is stored.
  const queue: Descriptor[] = [...(index.manifests ?? [])];
  const seen = new Set<string>();
  while (queue.length) {
    const d = queue.shift()!;
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    const [alg, hex] = d.digest.split(':');
    if (alg !== 'sha256') throw new BuildError('INVALID_ARGUMENT', `unsupported digest algorithm in ${d.digest}`);
    const p = path.join(dir, 'blobs', alg, hex);
    if (!(await fs.stat(p).catch(() => null))) throw new NotFoundError(`the layout ${dir} lacks blob ${d.digest} (${d.mediaType})`);
    const info = await store.write(createReadStream(p), { digest: d.digest, size: d.size });
    got.files.set(`blobs/sha256/${hex}`, info);
    if (d.mediaType === MediaTypes.OCI_INDEX || d.mediaType === MediaTypes.DOCKER_MANIFEST_LIST) {
      queue.push(...(parseJsonBlob<Index>(await store.readBytes(d.digest), `index ${d.digest}`).manifests ?? []));
    } else if (d.mediaType === MediaTypes.OCI_MANIFEST || d.mediaType === MediaTypes.DOCKER_MANIFEST) {
      const m = parseJsonBlob<{ config: Descriptor; layers: Descriptor[] }>(await store.readBytes(d.digest), `manifest ${d.digest}`);
      queue.push(m.config, ...(m.layers ?? []));
    }
  }
  return got;
}

function resolveLink(c: Collected, p: string): BlobInfo | undefined {
  let name = cleanName(p);
  for (let i = 0; i < 16 && !c.files.has(name) && c.links.has(name); i++) name = c.links.get(name)!;
  return c.files.get(name);
}

async function importOci(store: ContentStore, c: Collected): Promise<ImportedImage[]> {
  const index = parseJsonBlob<Index>(c.meta.get('index.json')!, 'index.json');
  if (!Array.isArray(index.manifests)) throw new BuildError('INVALID_ARGUMENT', 'index.json has no manifests list');
  const out: ImportedImage[] = [];
  const verified = new Set<Digest>();
  for (const d of index.manifests) {
    // Throws NotFoundError / DIGEST_MISMATCH for missing or wrong-sized blobs.
    await reachableBlobs(store, d);
    await verifyTreeDiffIds(store, d, verified);
    const name = d.annotations?.[IMAGE_NAME_ANNOTATION] ?? d.annotations?.[REF_NAME_ANNOTATION];
    let configDigest: Digest = d.digest;
    if (d.mediaType === MediaTypes.OCI_MANIFEST || d.mediaType === MediaTypes.DOCKER_MANIFEST) {
      configDigest = parseJsonBlob<{ config: Descriptor }>(await store.readBytes(d.digest), `manifest ${d.digest}`).config.digest;
    }
    const { annotations: _a, ...plain } = d;
    const existing = out.find((o) => o.manifestDescriptor.digest === d.digest);
    if (existing) {
      if (name && !existing.names.includes(name)) existing.names.push(name);
      continue;
    }
    out.push({ names: name ? [name] : [], manifestDescriptor: plain, configDigest });
  }
  return out;
}

/** Checks the diff_ids of every image manifest under `d` (all present: reachableBlobs ran) against its layers' content. */
async function verifyTreeDiffIds(store: ContentStore, d: Descriptor, verified: Set<Digest>): Promise<void> {
  if (verified.has(d.digest)) return;
  verified.add(d.digest);
  const m = await readManifestOrIndex(store, d);
  if (m.kind === 'index') {
    for (const c of m.index.manifests) await verifyTreeDiffIds(store, c, verified);
    return;
  }
  const config = parseJsonBlob<ImageConfig>(await store.readBytes(m.manifest.config.digest), `config ${m.manifest.config.digest}`);
  await verifyDiffIds(store, m.manifest.layers, config, `image ${d.digest}`);
}

async function importDocker(store: ContentStore, c: Collected): Promise<ImportedImage[]> {
  const entries = parseJsonBlob<DockerArchiveManifestEntry[]>(c.meta.get('manifest.json')!, 'manifest.json');
  if (!Array.isArray(entries)) throw new BuildError('INVALID_ARGUMENT', 'manifest.json is not a list');
  const out: ImportedImage[] = [];
  for (const e of entries) {
    const cfgInfo = resolveLink(c, e.Config);
    if (!cfgInfo) throw new NotFoundError(`the archive lacks the config ${e.Config} named in manifest.json`);
    // Legacy archives name the config <hex>.json: the content must hash to that name.
    const base = path.posix.basename(e.Config);
    const legacyHex = base.endsWith('.json') ? base.slice(0, -'.json'.length) : undefined;
    if (isSha256Hex(legacyHex) && cfgInfo.digest !== `sha256:${legacyHex}`) throw new DigestMismatchError(`config ${e.Config} hashes to ${cfgInfo.digest}`);
    const config = parseJsonBlob<ImageConfig>(await store.readBytes(cfgInfo.digest), `config ${e.Config}`);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== e.Layers.length) throw new BuildError('INVALID_ARGUMENT', `config ${e.Config} lists ${diffIds.length} diff_ids for ${e.Layers.length} layers`);
    const layers: Descriptor[] = [];
    for (const [i, lp] of e.Layers.entries()) {
      const info = resolveLink(c, lp);
      if (!info) throw new NotFoundError(`the archive lacks the layer ${lp} named in manifest.json`);
      const head = await readAll(await headOf(store, info), 512, lp);
      const kind = detectCompression(head);
      if (kind === 'bzip2' || kind === 'xz') throw new BuildError('INVALID_ARGUMENT', `layer ${lp} is ${kind}-compressed; only tar, gzip and zstd layers are supported`);
      const desc: Descriptor = { mediaType: layerMediaType(kind, 'docker'), digest: info.digest, size: info.size };
      const diffId = kind === 'none' ? info.digest : (await measureLayer(store, desc)).diffId;
      if (diffId !== diffIds[i]) throw new DigestMismatchError(`layer ${lp} has diffId ${diffId}, but the config says ${diffIds[i]}`);
      layers.push(desc);
    }
    const manifest = buildManifest({ mediaType: MediaTypes.DOCKER_CONFIG, digest: cfgInfo.digest, size: cfgInfo.size }, layers, 'docker');
    const mInfo = await store.writeBytes(serializeManifest(manifest));
    out.push({ names: e.RepoTags ?? [], manifestDescriptor: { mediaType: MediaTypes.DOCKER_MANIFEST, digest: mInfo.digest, size: mInfo.size }, configDigest: cfgInfo.digest });
  }
  return out;
}

/** The first bytes of a stored blob (to detect its compression). */
async function headOf(store: ContentStore, info: BlobInfo): Promise<AsyncIterable<Buffer>> {
  const r = await store.reader({ digest: info.digest });
  async function* first(): AsyncGenerator<Buffer> {
    try {
      for await (const c of r) {
        yield (c as Buffer).subarray(0, 512);
        return;
      }
    } finally {
      r.destroy();
    }
  }
  return first();
}

/**
 * Loads the images of an archive into `store`: `input` is a path (a directory holding an OCI
 * layout, or a tar file) or a Readable tar (consumed). The archive kind is detected from its
 * content: `manifest.json` makes it a docker save archive, else `index.json` an OCI layout.
 * Returns the images with their names. Idempotent (loading twice stores nothing new).
 *
 * Throws BuildError INVALID_ARGUMENT for an unreadable or unrecognised archive, NotFoundError
 * for blobs a manifest names but the archive lacks, DigestMismatchError for blobs whose
 * content does not match their digest or diff_id.
 */
export async function importArchive(store: ContentStore, input: string | Readable): Promise<{ images: ImportedImage[] }> {
  let c: Collected;
  if (typeof input === 'string') {
    const st = await fs.stat(input).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new NotFoundError(`${input}: no such file or directory`) : err;
    });
    c = st.isDirectory() ? await collectDir(store, input) : await collectTar(store, createReadStream(input));
  } else c = await collectTar(store, input);
  // A docker save tar whose index.json names a multi-platform index (src/image/formats/docker-archive.ts)
  // is loaded from index.json, keeping every platform; manifest.json has only one of them.
  if (c.meta.has('manifest.json') && !(c.meta.has('index.json') && namesAnIndex(c.meta.get('index.json')!))) return { images: await importDocker(store, c) };
  if (c.meta.has('index.json')) return { images: await importOci(store, c) };
  throw new BuildError('INVALID_ARGUMENT', 'the archive is neither a docker save archive nor an OCI layout: it has no manifest.json and no index.json', {
    hint: c.meta.has('repositories') ? 'this looks like a pre-1.10 docker save archive, which is not supported' : 'to import a root filesystem tarball, use "mybuild import"',
  });
}

export interface ImportRootfsOptions extends TimeOptions {
  platform: Platform;
  /** Dockerfile instructions applied to the config (`CMD ["sh"]`, `ENV A=b`, …), as `docker import --change`. */
  changes?: string[];
  /** History comment; default `Imported from -` or the file name, as docker writes. */
  message?: string;
  /** Manifest format, default `oci`. */
  format?: ImageFormat;
}

/**
 * Makes a one-layer image from a root filesystem tarball (a path, `-` meaning `stdin`, or a
 * Readable), like `docker import`. Compressed inputs (gzip, bzip2, xz, zstd) are detected and
 * decompressed; the tar is stored gzip-compressed as is (entries are not rewritten).
 * Returns the written image; names are up to the caller. Throws BuildError for bad changes.
 */
export async function importRootfs(store: ContentStore, input: string | Readable, opts: ImportRootfsOptions, stdin: NodeJS.ReadableStream = process.stdin): Promise<WrittenImage> {
  let base = emptyConfig(opts.platform, opts);
  if (opts.changes?.length) base = applyChanges(base, opts.changes);
  const src: Readable = typeof input !== 'string' ? input : input === '-' ? Readable.from(stdin as AsyncIterable<Buffer>) : createReadStream(input);
  if (typeof input === 'string' && input !== '-') {
    await fs.stat(input).catch(() => {
      throw new NotFoundError(`${input}: no such file`);
    });
  }
  const { head, stream } = await peek(src, 512);
  const kind = detectCompression(head);
  const decompressed = stream.pipe(createDecompressor(kind));
  stream.on('error', (err) => decompressed.destroy(err));
  decompressed.on('close', () => stream.destroy());
  const tarHead = await peek(decompressed as unknown as Readable, 512);
  if (tarHead.head.length < 512 || tarHead.head.toString('latin1', 257, 262) !== 'ustar') {
    tarHead.stream.destroy();
    throw new BuildError('INVALID_ARGUMENT', `${typeof input === 'string' ? input : 'the input'} is not a tar archive${kind === 'none' ? '' : ` (after ${kind} decompression)`}`, {
      hint: 'docker import takes a root filesystem tarball (tar, tar.gz, tar.bz2, tar.xz or tar.zst)',
    });
  }
  const layer = await writeTarLayer(tarHead.stream, store, { compression: 'gzip' }).catch((err: unknown) => {
    if (err instanceof BuildError) throw err;
    throw new BuildError('INVALID_ARGUMENT', `could not read ${typeof input === 'string' ? input : 'the input'}${kind === 'none' ? '' : ` (${kind})`}: ${(err as Error).message}`, {
      cause: err,
      hint: 'the tarball may be truncated or corrupt',
    });
  });
  const message = opts.message ?? `Imported from ${typeof input === 'string' ? input : '-'}`;
  const config = appendLayer(base, layer, { created_by: '', comment: message }, opts);
  const cleaned = { ...config, history: config.history?.map(({ created_by: _c, ...h }) => h) };
  return writeImage(store, cleaned, [layer.descriptor], { format: opts.format ?? 'oci' });
}

/** True when an index.json's entries include an image index (a multi-platform image). */
function namesAnIndex(bytes: Buffer): boolean {
  try {
    const idx = JSON.parse(bytes.toString('utf8')) as Index;
    return Array.isArray(idx.manifests) && idx.manifests.some((m) => m.mediaType === MediaTypes.OCI_INDEX || m.mediaType === MediaTypes.DOCKER_MANIFEST_LIST);
  } catch {
    return false;
  }
}
