/**
 * RemoteCache: the build's import sources and export destinations (`--cache-from`, `--cache-to`).
 *
 * Import. On a local miss the builder calls `lookup(key)`: the sources are asked in order (each
 * loads its small cache config on first use). A hit returns the record at once, without its
 * layer: the layer is registered as pending and fetched only when its bytes are read through
 * `contentStore()` (a later step needs a view of the filesystem, e.g. RUN or COPY; the stage is
 * copied from; the final image is written/exported/pushed: see `ensureLayers`). So a `mode=max`
 * hit in a stage whose filesystem is never needed costs no download. A fetched layer's record is
 * then stored in the local cache index (the next build hits locally).
 *
 * Failures. A source that cannot be loaded (unreachable, not a cache, corrupt) is reported once
 * through `onWarning` and not asked again: its keys miss and the steps build. A pending fetch
 * that fails later sets `fetchFailed` and throws; the builder then runs the build again with
 * imports disabled (`disableImports`), so the build still succeeds by building. A record's
 * diffId becomes the image's diff_id, so it is checked against its layer's content: a stored
 * layer at lookup (a mismatch drops the source, with a warning), a pending one once fetched (a
 * mismatch fails the fetch, as above).
 *
 * Export. The builder reports every layer step's record (`used`). After the build, `export`
 * writes each `--cache-to`: `mode=min` the records of the final image's filesystem chain,
 * `mode=max` every record the build used. `inlineLabel` gives the label value for `type=inline`.
 * Not thread-safe across builds: one RemoteCache per build.
 */
import pLimit from 'p-limit';
import { MediaTypes, type Descriptor, type Digest } from '../../oci/types.js';
import { DigestMismatchError, RegistryError } from '../../errors.js';
import { measureLayer } from '../../image/layer-reader.js';
import { layerCompression } from '../../image/compression.js';
import { compressedLayer, LayerVariants } from '../../store/layer-variants.js';
import { push } from '../../registry/push.js';
import type { ClientOptions } from '../../registry/client.js';
import type { CacheRecord } from '../../store/cache-index.js';
import type { ImageStore } from '../../store/image-store.js';
import type { ContentStore } from '../../oci/content-store.js';
import { cacheManifest, encodeCacheConfig, fromExported, toExported, type ExportedRecord } from './format.js';
import { LazyContentStore } from './lazy-store.js';
import { writeCacheLayout } from './local-layout.js';
import { LocalCacheSource, RegistryCacheSource, type CacheSource, type TransferStats } from './sources.js';
import { specName, type CacheExportSpec, type CacheImportSpec } from './spec.js';

export interface RemoteCacheOptions {
  /** Registry client options for registry sources and exports (TLS, credentials). */
  clientOptions?: ClientOptions;
  /** Extra sources (tests); asked after the parsed ones. */
  sources?: CacheSource[];
}

/** What an export sent. */
export interface ExportStats {
  name: string;
  /** Records exported, and blob bytes actually sent (blobs the destination had are not counted). */
  records: number;
  bytesSent: number;
  /** The manifest digest written (registry/local). */
  digest?: Digest;
}

interface Pending {
  source: CacheSource;
  layer: Descriptor;
  records: CacheRecord[];
  fetching?: Promise<void>;
}

export class RemoteCache {
  readonly sources: CacheSource[];
  readonly exports: CacheExportSpec[];
  /** Set when a pending layer could not be fetched (the builder retries without imports). */
  fetchFailed = false;
  readonly exportStats: ExportStats[] = [];
  private importsDisabled = false;
  private readonly dead = new Set<CacheSource>();
  private readonly pending = new Map<Digest, Pending>();
  /** Layers' measured diffIds by blob digest (records are checked against them). */
  private readonly diffIds = new Map<Digest, Promise<Digest>>();
  private usedRecords = new Map<string, CacheRecord>();
  private store?: ImageStore;
  private warn: (message: string) => void = () => {};

  constructor(
    imports: CacheImportSpec[],
    exports: CacheExportSpec[],
    private readonly opts: RemoteCacheOptions = {},
  ) {
    this.sources = [
      ...imports.map((s): CacheSource => (s.type === 'registry' ? new RegistryCacheSource(s.ref, opts.clientOptions) : new LocalCacheSource(s.src, s.tag))),
      ...(opts.sources ?? []),
    ];
    this.exports = exports;
  }

  /** True when there is nothing to import or export. */
  get empty(): boolean {
    return this.sources.length === 0 && this.exports.length === 0;
  }

  /**
   * Starts loading every source's records now, while the build parses, plans and opens its
   * store: its first lookup would otherwise wait for the manifest and config round trips
   * (~20 ms from a local registry). A failure is reported by the first lookup, as before.
   */
  prefetch(): void {
    for (const s of this.sources) s.load().catch(() => undefined);
  }

