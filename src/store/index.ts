/** The image store: content-addressed blobs in an OCI layout, refs, build cache records, GC. */
export type { BlobInfo, ContentStore } from '../oci/content-store.js';
export type { ImageRef } from './types.js';
export { storeLayout, STORE_DIRS, type StoreLayout } from './layout.js';
export { LocalContentStore, verifier, DEFAULT_MAX_READ_BYTES, DEFAULT_STALE_INGEST_MS, type StaleIngest } from './content-store.js';
export { MemoryContentStore } from './memory-content-store.js';
export { ImageStore, normalizedName, REF_NAME_ANNOTATION, type ResolvedImage, type ImageStoreOptions, type ImageSummary } from './image-store.js';
export { CacheIndex, type CacheRecord } from './cache-index.js';
export { prune, check, checkBlobs, checkImageTree, type PruneOptions, type PruneResult, type Problem } from './gc.js';
export { isDigest } from '../oci/digest.js';
export { withLock, writeFileAtomic, checkDigest, type LockOptions } from './fs-util.js';
export { humanSize, humanDuration, createdSince, shortId, splitName, table } from './display.js';
export { Lease, leasedDigests, leasesDir } from './lease.js';
export type { WriteHooks } from './content-store.js';
