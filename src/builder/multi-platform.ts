/**
 * Multi-platform builds: `--platform linux/amd64,linux/arm64` builds the Dockerfile once per
 * platform (concurrently, one platform per core: platformConcurrency; the host's leads, and a
 * step another platform is producing is waited for and then a cache hit, so a stage that does
 * not depend on the target platform, such as a `FROM --platform=$BUILDPLATFORM` build stage
 * without TARGET* args, runs once: ./sibling-builds.ts) and publishes one image index whose
 * entries carry their platforms in the --platform order (a Docker manifest list with
 * `--format docker`), as BuildKit's multi-platform exporters do:
 *
 * - `-t`, `--output type=image|registry` (name, push, push-by-digest, registry.insecure, store):
 *   the index is named in the store and pushed with every child image;
 * - `--output type=oci` (dir or tar): the layout holds the index;
 * - `--output type=local` and `type=tar`: one directory per platform under dest (`linux_amd64`,
 *   `linux_arm64`, BuildKit's platform-split), the target stage's files; with `platform-split=false`
 *   every platform's files at the top, later platforms' over earlier ones';
 * - `--cache-to`: one cache holding every platform's records (`--cache-from` imports per platform);
 * - refused, naming the flag: `type=docker` outputs, encoding keys on image
 *   outputs (compression, oci-mediatypes, …).
 *
 * Each platform's build is a plain single-platform build (./build.ts) with that `--platform`, so
 * FROM picks the platform's image from a base's index, TARGET* args have its values, RUN steps
 * of a foreign platform run under binfmt_misc emulation (refused when none is registered), and
 * cache keys differ wherever the platform changes the inputs. Its events reach the caller with
 * step numbers following those of the platforms started before it (the leader, then the
 * --platform order; whatever order they end in) and the stage named `linux/arm64 build`, as BuildKit prints
 * `[linux/arm64 build 2/3]`; one `result` event ends the build.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { BuildError, UsageError } from '../errors.js';
import { serializeIndex } from '../image/manifest.js';
import type { Reference } from '../oci/reference.js';
import { parseReference } from '../image/reference.js';
import { MediaTypes, type Descriptor, type Manifest, type Platform } from '../oci/types.js';
import { push } from '../registry/push.js';
import { formatPlatform, hostPlatform, platformMatches } from '../oci/platform.js';
import { parsePlatform } from '../registry/platform.js';
import { exportOciLayout } from '../image/formats/oci-layout.js';
import { ImageStore } from '../store/image-store.js';
import { remoteCacheFor, type RemoteCache } from '../cache/remote/remote-cache.js';
import { distributable, LayerVariants, pushDistributable } from '../store/layer-variants.js';
import type { Lease } from '../store/lease.js';
import type { BuildEvent, EventSink } from './events.js';
import type { BuildRequest, BuildResult, BuildRunOptions } from './session.js';
import type { OutputSpec } from './output-spec.js';
import { writeTar } from './outputs.js';
import { SiblingBuilds } from './sibling-builds.js';
import { writeAttestationManifest, writeAttestedIndex } from '../image/attestation.js';
import { checkProvenanceOutputs, provenanceFor, type AttestTarget } from './provenance-outputs.js';
import { invocationId, provenanceStatement } from './provenance.js';

export type PlatformBuild = (req: BuildRequest, run: BuildRunOptions) => Promise<BuildResult>;

/**
 * How many platforms build at once: one per core (os.availableParallelism), at most every
 * platform; MYBUILD_PLATFORM_PARALLELISM=N sets it (1: one after the other).
 */