  /**
   * Starts a build attempt on `store`; forgets the records of an earlier attempt unless
   * `keepRecords` (the next platform of a multi-platform build, which exports them all).
   */
  bind(store: ImageStore, onWarning: (message: string) => void, keepRecords = false): void {
    this.store = store;
    this.warn = onWarning;
    if (!keepRecords) this.usedRecords = new Map();
  }

  /** After a failed fetch: no more lookups (keys then miss and steps build). */
  disableImports(): void {
    this.importsDisabled = true;
    this.pending.clear();
  }

  private need(): ImageStore {
    if (!this.store) throw new Error('RemoteCache used before bind()');
    return this.store;
  }

  /**
   * The first source's record for `key`, or null. Never throws for a bad source (warns once and
   * skips it). A hit whose layer is already stored is recorded in the local cache index now;
   * otherwise its layer becomes pending.
   */
  async lookup(key: string): Promise<{ record: CacheRecord; source: string } | null> {
    if (this.importsDisabled) return null;
    const store = this.need();
    for (const source of this.sources) {
      if (this.dead.has(source)) continue;
      let records: Map<string, ExportedRecord>;
      try {
        records = await source.load();
      } catch (err) {
        this.dead.add(source);
        this.warn(`cache source ${source.name} is unusable, building without it: ${(err as Error).message}`);
        continue;
      }
      const e = records.get(key);
      if (!e) continue;
      const record = fromExported(e);
      if (!record.layer || (await store.content.info(record.layer.digest))) {
        // A record's diffId becomes the image's diff_id: a stored layer is checked now, a pending one once fetched.
        const wrong = record.layer ? await this.wrongDiffId(store, record.layer, [record]) : undefined;
        if (wrong) {
          this.dead.add(source);
          this.warn(`cache source ${source.name} is unusable, building without it: ${wrong}`);
          continue;
        }
        await store.cache.put(key, record);
      } else {
        const layer = { mediaType: record.layer.mediaType, digest: record.layer.digest, size: record.layer.size };
        const p = this.pending.get(layer.digest);
        if (p) p.records.push(record);
        else this.pending.set(layer.digest, { source, layer, records: [record] });
      }
      return { record, source: source.name };
    }
    return null;
  }

  /** Reports a record a layer step used (hit or built), for export. */
  used(record: CacheRecord): void {
    this.usedRecords.set(record.key, record);
  }

  pendingSize(digest: Digest): number | null {
    return this.pending.get(digest)?.layer.size ?? null;
  }

  /**
   * Fetches a pending layer (once, however many callers) and records its cache records locally.
   * `background`: a fetch started ahead of need (the target stage's layers); its failure does
   * not mark the build for a retry without imports: whoever needs the layer fetches it again.
   */
  async fetchIfPending(digest: Digest, opts: { background?: boolean } = {}): Promise<void> {
    const p = this.pending.get(digest);
    if (!p) return;
    const store = this.need();
    p.fetching ??= (async () => {
      if (!(await store.content.info(digest))) await p.source.fetchLayer(p.layer, store.content);
      const wrong = await this.wrongDiffId(store, p.layer, p.records);
      if (wrong) throw new DigestMismatchError(wrong);
      for (const r of p.records) await store.cache.put(r.key, r);
      this.pending.delete(digest);
    })().catch((err: unknown) => {
      p.fetching = undefined;
      throw new RegistryError(`cache source ${p.source.name}: fetching layer ${digest} failed: ${(err as Error).message}`, { cause: err });
    });
    try {
      await p.fetching;
    } catch (err) {
      if (!opts.background) this.fetchFailed = true;
      throw err;
    }
  }

  /**
   * Why `records` cannot be trusted with the stored `layer` (its uncompressed digest is not their
   * diffId), or undefined when they can. Measured once per layer and build.
   */
  private async wrongDiffId(store: ImageStore, layer: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>, records: readonly CacheRecord[]): Promise<string | undefined> {
    let measured = this.diffIds.get(layer.digest);
    if (!measured) {
      measured = measureLayer(store.content, layer).then((m) => m.diffId);
      this.diffIds.set(layer.digest, measured);
      measured.catch(() => this.diffIds.delete(layer.digest));
    }
    const got = await measured;
    const bad = records.find((r) => r.layer && r.layer.diffId !== got);
    return bad ? `cache record ${bad.key}: layer ${layer.digest} uncompresses to ${got}, but the record says ${bad.layer!.diffId}` : undefined;
  }

  /** `inner` with pending layers fetched on first read (see LazyContentStore). */
  contentStore(inner: ContentStore): ContentStore {
    return new LazyContentStore(inner, this);
  }

  /** Fetches whichever of `layers` are pending, 3 at a time (the final image needs all its blobs). */
  async ensureLayers(layers: readonly { digest: Digest }[]): Promise<void> {
    const limit = pLimit(3);
    await Promise.all(layers.map((l) => limit(() => this.fetchIfPending(l.digest))));
  }

