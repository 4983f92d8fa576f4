/**
 * Garbage collection and consistency checks of a store.
 *
 * `prune` marks every blob reachable from a ref (index → manifests, manifest → config and
 * layers), every blob a build cache record names, every blob a live lease pins (lease.ts) and
 * the compressed variants of marked uncompressed layers (layer-variants.ts; other variants' records go),
 * then deletes the other blobs and stale ingest files. It runs under the store lock;
 * `ImageStore.setRef` checks under the same lock that the whole image is present, and leased
 * writes commit under it, so a ref never points at a swept blob and a build holding a lease
 * never loses one. Blobs written without a lease and not yet referenced are unprotected unless
 * they are younger than `gracePeriodMs`.
 *
 * `check` reads everything back: every blob's digest and size, every ref's blobs (an index may
 * lack some platforms' manifests, not all), every image's layers against its diff_ids, every
 * cache record's layer; and it names every secret file a killed build left under
 * `<root>/secrets` (secrets-dir.ts). It also removes stale ingest files (they are invisible, not problems).
 */
import fs from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { BuildError } from '../errors.js';
import { isIndexType, isManifestType } from '../image/manifest.js';
import type { Descriptor, Digest, Index, Manifest } from '../oci/types.js';
import { DEFAULT_STALE_INGEST_MS, type StaleIngest } from './content-store.js';
import { isDigest } from '../oci/digest.js';
import { withLock } from './fs-util.js';
import { leasedDigests } from './lease.js';
import { LayerVariants } from './layer-variants.js';
import { checkDiffIds } from './check-diff-ids.js';
import { leftoverSecretFiles } from './secrets-dir.js';
import type { ImageStore } from './image-store.js';
import type { ContentStore } from '../oci/content-store.js';

export interface PruneOptions {
  /** Also delete every build cache record (and so the layers only the cache kept). */
  all?: boolean;
  /** Keep unreferenced blobs modified less than this long ago (default 0: none kept). */
  gracePeriodMs?: number;
  /** Ingest files untouched this long are stale even if their writer seems alive (default 1 h). */
  staleIngestMs?: number;
  /** The clock, for tests. */
  now?: number;
  /** Keep untagged (`<none>`) images; by default prune deletes them, as `docker image prune`. */
  keepDangling?: boolean;
  /** Delete only these untagged images (their index entries' digests: `--filter` picked them). */
  danglingDigests?: readonly Digest[];
}

export interface PruneResult {
  /** Deleted untagged images (their index.json entries). */
  dangling: Descriptor[];
  /** Deleted blobs. */
  blobs: { digest: Digest; size: number }[];
  /** Deleted stale ingest files. */
  ingest: StaleIngest[];
  /** Deleted cache records (keys): all with `all`, else those whose layer blob is gone. */
  cacheRecords: string[];
  /** Bytes of deleted blobs and ingest files. */
  bytesFreed: number;
}

/** A problem `check` found. */
export interface Problem {
  kind: 'blob' | 'ref' | 'cache' | 'index' | 'secret';
  /** The blob digest, ref name, cache key or file concerned. */
  subject: string;
  message: string;
  /** True when the problem is absent content (a blob that should be stored is not). */
  missing?: boolean;
}

/** Every digest-looking string anywhere in `v` (cache records may name blobs in `extra`). */
function digestsIn(v: unknown, out: Set<Digest>): void {
  if (typeof v === 'string') {
    if (isDigest(v)) out.add(v);
  } else if (Array.isArray(v)) {
    for (const x of v) digestsIn(x, out);
  } else if (v && typeof v === 'object') {
    for (const x of Object.values(v)) digestsIn(x, out);
  }
}

/**
 * Marks `desc` and what it references. Missing or unreadable manifests mark only themselves
 * (`check` reports them); layers are never read.
 */
async function mark(content: ContentStore, desc: Descriptor, marked: Set<Digest>): Promise<void> {
  if (!isDigest(desc.digest) || marked.has(desc.digest)) return;
  marked.add(desc.digest);
  const mt = desc.mediaType;
  if (!isManifestType(mt) && !isIndexType(mt)) return;
  let json: Partial<Manifest & Index>;
  try {
    json = JSON.parse((await content.readBytes(desc.digest)).toString('utf8')) as Partial<Manifest & Index>;
  } catch {
    return;
  }
  if (Array.isArray(json.manifests)) for (const c of json.manifests) await mark(content, c, marked);
  if (json.config) await mark(content, json.config, marked);
  if (Array.isArray(json.layers)) for (const l of json.layers) await mark(content, l, marked);
  if (json.subject) await mark(content, json.subject, marked);
}

