/**
 * Cache import sources: a registry ref (a cache artifact, or any image carrying an inline cache)
 * and a local OCI layout directory. A source loads its cache config once, on the first lookup
 * (a few KiB: one manifest and one config), and fetches a layer blob only when asked.
 *
 * Errors: `load` throws RegistryError / BuildError IO for an unreachable or corrupt source; the
 * caller (RemoteCache) turns that into a warning and stops asking the source. `fetchLayer`
 * throws when the blob cannot be had; it never stores a blob whose digest or size is wrong
 * (the content store verifies).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BuildError, RegistryError, NotFoundError } from '../../errors.js';
import type { Reference } from '../../oci/reference.js';
import { parseReference } from '../../image/reference.js';
import type { Descriptor, Digest, ImageConfig, Index } from '../../oci/types.js';
import { RegistryClient, MANIFEST_ACCEPT, type ClientOptions } from '../../registry/client.js';
import { classifyManifest, fetchBlob } from '../../registry/pull.js';
import { hostPlatform, pickManifest } from '../../oci/platform.js';
import type { ContentStore } from '../../oci/content-store.js';
import { CACHE_CONFIG_MEDIA_TYPE, decodeCacheConfig, INLINE_CACHE_LABEL, MAX_CACHE_CONFIG_BYTES, type ExportedRecord } from './format.js';

/** Byte counts of what a source moved. */
export interface TransferStats {
  /** Manifest and config bytes read. */
  metadataBytes: number;
  /** Layer bytes fetched into the store, and how many layers. */
  layerBytes: number;
  layers: number;
}

/** An import source (see the module comment). */
export interface CacheSource {
  /** `registry:REF` / `local:DIR`, shown in events and `--explain`. */
  readonly name: string;
  readonly stats: TransferStats;
  /** Loads the cache config (once; later calls return the same promise). Throws on failure. */
  load(): Promise<Map<string, ExportedRecord>>;
  /** Makes the blob `layer` present in `store` (no-op when it is). Throws on failure. */
  fetchLayer(layer: Descriptor, store: ContentStore): Promise<void>;
  /** Releases connections. Idempotent. */
  close(): void;
}

