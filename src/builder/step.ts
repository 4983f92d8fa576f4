/**
 * Running one filesystem step through the cache: compute the key from the parent's filesystem
 * key and the step's readable parts, reuse a stored result on a hit, otherwise produce the layer
 * and record it. Metadata-only steps (ENV, LABEL, …) never come here: they only change the
 * config, and their effect on later steps is in those steps' own parts.
 */
import { cacheKey, describeChanges, diffParts, type CacheKey } from '../cache/key.js';
import { appendHistory, appendLayer } from '../image/config.js';
import type { LayerResult } from '../image/layer-writer.js';
import type { CacheRecord } from '../store/cache-index.js';
import type { BuildSession } from './session.js';
import type { StageState } from './state.js';

export interface LayerStepOptions {
  step: number;
  /** The step's own key parts (the parent filesystem key is added first). */
  parts: string[];
  /** History `created_by`. */
  createdBy: string;
  /** Makes the layer; null when the step changed nothing (an empty-layer history entry). */
  produce: () => Promise<LayerResult | null>;
  /** A stable name for this step across builds, to explain misses (`Dockerfile:stage:index`). */
  identity: string;
  /**
   * The step always makes a layer (RUN, as BuildKit): a record without one, written before a
   * no-op RUN committed an empty layer, is a miss.
   */
  alwaysLayer?: boolean;
}

/** The cache key of a filesystem step with `parts` on top of the filesystem `parentFsKey`. */
export function stepKey(parentFsKey: string, parts: readonly string[]): CacheKey {
  return cacheKey([`parent=${parentFsKey}`, ...parts]);
}

/** Runs a filesystem step (see the module comment); returns whether it was a cache hit. */
export async function runLayerStep(session: BuildSession, stage: StageState, o: LayerStepOptions): Promise<boolean> {
  const key = stepKey(stage.fsKey, o.parts);
  // Beside sibling platform builds, one of them produces a key at a time; the others then hit it.
  const release = session.siblings && !session.req.noCache ? await session.siblings.share.holdStep(key.digest) : undefined;
  try {
    return await runHeldLayerStep(session, stage, o, key);
  } finally {
    release?.();
  }
}

async function runHeldLayerStep(session: BuildSession, stage: StageState, o: LayerStepOptions, stepKeyOf: CacheKey): Promise<boolean> {
  let key = stepKeyOf;
  let record: CacheRecord | null = null;
  let hit = false;
  // --no-cache, or --no-cache-filter naming this stage (BuildKit matches the stage name).
  const filtered = session.req.noCacheFilter?.includes(stage.name.toLowerCase()) ?? false;
  const noCache = session.req.noCache || filtered;
  if (!noCache) {
    record = await session.store.cache.get(key.digest);
    if (record?.layer) await session.pin(record.layer.digest); // before the existence check (a prune may run now)
    if (record && record.layer && !(await session.store.content.info(record.layer.digest))) record = null;
    if (record && !record.layer && o.alwaysLayer) record = null;
    hit = record !== null;
  }
  let source = 'local';
  if (!hit && !noCache && session.remoteCache) {
    // --cache-from: the import sources in order; the layer is fetched lazily (src/cache/remote).
    const remote = await session.remoteCache.lookup(key.digest);
    // Pinned now, fetched later (lazily): a concurrent prune must not take it once it arrives.
    if (remote?.record.layer) await session.pin(remote.record.layer.digest);
    // A layer of the target stage is needed by the image in any case: fetch it while the build
    // goes on rather than when it ends (ensureLayers waits for it then, and reports a failure).
    if (remote?.record.layer && stage.index === session.targetStage) void session.remoteCache.fetchIfPending(remote.record.layer.digest, { background: true }).catch(() => undefined);
    if (remote && !(o.alwaysLayer && !remote.record.layer)) {
      ({ record, source } = remote);
      hit = true;
    }
  }
  if (hit) {
    session.emit({ type: 'step-cache', step: o.step, hit: true, key: key.digest, source });
  } else {
    session.emit({ type: 'step-cache', step: o.step, hit: false, key: key.digest, reason: session.req.noCache ? '--no-cache' : filtered ? `--no-cache-filter ${stage.name}` : await explainMiss(session, o.identity, key) });
    session.throwIfAborted();
    const layer = await o.produce();
    // A stage rebuilt by --no-cache-filter is keyed by what it made (as BuildKit's content-based
    // keys of its dependents): a later COPY --from of it misses when the result differs, and the
    // records of the stage's usual keys, which other stages' records were made from, stay.
    if (filtered && !session.req.noCache) key = cacheKey([...key.parts, `rebuilt=${layer?.diffId ?? 'empty'}`]);
    record = await session.store.cache.put(key.digest, {
      parts: key.parts,
      ...(layer ? { layer: { digest: layer.descriptor.digest, diffId: layer.diffId, size: layer.descriptor.size, mediaType: layer.descriptor.mediaType } } : {}),
      extra: { createdBy: o.createdBy },
    });
  }
  await rememberIdentity(session, o.identity, key);
  const rec = record!;
  session.remoteCache?.used(rec);
  const time = session.sourceDateEpoch !== undefined ? { sourceDateEpoch: session.sourceDateEpoch } : { created: rec.createdAt };
  if (rec.layer) {
    const descriptor = { mediaType: rec.layer.mediaType, digest: rec.layer.digest, size: rec.layer.size };
    stage.config = appendLayer(stage.config, { diffId: rec.layer.diffId }, { created_by: o.createdBy }, time);
    stage.layers = [...stage.layers, { descriptor, diffId: rec.layer.diffId }];
  } else {
    stage.config = appendHistory(stage.config, { created_by: o.createdBy }, time);
  }
  if (session.sourceDateEpoch === undefined && rec.createdAt && (!stage.created || rec.createdAt > stage.created)) stage.created = rec.createdAt;
  stage.fsKey = key.digest;
  return hit;
}

/**
 * Why a step missed: diff its parts against the last key this step identity had. The identity
 * file lives in the cache dir (`<root>/cache/last/<sha(identity)>`), so the explanation survives
 * across processes.
 */
async function explainMiss(session: BuildSession, identity: string, key: CacheKey): Promise<string> {
  const last = await session.history.get(identity);
  if (!last) return 'no previous build of this step';
  const prev = await session.store.cache.get(last);
  if (!prev) return 'the previous result was pruned';
  const changes = diffParts(prev.parts, key.parts);
  if (changes.length === 0) return 'the previous result was pruned';
  if (changes.some((c) => c.name === 'parent')) {
    const others = changes.filter((c) => c.name !== 'parent');
    return others.length ? `${describeChanges(others)}; its parent changed` : 'its parent changed';
  }
  return describeChanges(changes);
}

async function rememberIdentity(session: BuildSession, identity: string, key: CacheKey): Promise<void> {
  await session.history.set(identity, key.digest);
}