/**
 * Deletes unreferenced blobs and stale ingest files (and with `all` every cache record).
 * Idempotent; safe alongside other processes (see the file comment about grace periods).
 * Throws BuildError IO on disk errors.
 */
export async function prune(store: ImageStore, opts: PruneOptions = {}): Promise<PruneResult> {
  const now = opts.now ?? Date.now();
  const grace = opts.gracePeriodMs ?? 0;
  const result: PruneResult = { dangling: [], blobs: [], ingest: [], cacheRecords: [], bytesFreed: 0 };
  if (!opts.keepDangling) result.dangling = await store.deleteDangling(opts.danglingDigests);
  await withLock(store.lockPath, store.content.paths.ingest, async () => {
    const marked = await leasedDigests(store.root);
    for (const r of await store.listRefs()) await mark(store.content, r.descriptor, marked);
    // Untagged images that appeared since (a build that just ended) are kept.
    for (const d of await store.listDangling()) await mark(store.content, d, marked);
    for (const key of await store.cache.keys()) {
      let rec;
      try {
        rec = await store.cache.get(key);
      } catch {
        rec = null; // malformed record: useless to the builder, drop it
      }
      const layerGone = rec?.layer && !(await store.content.info(rec.layer.digest));
      if (opts.all || !rec || layerGone) {
        await store.cache.delete(key);
        result.cacheRecords.push(key);
        continue;
      }
      digestsIn(rec, marked);
    }
    // Compressed variants of live uncompressed layers stay (layer-variants.ts); the others go.
    const variants = new LayerVariants(store.root);
    for (const v of await variants.list()) {
      if (marked.has(v.diffId) && v.desc && isDigest(v.desc.digest)) marked.add(v.desc.digest);
      else await variants.remove(v.file);
    }
    await variants.keepPushed(marked);
    for await (const d of store.content.list()) {
      if (marked.has(d)) continue;
      let st;
      try {
        st = await fs.stat(store.content.blobPath(d));
      } catch {
        continue;
      }
      if (now - st.mtimeMs < grace) continue;
      await store.content.delete(d);
      result.blobs.push({ digest: d, size: st.size });
      result.bytesFreed += st.size;
    }
  });
  result.ingest = await store.content.removeStaleIngest(opts.staleIngestMs ?? DEFAULT_STALE_INGEST_MS, now);
  for (const f of result.ingest) result.bytesFreed += f.size;
  result.blobs.sort((a, b) => (a.digest < b.digest ? -1 : 1));
  return result;
}

