/** The shared build cache through registries and directories (`--cache-to` / `--cache-from`). */
export { RemoteCache, remoteCacheFor, type RemoteCacheOptions, type ExportStats } from './remote-cache.js';
export { parseCacheFrom, parseCacheTo, specName, type CacheExportSpec, type CacheImportSpec } from './spec.js';
export { RegistryCacheSource, LocalCacheSource, inlineRecords, type CacheSource, type TransferStats } from './sources.js';
export { CACHE_ARTIFACT_TYPE, CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_LABEL, encodeCacheConfig, decodeCacheConfig, type ExportedRecord, type CacheConfig } from './format.js';
export { LazyContentStore, type PendingBlobs } from './lazy-store.js';
export { writeCacheLayout } from './local-layout.js';