  /** The records of the filesystem chain ending at `fsKey` (the final image's steps), newest first. */
  chain(fsKey: string): CacheRecord[] {
    const out: CacheRecord[] = [];
    let k: string | undefined = fsKey;
    while (k && this.usedRecords.has(k)) {
      const r: CacheRecord = this.usedRecords.get(k)!;
      out.push(r);
      k = r.parts[0]?.startsWith('parent=') ? r.parts[0].slice('parent='.length) : undefined;
    }
    return out;
  }

  /** `max`: every record used; `min`: the chains of the final filesystems (one per platform), oldest first, each record once. */
  private selected(mode: 'min' | 'max', fsKeys: readonly string[]): CacheRecord[] {
    if (mode === 'max') return [...this.usedRecords.values()];
    const out = new Map<string, CacheRecord>();
    for (const k of fsKeys) for (const r of this.chain(k).reverse()) out.set(r.key, r);
    return [...out.values()];
  }

  /** The `type=inline` label value for the image whose filesystem is `fsKey`, or undefined when not asked for. */
  async inlineLabel(fsKey: string, compression: 'gzip' | 'zstd'): Promise<string | undefined> {
    if (!this.exports.some((e) => e.type === 'inline')) return undefined;
    const records = this.chain(fsKey).reverse().map((r) => toExported(r, false));
    await this.compressLayers(records, compression);
    return encodeCacheConfig(records).toString();
  }

  /**
   * Points the records' uncompressed layers at their `compression` variants (made once and kept:
   * src/store/layer-variants.ts): what a push of the image (inline) or the cache uploads.
   */
  private async compressLayers(records: ExportedRecord[], compression: 'gzip' | 'zstd'): Promise<void> {
    const store = this.need();
    const variants = new LayerVariants(store.root);
    for (const r of records) {
      if (!r.layer || layerCompression(r.layer.mediaType) !== 'none' || !(await store.content.info(r.layer.digest))) continue;
      const c = await compressedLayer(variants, store.content, r.layer, { compression }, 'oci');
      r.layer = { ...r.layer, digest: c.digest, size: c.size, mediaType: c.mediaType };
    }
  }

  /**
   * Writes every registry/local `--cache-to` for the build whose final filesystem is `fsKey`
   * (several: a multi-platform build's, one per platform, in one cache).
   * A failing destination is a warning (the image is built); returns the stats of those written.
   * Uncompressed layers are exported as their `compression=` (else the build's `compression`) variant.
   */
  async export(fsKey: string | readonly string[], compression: 'gzip' | 'zstd'): Promise<ExportStats[]> {
    const fsKeys = typeof fsKey === 'string' ? [fsKey] : fsKey;
    const store = this.need();
    const lazy = this.contentStore(store.content);
    const done: ExportStats[] = [];
    for (const spec of this.exports) {
      if (spec.type === 'inline') continue;
      const name = specName(spec);
      try {
        const records = this.selected(spec.mode, fsKeys).map((r) => toExported(r, true));
        await this.compressLayers(records, spec.compression ?? compression);
        const cfgBytes = encodeCacheConfig(records);
        const cfg = await store.content.writeBytes(cfgBytes);
        const manifest = cacheManifest({ mediaType: '', digest: cfg.digest, size: cfg.size }, records);
        const mBytes = Buffer.from(JSON.stringify(manifest));
        const m = await store.content.writeBytes(mBytes);
        const descriptor: Descriptor = { mediaType: MediaTypes.OCI_MANIFEST, digest: m.digest, size: m.size };
        let bytesSent = 0;
        if (spec.type === 'registry') {
          const uploading = new Set<string>();
          await push(spec.ref, lazy, descriptor, {
            clientOptions: this.opts.clientOptions,
            onProgress: (e) => {
              if (e.status === 'uploading') uploading.add(e.digest);
              if (e.status === 'done' && uploading.delete(e.digest)) bytesSent += e.total;
              if (e.status === 'done' && e.kind === 'manifest') bytesSent += e.total;
            },
          });
        } else {
          bytesSent = await writeCacheLayout(spec.dest, spec.tag, lazy, [manifest.config, ...manifest.layers], { bytes: mBytes, descriptor });
        }
        const s = { name, records: records.length, bytesSent, digest: m.digest };
        this.exportStats.push(s);
        done.push(s);
      } catch (err) {
        this.warn(`cache export to ${name} failed (the image was built): ${(err as Error).message}`);
      }
    }
    return done;
  }

  /** Per source: bytes of metadata and layers fetched. */
  importStats(): (TransferStats & { name: string })[] {
    return this.sources.map((s) => ({ name: s.name, ...s.stats }));
  }

  /** Closes the sources' connections. Idempotent. */
  close(): void {
    for (const s of this.sources) s.close();
  }
}

/** A RemoteCache for the build's `cacheFrom`/`cacheTo`, or undefined when it has neither. */
export function remoteCacheFor(o: { cacheFrom?: CacheImportSpec[]; cacheTo?: CacheExportSpec[] }, opts: RemoteCacheOptions = {}): RemoteCache | undefined {
  const rc = new RemoteCache(o.cacheFrom ?? [], o.cacheTo ?? [], opts);
  return rc.empty ? undefined : rc;
}