export function platformConcurrency(platforms: number, env: NodeJS.ProcessEnv = process.env): number {
  const set = env.MYBUILD_PLATFORM_PARALLELISM;
  if (set !== undefined && set !== '') {
    const n = Number(set);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`MYBUILD_PLATFORM_PARALLELISM=${set}: expected a whole number of at least 1`);
    return Math.min(n, platforms);
  }
  return Math.max(1, Math.min(os.availableParallelism(), platforms));
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The platforms of a `--platform` value when it names more than one (`a,b`, duplicates and
 * containerd's spellings of the same platform dropped), else undefined: a single platform is
 * an ordinary build. Throws BuildError INVALID_ARGUMENT for a malformed entry.
 */
export function multiPlatforms(value: string | undefined): Platform[] | undefined {
  if (value === undefined || !value.includes(',')) return undefined;
  const out: Platform[] = [];
  for (const part of value.split(',')) {
    if (part.trim() === '') continue;
    const p = normalize(parsePlatform(part.trim()));
    if (!out.some((q) => formatPlatform(q) === formatPlatform(p))) out.push(p);
  }
  if (out.length === 0) throw new BuildError('INVALID_ARGUMENT', `invalid platform "${value}": no platform given`);
  return out.length > 1 ? out : undefined;
}

/** containerd's Normalize: arm64's default variant v8 is written as none, arm's default v7 in full. */
function normalize(p: Platform): Platform {
  if (p.architecture === 'arm64' && p.variant === 'v8') return { os: p.os, architecture: p.architecture };
  if (p.architecture === 'arm' && !p.variant) return { ...p, variant: 'v7' };
  return p;
}

/** BuildKit's platform-split directory name: `linux_arm_v7`. */
export function platformDir(p: Platform): string {
  return formatPlatform(p).replace(/\//g, '_');
}

type ImageOutput = Extract<OutputSpec, { type: 'image' }>;
type FilesOutput = Extract<OutputSpec, { type: 'local' | 'tar' }>;
const ENCODING_KEYS = ['compression', 'compressionLevel', 'forceCompression', 'format', 'rewriteTimestamp'] as const;
const ENCODING_FLAGS: Record<(typeof ENCODING_KEYS)[number], string> = { compression: 'compression', compressionLevel: 'compression-level', forceCompression: 'force-compression', format: 'oci-mediatypes', rewriteTimestamp: 'rewrite-timestamp' };

/** Refuses, before anything runs, what a multi-platform build does not do (see the module comment). */
function checkMultiPlatformRequest(req: BuildRequest, platforms: Platform[]): void {
  const list = platforms.map(formatPlatform).join(',');
  const hint = `build one platform at a time (--platform ${formatPlatform(platforms[0])}), or drop the option`;
  for (const out of req.outputs) {
    if (out.type === 'docker') throw new UsageError(`--output type=docker cannot hold several platforms (--platform ${list}): a docker archive has one image per name`, { hint: 'use --output type=oci, or build one platform at a time' });
    if (out.type === 'image' || out.type === 'oci') {
      const key = ENCODING_KEYS.find((k) => (out as ImageOutput)[k] !== undefined && (out as ImageOutput)[k] !== false);
      if (key) throw new UsageError(`--output type=${out.type === 'image' ? 'image' : 'oci'},${ENCODING_FLAGS[key]}=… with several platforms (--platform ${list}) is not supported yet`, { hint });
    }
  }
  const images = req.outputs.filter((o): o is ImageOutput => o.type === 'image');
  if (!req.tags.length && (req.push || images.some((o) => o.push)) && !images.some((o) => o.names?.length)) {
    throw new UsageError('--push needs at least one -t name to push to');
  }
}

/**
 * The child build's events as the caller sees them: steps renumbered after the steps of the
 * platforms before it in the --platform order (`offset`, known once those announced their steps:
 * until then its events wait), stages named with the platform, no per-platform result. Calls
 * `announced` with its own step count at its build-start.
 */
function childSink(sink: EventSink, platform: Platform, offset: Promise<number>, announced: (steps: number) => void, seen: { maxStep: number; warnings: Set<string> }): { sink: EventSink; flushed: Promise<void> } {
  const label = formatPlatform(platform);
  let base: number | undefined;
  const queue: BuildEvent[] = [];
  const step = (n: number) => {
    const s = n + base!;
    if (s > seen.maxStep) seen.maxStep = s;
    return s;
  };
  const deliver = (e: BuildEvent) => {
    switch (e.type) {
      case 'build-start':
        sink({ type: 'build-start', steps: e.steps.map((s) => ({ ...s, step: step(s.step), stage: `${label} ${s.stage}` })) });
        return;
      case 'step-start':
        sink({ ...e, step: step(e.step), info: { ...e.info, step: step(e.info.step), stage: `${label} ${e.info.stage}` } });
        return;
      case 'step-cache':
      case 'step-output':
      case 'step-end':
      case 'step-error':
        sink({ ...e, step: step(e.step) });
        return;
      case 'warning': {
        // The same check warning for every platform is printed once.
        const key = `${e.rule ?? ''}\0${e.message}`;
        if (seen.warnings.has(key)) return;
        seen.warnings.add(key);
        sink(e);
        return;
      }
      case 'result':
        return;
      default:
        sink(e);
    }
  };
  const flushed = offset.then((n) => {
    base = n;
    for (const e of queue.splice(0)) deliver(e);
  });
  return {
    flushed,
    sink: (e: BuildEvent) => {
      if (e.type === 'build-start') announced(Math.max(0, ...e.steps.map((s) => s.step)));
      if (base === undefined) queue.push(e);
      else deliver(e);
    },
  };
}

/**
 * The child request for `platform`: no names, no push, no exporters but its own local directory.
 * `--pull` is left to the leading platform (the host's when listed): a pull names the base
 * image after the platform it pulled, and the others, waiting for it (./sibling-builds.ts), then
 * pull theirs by digest without renaming it (./build.ts resolveImage), so the name stays the
 * host's image.
 */
function childRequest(req: BuildRequest, platform: Platform, first: boolean, tarStaging: Map<OutputSpec, string>): BuildRequest {
  const files = req.outputs.filter((o): o is FilesOutput => o.type === 'local' || o.type === 'tar');
  // A tar output is written as a directory first (./multi-platform.ts buildMultiPlatform tars it).
  const dir = (o: FilesOutput) => (o.type === 'tar' ? tarStaging.get(o)! : o.dest);
  return {
    ...req,
    platform: formatPlatform(platform),
    pull: req.pull && first,
    tags: [],
    push: false,
    outputs: files.length ? files.map((o) => ({ type: 'local', dest: o.platformSplit === false ? dir(o) : path.join(dir(o), platformDir(platform)) })) : [{ type: 'cacheonly' }],
    iidfile: undefined,
    metadataFile: undefined,
  };
}

/**
 * Builds `req` for every platform of `platforms` with `buildOne` (./build.ts `build`) and
 * publishes the index (see the module comment). Returns the index as the image: `imageId` and
 * `manifestDescriptor` are the index's, `config` the first platform's.
 */
export async function buildMultiPlatform(req: BuildRequest, run: { onEvent?: EventSink; signal?: AbortSignal }, platforms: Platform[], buildOne: PlatformBuild): Promise<BuildResult> {
  const started = Date.now();
  const tags = req.tags.map((t) => parseReference(t));
  checkMultiPlatformRequest(req, platforms);
  checkProvenanceOutputs(req);
  // One invocation id for every platform's provenance, as BuildKit's (one job).
  if (req.provenance) req = { ...req, invocationId: req.invocationId ?? invocationId(req, req.dockerfileText ?? req.dockerfilePath ?? '') };
  const sink: EventSink = run.onEvent ?? (() => {});
  const store = await ImageStore.open(req.root);
  // One lease for every platform's blobs and the index, until the index is named.
  const lease = await store.lease();
  // One remote cache for every platform: --cache-to then exports them all (BuildKit's multi-platform cache).
  const remote = remoteCacheFor(req);
  if (!req.noCache) remote?.prefetch();
  const tarStaging = new Map<OutputSpec, string>();
  try {
    for (const o of req.outputs) if (o.type === 'tar') tarStaging.set(o, await mkdtemp(path.join(os.tmpdir(), 'mybuild-tar-')));
    const seen = { maxStep: 0, warnings: new Set<string>() };
    // The host's platform leads (see childRequest and ./sibling-builds.ts); the index keeps the
    // --platform order and the step numbers the start order, whatever order the builds end in.
    const leader = platforms.find((p) => platformMatches(p, hostPlatform())) ?? platforms[0];
    const share = new SiblingBuilds();
    // Started (and numbered) leader first, then in the --platform order: platform i's steps are
    // numbered after those of the platforms started before it, once they announced them.
    const queued = [leader, ...platforms.filter((p) => p !== leader)];
    const counts = queued.map(() => deferred<number>());
    const offsets = queued.map((_, i) => Promise.all(counts.slice(0, i).map((c) => c.promise)).then((ns) => ns.reduce((a, b) => a + b, 0)));
    // A failing platform stops the others (its error is the build's).
    const abort = new AbortController();
    const onAbort = () => abort.abort(run.signal?.reason);
    if (run.signal?.aborted) onAbort();
    else run.signal?.addEventListener('abort', onAbort, { once: true });
    // platform-split=false writes every platform's files into one directory: one platform at a
    // time there, so that a later platform's file replaces an earlier one's (as BuildKit merges)
    // instead of two copies colliding.
    const merged = req.outputs.some((o) => (o.type === 'local' || o.type === 'tar') && o.platformSplit === false);
    const limit = pLimit(merged ? 1 : platformConcurrency(platforms.length));
    let failure: { error: unknown } | undefined;
    const flushes: Promise<void>[] = [];
    const buildPlatform = async (platform: Platform, i: number) => {
      const child = childSink(sink, platform, offsets[i], (n) => counts[i].resolve(n), seen);
      flushes.push(child.flushed);
      try {
        if (abort.signal.aborted) throw abort.signal.reason;
        const result = await buildOne(childRequest(req, platform, platform === leader, tarStaging), { onEvent: child.sink, signal: abort.signal, lease, ...(remote ? { remoteCache: remote } : {}), siblings: { share, leader: platform === leader } });
        return { platform, result };
      } catch (error) {
        failure ??= { error };
        abort.abort(error);
        throw error;
      } finally {
        counts[i].resolve(0); // a build that ended before announcing its steps has none to show
        if (platform === leader) share.leaderDone();
      }
    };
    const settled = await Promise.allSettled(queued.map((p, i) => limit(() => buildPlatform(p, i))));
    run.signal?.removeEventListener('abort', onAbort);
    // Every count is known once all have ended: the events still queued are delivered now.
    await Promise.all(flushes);
    if (failure) throw failure.error;
    const children = settled.map((r) => (r as PromiseFulfilledResult<{ platform: Platform; result: BuildResult }>).value);
    children.sort((a, b) => platforms.indexOf(a.platform) - platforms.indexOf(b.platform));
    let steps = 0;
    let cacheHits = 0;
    for (const { result } of children) {
      const s = result.metadata['mybuild.steps'] as { cached: boolean }[] | undefined;
      steps += s?.length ?? 0;
      cacheHits += s?.filter((x) => x.cached).length ?? 0;
    }
    children.sort((a, b) => platforms.indexOf(a.platform) - platforms.indexOf(b.platform));
    const mediaType = req.format === 'docker' ? MediaTypes.DOCKER_MANIFEST_LIST : MediaTypes.OCI_INDEX;
    const bytes = serializeIndex({
      schemaVersion: 2,
      mediaType,
      manifests: children.map(({ platform, result }) => ({ mediaType: result.manifestDescriptor.mediaType, digest: result.manifestDescriptor.digest, size: result.manifestDescriptor.size, platform })),
    });
    const info = await lease.content.writeBytes(bytes);
    const index: Descriptor = { mediaType, digest: info.digest, size: info.size };
    // With a provenance: the index with one attestation manifest per platform (./provenance-outputs.ts).
    const indexFor = async (target: AttestTarget, names: readonly string[], output?: OutputSpec): Promise<Descriptor> => {
      if (!provenanceFor(req, target, output)) return index;
      const images = children.map(({ platform, result }) => ({ mediaType: result.manifestDescriptor.mediaType, digest: result.manifestDescriptor.digest, size: result.manifestDescriptor.size, platform }));
      const atts: Descriptor[] = [];
      for (const { platform, result } of children) {
        if (result.provenance) atts.push(await writeAttestationManifest(lease.content, result.manifestDescriptor, [provenanceStatement(result.provenance, result.manifestDescriptor, platform, names)]));
      }
      return writeAttestedIndex(lease.content, images, atts);
    };
    const pushed = await publishIndex(req, store, indexFor, tags, sink);
    if (remote) {
      const keys = children.map((c) => c.result.fsKey).filter((k): k is string => k !== undefined);
      for (const x of await remote.export(keys, req.compression)) sink({ type: 'transfer', id: `cache-export ${x.name}`, action: 'exported', current: x.bytesSent });
      for (const x of remote.importStats()) sink({ type: 'transfer', id: `cache-import ${x.name}`, action: 'imported', current: x.metadataBytes + x.layerBytes });
    }
    for (const [out, dir] of tarStaging) await writeTar(dir, (out as FilesOutput).dest);
    const names = tags.map((t) => t.toString());
    for (const out of req.outputs) {
      if (out.type !== 'oci') continue;
      const own = out.names?.map((n) => parseReference(n).toString()) ?? names;
      // As a push sends it (and a single-platform layout holds it: ./outputs.ts): compressed layers.
      const desc = await distributable(new LayerVariants(store.root), lease.content, await indexFor('oci', own, out), { compression: req.compression });
      await exportOciLayout(store.content, own.length ? own.map((name) => ({ name, descriptor: desc })) : [{ name: 'latest', descriptor: desc }], out.dest, { tar: out.tar });
    }
    let size = 0;
    for (const c of children) size += (JSON.parse((await store.content.readBytes(c.result.manifestDescriptor.digest)).toString('utf8')) as Manifest).layers.reduce((n, l) => n + l.size, 0);
    sink({ type: 'result', imageId: index.digest, manifestDigest: index.digest, tags: tags.map((t) => t.familiar()), size, steps, cacheHits, durationMs: Date.now() - started });
    return {
      imageId: index.digest,
      manifestDescriptor: index,
      config: children[0].result.config,
      tags: names,
      metadata: {
        'containerimage.digest': index.digest,
        'containerimage.descriptor': index,
        'image.name': names.join(','),
        ...(req.push || req.outputs.some((o) => o.type === 'image' && o.push) ? { pushed } : {}),
        'mybuild.platforms': children.map(({ platform, result }) => ({ platform: formatPlatform(platform), 'containerimage.digest': result.manifestDescriptor.digest, 'containerimage.config.digest': result.imageId })),
        'mybuild.durationMs': Date.now() - started,
      },
    };
  } finally {
    remote?.close();
    for (const dir of tarStaging.values()) await rm(dir, { recursive: true, force: true });
    await lease.release();
  }
}

/** Names and pushes the index as -t, --push and the image outputs say; returns the pushed digests by name. */
async function publishIndex(req: BuildRequest, store: ImageStore, indexFor: (target: AttestTarget, names: readonly string[], output?: OutputSpec) => Promise<Descriptor>, tags: Reference[], sink: EventSink): Promise<Record<string, string>> {
  const pushed: Record<string, string> = {};
  // Pushed as a single-platform image is (./build.ts publish): the uncompressed build layers as
  // their --compression variants, which an inline cache label names.
  const pushOne = async (ref: Reference, index: Descriptor, insecure?: boolean, byDigest = false) => {
    const c = req.registryAuth?.[ref.domain];
    const r = await pushDistributable(store, ref, index, { compression: req.compression }, byDigest, (target, d) =>
      push(target, store.content, d, {
        clientOptions: { ...(c ? { credentials: c } : {}), ...(insecure ? { insecureRegistries: [ref.domain] } : {}) },
        onProgress: (p) => sink({ type: 'transfer', id: p.digest, action: p.status === 'uploading' || p.status === 'done' ? `push ${p.kind}` : `push ${p.kind} (${p.status})`, current: p.current, total: p.total }),
      }));
    pushed[r.ref] = r.digest;
  };
  const outs = req.outputs.filter((o): o is ImageOutput => o.type === 'image');
  if (!outs.length) {
    const names = tags.map(String);
    const stored = await indexFor('store', names);
    for (const t of tags) await store.setRef(t.toString(), stored);
    if (!tags.length && req.outputs.length === 0) await store.addDangling(stored);
    if (req.push) {
      const index = await indexFor('push', names);
      for (const t of tags) await pushOne(t, index);
    }
    return pushed;
  }
  for (const out of outs) {
    const seen = new Set<string>();
    const names = [...(out.names ?? []).map((n) => parseReference(n)), ...tags].filter((r) => !seen.has(r.toString()) && seen.add(r.toString()));
    if (out.store !== false) {
      const stored = await indexFor('store', names.map(String), out);
      for (const n of names) await store.setRef(n.toString(), stored);
      if (!names.length) await store.addDangling(stored);
    }
    if (out.push || req.push) {
      const index = await indexFor('push', names.map(String), out);
      for (const n of names) await pushOne(n, index, out.insecure, out.pushByDigest === true);
    }
  }
  return pushed;
}
