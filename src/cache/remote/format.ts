/**
 * The wire format of an exported build cache.
 *
 * A cache export is an OCI image manifest used as an artifact:
 *
 *     { schemaVersion: 2, mediaType: OCI manifest, artifactType: CACHE_ARTIFACT_TYPE,
 *       config: { mediaType: CACHE_CONFIG_MEDIA_TYPE, … },   // the records (small JSON)
 *       layers: [ the layer blobs the records name, as built ] }
 *
 * The config is `{ version: 1, records: ExportedRecord[] }`, records sorted by key, so the same
 * build exports the same bytes. Inline caches put the same JSON (without the readable `parts`)
 * into the image config label INLINE_CACHE_LABEL; their layers are the image's own layers.
 *
 * Decoding is strict about what a hit depends on (key and layer digests, sizes) and lenient about
 * the rest; a malformed config is a RegistryError (the caller turns it into a warning).
 */
import { RegistryError } from '../../errors.js';
import { isDigest } from '../../oci/digest.js';
import { MediaTypes, type Descriptor, type Digest, type Manifest } from '../../oci/types.js';
import type { CacheRecord } from '../../store/cache-index.js';

/** `artifactType` of a cache manifest. */
export const CACHE_ARTIFACT_TYPE = 'application/vnd.mybuild.cache.v1';
/** Media type of the cache config blob (the records). */
export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.mybuild.cache.config.v1+json';
/** The image config label carrying an inline cache (like BuildKit's `moby.buildkit.cache.v0`). */
export const INLINE_CACHE_LABEL = 'dev.mybuild.cache.v1';
/** Largest cache config accepted from a source. */
export const MAX_CACHE_CONFIG_BYTES = 32 << 20;

/** One exported cache record: what a step's key produced. */
export interface ExportedRecord {
  key: Digest;
  /** The parent filesystem key (first part of the key), for walking the chain. */
  parent?: string;
  /** Readable key parts (omitted in inline caches). */
  parts?: string[];
  layer?: { digest: Digest; diffId: Digest; size: number; mediaType: string };
  createdBy?: string;
  createdAt?: string;
}

export interface CacheConfig {
  version: 1;
  records: ExportedRecord[];
}

/** The exported form of a local record; `withParts` false drops the readable parts. */
export function toExported(r: CacheRecord, withParts: boolean): ExportedRecord {
  const parent = r.parts[0]?.startsWith('parent=') ? r.parts[0].slice('parent='.length) : undefined;
  const createdBy = typeof r.extra?.createdBy === 'string' ? r.extra.createdBy : undefined;
  return {
    key: r.key as Digest,
    ...(parent ? { parent } : {}),
    ...(withParts ? { parts: r.parts } : {}),
    ...(r.layer ? { layer: { digest: r.layer.digest, diffId: r.layer.diffId, size: r.layer.size, mediaType: r.layer.mediaType } } : {}),
    ...(createdBy !== undefined ? { createdBy } : {}),
    ...(r.createdAt ? { createdAt: r.createdAt } : {}),
  };
}

/** The local record form of an exported one (parts fall back to `[parent=…]`). */
export function fromExported(e: ExportedRecord): CacheRecord {
  return {
    key: e.key,
    parts: e.parts ?? (e.parent ? [`parent=${e.parent}`] : []),
    ...(e.layer ? { layer: e.layer } : {}),
    ...(e.createdAt ? { createdAt: e.createdAt } : {}),
    extra: { ...(e.createdBy !== undefined ? { createdBy: e.createdBy } : {}) },
  };
}

/** Deterministic JSON of a cache config (records sorted by key, duplicates dropped). */
export function encodeCacheConfig(records: ExportedRecord[]): Buffer {
  const byKey = new Map<string, ExportedRecord>();
  for (const r of records) byKey.set(r.key, r);
  const sorted = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const config: CacheConfig = { version: 1, records: sorted };
  return Buffer.from(JSON.stringify(config));
}

/**
 * Parses a cache config (`what` names it in errors). Records with a malformed key or layer are
 * an error: a source that lies about them cannot be trusted for any hit.
 */
export function decodeCacheConfig(bytes: Buffer | string, what: string): Map<string, ExportedRecord> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString());
  } catch (err) {
    throw new RegistryError(`${what}: the cache config is not valid JSON: ${(err as Error).message}`);
  }
  const c = v as Partial<CacheConfig> | null;
  if (!c || typeof c !== 'object' || c.version !== 1 || !Array.isArray(c.records)) {
    throw new RegistryError(`${what}: not a mybuild cache config: expected {"version": 1, "records": […]}, got ${JSON.stringify(v).slice(0, 80)}`);
  }
  const out = new Map<string, ExportedRecord>();
  for (const r of c.records as unknown[]) {
    const e = r as ExportedRecord;
    if (!e || typeof e !== 'object' || typeof e.key !== 'string' || !isDigest(e.key)) {
      throw new RegistryError(`${what}: malformed cache record (expected a sha256 "key"): ${JSON.stringify(r).slice(0, 120)}`);
    }
    if (e.layer !== undefined) {
      const l = e.layer;
      if (!l || typeof l !== 'object' || !isDigest(l.digest) || !isDigest(l.diffId) || !Number.isSafeInteger(l.size) || l.size < 0 || typeof l.mediaType !== 'string') {
        throw new RegistryError(`${what}: cache record ${e.key} has a malformed layer (expected digest, diffId, size, mediaType)`);
      }
    }
    if (e.parts !== undefined && (!Array.isArray(e.parts) || !e.parts.every((p) => typeof p === 'string'))) {
      throw new RegistryError(`${what}: cache record ${e.key} has malformed parts`);
    }
    out.set(e.key, e);
  }
  return out;
}

/** The artifact manifest for a cache config blob and the layers its records need (deduplicated, in record order). */
export function cacheManifest(config: Descriptor, records: ExportedRecord[]): Manifest {
  const seen = new Set<string>();
  const layers: Descriptor[] = [];
  for (const r of records) {
    if (r.layer && !seen.has(r.layer.digest)) {
      seen.add(r.layer.digest);
      layers.push({ mediaType: r.layer.mediaType, digest: r.layer.digest, size: r.layer.size });
    }
  }
  return { schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST, artifactType: CACHE_ARTIFACT_TYPE, config: { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: config.digest, size: config.size }, layers };
}