async function readCapped(body: AsyncIterable<Buffer>, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw new RegistryError(`${what}: larger than ${max} bytes; refusing it`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function checkBytes(bytes: Buffer, desc: Descriptor, what: string): void {
  const got = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (got !== desc.digest || bytes.length !== desc.size) {
    throw new RegistryError(`${what}: content does not match its descriptor (want ${desc.digest}, ${desc.size} bytes; got ${got}, ${bytes.length} bytes)`);
  }
}

/** The records of an image config's inline cache label, or null when it has none. */
export function inlineRecords(config: ImageConfig, what: string): Map<string, ExportedRecord> | null {
  const label = config.config?.Labels?.[INLINE_CACHE_LABEL];
  if (label === undefined) return null;
  return decodeCacheConfig(label, `${what} (inline cache label ${INLINE_CACHE_LABEL})`);
}

function noInline(what: string): RegistryError {
  return new RegistryError(`${what}: the image has no inline cache (no ${INLINE_CACHE_LABEL} label)`, { hint: 'build it with --cache-to type=inline, or export a cache with --cache-to type=registry' });
}

/** A cache stored in a registry: a cache artifact pushed by `--cache-to type=registry`, or an image with an inline cache. */
export class RegistryCacheSource implements CacheSource {
  readonly name: string;
  readonly stats: TransferStats = { metadataBytes: 0, layerBytes: 0, layers: 0 };
  private readonly ref: Reference;
  private readonly client: RegistryClient;
  private loading?: Promise<Map<string, ExportedRecord>>;

  constructor(ref: string, clientOptions: ClientOptions = {}) {
    this.ref = parseReference(ref);
    this.name = `registry:${this.ref.familiar()}`;
    this.client = new RegistryClient(this.ref.domain, clientOptions);
  }

  load(): Promise<Map<string, ExportedRecord>> {
    this.loading ??= this.doLoad();
    return this.loading;
  }

  private async getBlob(desc: Descriptor, what: string): Promise<Buffer> {
    const { body } = await this.client.blobStream(this.ref.path, desc.digest, what);
    const bytes = await readCapped(body, MAX_CACHE_CONFIG_BYTES, what);
    checkBytes(bytes, desc, what);
    this.stats.metadataBytes += bytes.length;
    return bytes;
  }

  private async doLoad(): Promise<Map<string, ExportedRecord>> {
    const what = `cache ${this.ref.familiar()}`;
    const m = await this.client.getManifest(this.ref.path, this.ref.digest ?? this.ref.tag ?? 'latest', MANIFEST_ACCEPT, what);
    this.stats.metadataBytes += m.bytes.length;
    const parsed = classifyManifest(m.bytes, m.mediaType);
    if (parsed.kind !== 'index') return this.loadManifest(parsed, what);
    // A multi-platform image: every platform's inline cache, as BuildKit's importInlineCache merges them.
    const manifests = (parsed.index as Index).manifests;
    if (!manifests.length) throw new RegistryError(`${what}: the index lists no manifests`);
    const records = new Map<string, ExportedRecord>();
    let found = false;
    for (const d of manifests) {
      const c = await this.client.getManifest(this.ref.path, d.digest, MANIFEST_ACCEPT, what);
      this.stats.metadataBytes += c.bytes.length;
      const child = classifyManifest(c.bytes, c.mediaType);
      if (child.kind !== 'manifest') throw new RegistryError(`${what}: an index inside an index`);
      const got = await this.loadManifest(child, what, true);
      if (!got) continue;
      found = true;
      for (const [k, v] of got) records.set(k, v);
    }
    if (!found) throw noInline(what);
    return records;
  }

  /** The records of one manifest: a cache config, or an image's inline cache (null for none when `optional`). */
  private async loadManifest(parsed: ReturnType<typeof classifyManifest>, what: string, optional?: false): Promise<Map<string, ExportedRecord>>;
  private async loadManifest(parsed: ReturnType<typeof classifyManifest>, what: string, optional: true): Promise<Map<string, ExportedRecord> | null>;
  private async loadManifest(parsed: ReturnType<typeof classifyManifest>, what: string, optional = false): Promise<Map<string, ExportedRecord> | null> {
    if (parsed.kind !== 'manifest') throw new RegistryError(`${what}: an index inside an index`);
    const config = parsed.manifest.config;
    const bytes = await this.getBlob(config, `${what}: config ${config.digest}`);
    if (config.mediaType === CACHE_CONFIG_MEDIA_TYPE) return decodeCacheConfig(bytes, what);
    let cfg: ImageConfig;
    try {
      cfg = JSON.parse(bytes.toString('utf8')) as ImageConfig;
    } catch {
      throw new RegistryError(`${what}: neither a mybuild cache nor an image (config media type ${config.mediaType})`);
    }
    const inline = inlineRecords(cfg, what);
    if (!inline && !optional) throw noInline(what);
    return inline;
  }

  async fetchLayer(layer: Descriptor, store: ContentStore): Promise<void> {
    if (await store.info(layer.digest)) return;
    await fetchBlob(this.client, this.ref.path, layer, store, 'layer', `cache ${this.ref.familiar()}`);
    this.stats.layerBytes += layer.size;
    this.stats.layers++;
  }

  close(): void {
    this.client.close();
  }
}

/** A cache in an OCI layout directory written by `--cache-to type=local` (the manifest tagged `tag`). */
export class LocalCacheSource implements CacheSource {
  readonly name: string;
  readonly stats: TransferStats = { metadataBytes: 0, layerBytes: 0, layers: 0 };
  private loading?: Promise<Map<string, ExportedRecord>>;

  constructor(
    readonly dir: string,
    readonly tag = 'latest',
  ) {
    this.name = `local:${dir}`;
  }

  private blobPath(d: Digest): string {
    return path.join(this.dir, 'blobs', 'sha256', d.slice('sha256:'.length));
  }

  private async readBlob(desc: Descriptor, what: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(desc.digest));
    } catch (err) {
      throw new BuildError('IO', `${what}: cannot read ${this.blobPath(desc.digest)}: ${(err as Error).message}`, { cause: err });
    }
    checkBytes(bytes, desc, what);
    this.stats.metadataBytes += bytes.length;
    return bytes;
  }

  load(): Promise<Map<string, ExportedRecord>> {
    this.loading ??= (async () => {
      const what = `cache ${this.dir}`;
      let index: Index;
      try {
        index = JSON.parse(await readFile(path.join(this.dir, 'index.json'), 'utf8')) as Index;
      } catch (err) {
        throw new BuildError('IO', `${what}: no readable index.json: ${(err as Error).message}`, { cause: err });
      }
      const manifests = Array.isArray(index.manifests) ? index.manifests : [];
      const desc = manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === this.tag);
      if (!desc) throw new NotFoundError(`${what}: no cache tagged "${this.tag}" in index.json`);
      const mbytes = await this.readBlob(desc, `${what}: manifest`);
      const parsed = classifyManifest(mbytes, desc.mediaType);
      if (parsed.kind !== 'manifest') throw new RegistryError(`${what}: "${this.tag}" is an index, expected a cache manifest`);
      const cfgBytes = await this.readBlob(parsed.manifest.config, `${what}: config`);
      if (parsed.manifest.config.mediaType === CACHE_CONFIG_MEDIA_TYPE) return decodeCacheConfig(cfgBytes, what);
      const inline = inlineRecords(JSON.parse(cfgBytes.toString('utf8')) as ImageConfig, what);
      if (!inline) throw new RegistryError(`${what}: "${this.tag}" is not a mybuild cache`);
      return inline;
    })();
    return this.loading;
  }

  async fetchLayer(layer: Descriptor, store: ContentStore): Promise<void> {
    if (await store.info(layer.digest)) return;
    await store.write(createReadStream(this.blobPath(layer.digest)), { digest: layer.digest, size: layer.size });
    this.stats.layerBytes += layer.size;
    this.stats.layers++;
  }

  close(): void {}
}