/** Streams `digest` through the store's verifying reader; the error message when it fails, else null. */
async function verifyBlob(content: ContentStore, digest: Digest, size: number): Promise<string | null> {
  try {
    const rs = await content.reader({ digest, size });
    await pipeline(rs, new Writable({ write: (_c, _e, cb) => cb() }));
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Verifies every blob of any ContentStore (digest and size). Returns the problems found. */
export async function checkBlobs(content: ContentStore): Promise<Problem[]> {
  const problems: Problem[] = [];
  for await (const d of content.list()) {
    const info = await content.info(d);
    if (!info) continue; // deleted meanwhile
    const msg = await verifyBlob(content, d, info.size);
    if (msg) problems.push({ kind: 'blob', subject: d, message: `blob ${d} is corrupt: ${msg}` });
  }
  return problems;
}

/** Checks that `desc` and everything it references is present with the right size. */
async function checkTree(content: ContentStore, ref: string, desc: Descriptor, seen: Set<Digest>, problems: Problem[], parent?: Digest): Promise<void> {
  if (seen.has(desc.digest)) return;
  seen.add(desc.digest);
  const where = parent ? ` (referenced by ${parent})` : '';
  if (!isDigest(desc.digest)) {
    problems.push({ kind: 'ref', subject: ref, message: `ref ${ref}: invalid digest "${String(desc.digest)}"${where}` });
    return;
  }
  const info = await content.info(desc.digest);
  if (!info) {
    problems.push({ kind: 'ref', subject: ref, message: `ref ${ref}: blob ${desc.digest} (${desc.mediaType}) is missing${where}`, missing: true });
    return;
  }
  if (info.size !== desc.size) {
    problems.push({ kind: 'ref', subject: ref, message: `ref ${ref}: blob ${desc.digest} has ${info.size} bytes, its descriptor says ${desc.size}${where}` });
    return;
  }
  if (!isManifestType(desc.mediaType) && !isIndexType(desc.mediaType)) return;
  let json: Partial<Manifest & Index>;
  try {
    json = JSON.parse((await content.readBytes(desc.digest)).toString('utf8')) as Partial<Manifest & Index>;
  } catch (err) {
    problems.push({ kind: 'ref', subject: ref, message: `ref ${ref}: cannot read ${desc.digest}: ${(err as Error).message}` });
    return;
  }
  if (isIndexType(desc.mediaType)) {
    // A multi-platform image may be stored partially (only the platforms that were pulled or
    // loaded): a missing child is fine, a present one must be complete.
    const children = json.manifests ?? [];
    let present = 0;
    for (const c of children) {
      if (isDigest(c.digest) && !(await content.info(c.digest))) continue;
      present++;
      await checkTree(content, ref, c, seen, problems, desc.digest);
    }
    if (children.length > 0 && present === 0) problems.push({ kind: 'ref', subject: ref, message: `ref ${ref}: none of the ${children.length} manifests of index ${desc.digest} is stored`, missing: true });
    return;
  }
  if (!json.config || !Array.isArray(json.layers)) {
    problems.push({ kind: 'ref', subject: ref, message: `ref ${ref}: ${desc.digest} is not an image manifest (no config or layers)` });
    return;
  }
  await checkTree(content, ref, json.config, seen, problems, desc.digest);
  for (const l of json.layers) await checkTree(content, ref, l, seen, problems, desc.digest);
}

/**
 * Problems of the image tree under `desc` (named `ref` in messages): missing blobs, wrong
 * sizes, unreadable manifests. Reads manifests and indexes only; empty = complete.
 */
export async function checkImageTree(content: ContentStore, ref: string, desc: Descriptor): Promise<Problem[]> {
  const problems: Problem[] = [];
  await checkTree(content, ref, desc, new Set(), problems);
  return problems;
}

/**
 * Verifies the whole store: index.json parses, every blob hashes to its name, every ref's
 * blobs are present with the sizes their descriptors give, every image's layers uncompress to
 * its diff_ids, every cache record parses and its layer is present, no secret file of a killed
 * build is left. Removes stale ingest files first. Returns the problems (empty = clean).
 * Never modifies blobs, refs or cache records.
 */
export async function check(store: ImageStore, opts: { staleIngestMs?: number; now?: number } = {}): Promise<Problem[]> {
  await store.content.removeStaleIngest(opts.staleIngestMs ?? DEFAULT_STALE_INGEST_MS, opts.now ?? Date.now());
  const problems: Problem[] = [];
  problems.push(...(await checkBlobs(store.content)));
  try {
    for (const r of await store.listRefs()) await checkTree(store.content, r.name, r.descriptor, new Set(), problems);
    for (const d of await store.listDangling()) await checkTree(store.content, `<none>@${d.digest}`, d, new Set(), problems);
    // Every image's layers against its config's diff_ids, once per image (./check-diff-ids.ts).
    const verified = new Set<Digest>();
    for (const r of await store.listRefs()) problems.push(...(await checkDiffIds(store.content, r.name, r.descriptor, verified)));
    for (const d of await store.listDangling()) problems.push(...(await checkDiffIds(store.content, `<none>@${d.digest}`, d, verified)));
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    problems.push({ kind: 'index', subject: store.indexPath, message: err.message });
  }
  for (const key of await store.cache.keys()) {
    try {
      const rec = await store.cache.get(key);
      if (rec?.layer) {
        const info = await store.content.info(rec.layer.digest);
        if (!info) problems.push({ kind: 'cache', subject: key, message: `cache record ${key}: layer ${rec.layer.digest} is missing` });
        else if (info.size !== rec.layer.size) problems.push({ kind: 'cache', subject: key, message: `cache record ${key}: layer ${rec.layer.digest} has ${info.size} bytes, the record says ${rec.layer.size}` });
      }
    } catch (err) {
      problems.push({ kind: 'cache', subject: key, message: err instanceof Error ? err.message : String(err) });
    }
  }
  for (const f of await leftoverSecretFiles(store.root)) {
    problems.push({ kind: 'secret', subject: f, message: `${f}: a secret file left by a killed build (RUN --mount=type=secret); the next build removes it` });
  }
  return problems;
}
