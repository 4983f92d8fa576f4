/**
 * `build(request)`: Dockerfile text to an image in the store, daemonless.
 *
 * parse (src/parser) → plan (src/plan: stages, args, target) → run the stages the target needs,
 * independent ones concurrently, each instruction through its handler (./instructions) and the
 * cache (./step.ts) → write config and manifest → tag, export (--output), push.
 *
 * Every failure is a BuildError; the store stays consistent (blobs and refs are only made
 * visible whole, see src/store). Cancellation (the signal) stops running steps and kills their
 * containers.
 */
import { BuildError, hasCode, isNotFound, isRegistryError, PlanError, type SourceLocation, RegistryError } from '../errors.js';
import { parseDockerfile } from '../parser/index.js';
import { readDockerfile } from '../context/build-files.js';
import type { Dockerfile, ParseWarning } from '../parser/ast.js';
import { checkConfig, runChecks } from '../checks/checks.js';
import { closeNamedContexts, namedContextsOf } from './named-contexts.js';
import { buildPlan, parseCommand, ShellLex, type Command, type FromSource, type Plan } from '../plan/index.js';
import { ImageStore, type ResolvedImage } from '../store/image-store.js';
import { StepHistory } from '../cache/history.js';
import { normalizeConfig, withContainerConfig } from '../image/config.js';
import { writeImage } from '../image/manifest.js';
import { layersOf } from '../image/layers.js';
import type { Reference } from '../oci/reference.js';
import { parseReference } from '../image/reference.js';
import type { Descriptor, ImageConfig, Platform } from '../oci/types.js';
import { pull, type TransferProgress } from '../registry/pull.js';
import { push } from '../registry/push.js';
import { hostPlatform } from '../oci/platform.js';
import { parsePlatform } from '../registry/platform.js';
import { closest } from '../util/suggest.js';
import type { Range } from '../oci/range.js';
import { INLINE_CACHE_LABEL } from '../cache/remote/format.js';
import { remoteCacheFor, type RemoteCache } from '../cache/remote/remote-cache.js';
import { writeBuildRecord } from '../cache/build-record.js';
import { BuildRecorder } from './record.js';
import { exportOutputs } from './outputs.js';
import { checkOutputs, publishImage } from './image-export.js';
import { checkBasePlatform, checkHostCanRun, noMatchingPlatform, storedPlatforms } from './platform-check.js';
import type { BuildEvent, EventSink, StepInfo } from './events.js';
import { BuildSession, type BuildRequest } from './session.js';
import { runLayerStep } from './step.js';
import { registerBuild } from './stale.js';
import { dispatch } from './dispatch.js';
import { baseState } from './base.js';
import type { SourceFs } from './instructions/handler.js';
import { localWorker } from './worker.js';
import type { StageState } from './state.js';
import { storeDir } from '../store/store-dirs.js';
import { pushDistributable } from '../store/layer-variants.js';
import { removeLeftoverSecrets } from '../runtime/secrets.js';
import { buildMultiPlatform, multiPlatforms } from './multi-platform.js';
import { runStepName, shownInstruction } from './step-name.js';
import { resolveSourceDateEpoch } from './source-date-epoch.js';
import { attacherFor, checkProvenanceOutputs } from './provenance-outputs.js';
import { stageBase } from './provenance.js';

import type { BuildResult, BuildRunOptions } from './session.js';
import { storeLayout } from '../store/layout.js';

/**
 * Builds the Dockerfile of `req` (see the module comment). Throws BuildError. With
 * `--cache-from`, a cache source that fails while a lazily imported layer is fetched makes the
 * build run once more without imports (a warning), so it still succeeds by building.
 */
export async function build(req: BuildRequest, run: BuildRunOptions = {}): Promise<BuildResult> {
  // `--platform a,b`: one build per platform and an index (./multi-platform.ts).
  const platforms = multiPlatforms(req.platform);
  if (platforms) return buildMultiPlatform(req, run, platforms, build);
  const remote = run.remoteCache ?? remoteCacheFor(req);
  if (!req.noCache && !run.remoteCache) remote?.prefetch();
  try {
    return await buildOnce(req, run, remote);
  } catch (err) {
    if (!remote?.fetchFailed || run.signal?.aborted) throw err;
    run.onEvent?.({ type: 'warning', message: `${(err as Error).message}; building again without the imported cache` });
    remote.disableImports();
    return await buildOnce(req, run, remote);
  } finally {
    if (!run.remoteCache) remote?.close();
  }
}

async function buildOnce(req: BuildRequest, run: BuildRunOptions, remote: RemoteCache | undefined): Promise<BuildResult> {
  const started = Date.now();
  const record = new BuildRecorder();
  const userSink: EventSink = run.onEvent ?? (() => {});
  const emit: EventSink = (e) => {
    record.apply(e);
    userSink(e);
  };
  // Tags, outputs and the platform are checked before any work (rewrite-timestamp once SOURCE_DATE_EPOCH is known).
  const tags = req.tags.map((t) => parseReference(t));
  checkProvenanceOutputs(req);
  const platform: Platform = req.platform ? parsePlatform(req.platform) : hostPlatform();
  const file = req.dockerfileName ?? 'Dockerfile';
  // Resolved inside the context (a symlink out is refused), a regular text file only (../context/build-files.ts).
  const text = req.dockerfileText ?? (await readDockerfile(req.contextDir, req.dockerfilePath, req.dockerfileName));

  const { ast, warnings } = parseDockerfile(text, { file });
  // A bad `# check=` directive or BUILDKIT_DOCKERFILE_CHECK fails the build, as BuildKit's does.
  checkConfig(ast, req.buildArgs);
  const planOpts = { target: req.target, platform: { os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) }, text };
  let plan = buildPlan(ast, { ...planOpts, buildArgs: req.buildArgs });
  for (const w of plan.warnings) emit({ type: 'warning', message: w });
  // SOURCE_DATE_EPOCH from a build arg, the environment or the Dockerfile's default (./source-date-epoch.ts).
  const epoch = await resolveSourceDateEpoch(req, plan, ast, (s) => ({ file, range: s.fromNode.range, text }), run.signal);
  if (epoch.symbolic !== undefined) {
    // `context` or a stage: the build args (and so `$SOURCE_DATE_EPOCH`) carry the time, as BuildKit's.
    req = { ...req, buildArgs: { ...req.buildArgs, SOURCE_DATE_EPOCH: epoch.epoch === undefined ? '' : String(epoch.epoch) } };
    plan = buildPlan(ast, { ...planOpts, buildArgs: req.buildArgs });
  }
  req = { ...req, sourceDateEpoch: epoch.epoch };
  checkOutputs(req, epoch.given);
  checkHostCanRun(plan, (stage) => stagePlatform(stage, platform, (range) => ({ file, range, text })), (range) => ({ file, range, text }));

  const store = await ImageStore.open(req.root);
  await storeDir(storeLayout(req.root).tmp);
  await removeLeftoverSecrets(req.root); // what killed builds' RUN --mount=type=secret left
  // Before anything is mounted or run: register, and clean what killed builds left (./stale.ts).
  const registration = await registerBuild(req.root, store.content.paths.ingest, { runtime: req.runtime });
  const history = await StepHistory.open(req.root, store.content.paths.ingest);
  const abort = new AbortController();
  const onAbort = () => abort.abort(run.signal?.reason);
  run.signal?.addEventListener('abort', onAbort, { once: true });
  const lease = run.lease ?? (await store.lease());
  remote?.bind(store, (message) => emit({ type: 'warning', message }), run.remoteCache !== undefined);
  const worker = localWorker({
    root: req.root,
    runtime: req.runtime,
    content: lease.content,
    layerSource: remote ? remote.contentStore(store.content) : store.content,
    cleanLeftovers: registration.deadFound,
  });
  const session = new BuildSession({ req, store, lex: new ShellLex(ast.escapeToken), file, text, emit, signal: abort.signal, history, lease, worker, remoteCache: remote, targetStage: plan.target, ...(run.siblings ? { siblings: run.siblings } : {}) });
  await emitCheckWarnings(session, ast, warnings, platform);

  try {
    const stage = await runStages(session, plan, platform, abort);
    const written = await writeImage(session.content, await imageConfig(session, stage, remote), stage.layers.map((l) => l.descriptor), { format: req.format, ...(req.annotations ? { annotations: req.annotations } : {}) });
    const imageId = written.configDescriptor.digest;
    session.attestations = attacherFor(session, { targetStage: plan.target, config: written.config, dockerfileText: text, startedMs: started });
    // A shared remote cache (multi-platform) is exported by its owner, once for every platform.
    const pushed = await publish(session, stage, written.manifestDescriptor, tags, run.remoteCache ? undefined : remote);
    await writeBuildRecord(req.root, store.content.paths.ingest, {
      imageId,
      manifestDigest: written.manifestDescriptor.digest,
      dockerfile: file,
      contextDir: req.contextDir,
      tags: tags.map((t) => t.toString()),
      createdAt: new Date().toISOString(),
      steps: record.steps,
    });
    const cacheHits = session.stepResults.filter((s) => s.cached).length;
    const size = stage.layers.reduce((n, l) => n + l.descriptor.size, 0);
    emit({ type: 'result', imageId, manifestDigest: written.manifestDescriptor.digest, tags: tags.map((t) => t.familiar()), size, steps: session.stepResults.length, cacheHits, durationMs: Date.now() - started });
    return {
      imageId,
      manifestDescriptor: written.manifestDescriptor,
      config: written.config,
      fsKey: stage.fsKey,
      tags: tags.map((t) => t.toString()),
      metadata: {
        'containerimage.digest': written.manifestDescriptor.digest,
        'containerimage.config.digest': imageId,
        'containerimage.descriptor': written.manifestDescriptor,
        'image.name': tags.map((t) => t.toString()).join(','),
        ...(req.push ? { pushed } : {}),
        'mybuild.steps': session.stepResults,
        'mybuild.cache': { hits: cacheHits, misses: session.stepResults.filter((s) => !s.cached).length },
        'mybuild.durationMs': Date.now() - started,
        ...(remote ? { 'mybuild.remoteCache': { imports: remote.importStats(), exports: remote.exportStats } } : {}),
      },
      ...(session.attestations ? { provenance: session.attestations.statementPredicate } : {}),
    };
  } finally {
    run.signal?.removeEventListener('abort', onAbort);
    await closeNamedContexts(session);
    await session.finish().catch(() => undefined);
    if (!run.lease) await lease.release();
    await registration.release();
  }
}

/**
 * BuildKit's build checks (src/checks/checks.ts) on the stages the target needs, as warnings; with
 * `# check=error=true` a warning fails the build. Base images are looked up in the store only
 * (a check never pulls); the context's ignore patterns feed CopyIgnoredFile.
 */
async function emitCheckWarnings(session: BuildSession, ast: Dockerfile, parseWarnings: readonly ParseWarning[], platform: Platform): Promise<void> {
  const { req } = session;
  const ignorePatterns = await session.context().then((c) => c.excludes, () => undefined);
  const checks = await runChecks(ast, {
    text: session.text,
    mode: 'build',
    buildArgs: req.buildArgs,
    ...(req.target !== undefined ? { target: req.target } : {}),
    platform,
    parseWarnings,
    ...(ignorePatterns ? { ignorePatterns } : {}),
    resolveImage: (ref, p) => session.store.resolve(ref, p).then((i) => i.config, () => undefined),
  });
  for (const w of checks.warnings) session.emit({ type: 'warning', message: w.message, rule: w.rule, file: session.file, range: w.range });
  if (checks.violation) throw new PlanError(checks.violation);
}

/**
 * Runs every stage the target needs (independent ones concurrently; a failing stage aborts the
 * others) and returns the target's final state.
 */
async function runStages(session: BuildSession, plan: Plan, platform: Platform, abort: AbortController): Promise<StageState> {
  const steps = numberSteps(plan);
  const allSteps = [...steps.values()].flat();
  session.emit({ type: 'build-start', steps: allSteps });
  // ONBUILD triggers are only known once a base image is resolved: they get numbers after the planned steps.
  const extraSteps = { next: allSteps.length + 1 };
  const results = new Map<number, Promise<StageState>>();
  const runStage = (i: number): Promise<StageState> => {
    let p = results.get(i);
    if (!p) {
      // A stage only an ONBUILD trigger names (`ONBUILD COPY --from=src`) was not planned: it
      // is numbered when the trigger reaches it.
      p = stageRunner(session, plan, i, steps.get(i) ?? stageSteps(plan, i, extraSteps), runStage, platform, extraSteps);
      results.set(i, p);
      p.catch(() => abort.abort(new BuildError('CANCELED', 'another stage failed')));
    }
    return p;
  };
  await Promise.all(plan.order.map(runStage));
  return runStage(plan.target);
}

/**
 * The image config of the target state: --label values, the inline cache label, the creation
 * time (SOURCE_DATE_EPOCH, else the newest cache record's). Fetches the layers hit in a remote
 * cache first: the image needs every one of its blobs.
 */
async function imageConfig(session: BuildSession, stage: StageState, remote: RemoteCache | undefined): Promise<ImageConfig> {
  let config = stage.config;
  if (Object.keys(session.req.labels).length) config = withContainerConfig(config, { Labels: { ...(config.config?.Labels ?? {}), ...session.req.labels } });
  const inlineCache = await remote?.inlineLabel(stage.fsKey, session.req.compression);
  if (inlineCache !== undefined) config = withContainerConfig(config, { Labels: { ...(config.config?.Labels ?? {}), [INLINE_CACHE_LABEL]: inlineCache } });
  await remote?.ensureLayers(stage.layers.map((l) => l.descriptor));
  const created = session.sourceDateEpoch !== undefined ? new Date(session.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z') : stage.created;
  return normalizeConfig({ ...config, ...(created ? { created } : {}) });
}

/**
 * Makes the image visible: tags it, writes the --output exporters, pushes (--push) and exports
 * the cache (--cache-to). Returns the pushed digest by name.
 */
async function publish(session: BuildSession, stage: StageState, manifest: Descriptor, tags: Reference[], remote: RemoteCache | undefined): Promise<Record<string, string>> {
  const { req, store, emit } = session;
  // Names, the store's untagged <none>, pushes: src/builder/image-export.ts.
  const pushed = await publishImage(session, manifest, stage, tags, async (t, desc, o) => {
    const auth = registryAuthFor(req, t.domain).clientOptions;
    // Uncompressed build layers are compressed here, once per variant (src/store/layer-variants.ts).
    return pushDistributable(store, t, desc, { compression: o.compression ?? req.compression, level: o.level }, o.byDigest === true, (ref, d) =>
      push(ref, store.content, d, { clientOptions: { ...auth, ...(o.insecure ? { insecureRegistries: [t.domain] } : {}) }, onProgress: transferEvents(emit, 'push') }));
  });
  await exportOutputs(session, req, manifest, stage, tags.map((t) => t.toString()));
  if (remote) {
    for (const x of await remote.export(stage.fsKey, req.compression)) emit({ type: 'transfer', id: `cache-export ${x.name}`, action: 'exported', current: x.bytesSent });
    for (const x of remote.importStats()) emit({ type: 'transfer', id: `cache-import ${x.name}`, action: 'imported', current: x.metadataBytes + x.layerBytes });
  }
  return pushed;
}

/** Step numbers as BuildKit prints them (`#N`), FROM included, per stage in build order. */
function numberSteps(plan: Plan): Map<number, StepInfo[]> {
  const out = new Map<number, StepInfo[]>();
  const counter = { next: 1 };
  for (const i of plan.order) out.set(i, stageSteps(plan, i, counter));
  return out;
}

/** Whether stage `from` is `to` or needs it (through the plan's dependencies). */
function dependsOn(plan: Plan, from: number, to: number): boolean {
  const seen = new Set<number>();
  const walk = (i: number): boolean => {
    if (i === to) return true;
    if (seen.has(i)) return false;
    seen.add(i);
    return plan.stages[i]!.deps.some(walk);
  };
  return walk(from);
}

/**
 * The steps of stage `i`, numbered from `counter.next` on (which it advances). `index/total`
 * count the FROM and the commands, except a FROM scratch: BuildKit has no step for it (its
 * `[stage-1 1/1] COPY …`), so it is shown unnumbered (index and total 0).
 */
function stageSteps(plan: Plan, i: number, counter: { next: number }): StepInfo[] {
  const s = plan.stages[i]!;
  const name = s.name ?? `stage-${i}`;
  const nodes = [s.fromNode, ...s.commands.map((c) => c.node)];
  const skip = s.base.kind === 'scratch' ? 1 : 0;
  const total = nodes.length - skip;
  return nodes.map((node, k) => ({ step: counter.next++, stage: name, index: k < skip ? 0 : k + 1 - skip, total: k < skip ? 0 : total, instruction: shownInstruction(node.original), range: node.range }));
}

/** Client options carrying the request's credentials for `domain` (`registryAuth`), when it has some. */
function registryAuthFor(req: BuildRequest, domain: string): { clientOptions?: { credentials: NonNullable<BuildRequest['registryAuth']>[string] } } {
  const c = req.registryAuth?.[domain];
  return c ? { clientOptions: { credentials: c } } : {};
}

/** Resolves an image from the store, pulling it when missing (or always with --pull); beside sibling platform builds, the leader's first (./sibling-builds.ts). */
async function resolveImage(session: BuildSession, ref: string, platform: Platform, range: Range, explicit = session.req.platform !== undefined): Promise<ResolvedImage> {
  const s = session.siblings;
  if (!s) return resolveImageOnce(session, ref, platform, range, explicit);
  if (!s.leader) {
    await s.share.leaderResolved(ref);
    return resolveImageOnce(session, ref, platform, range, explicit);
  }
  try {
    return await resolveImageOnce(session, ref, platform, range, explicit);
  } finally {
    s.share.baseResolved(ref);
  }
}

async function resolveImageOnce(session: BuildSession, ref: string, platform: Platform, range: Range, explicit: boolean): Promise<ResolvedImage> {
  const source = session.source(range);
  let parsed;
  try {
    parsed = parseReference(ref);
  } catch (err) {
    throw new PlanError((err as Error).message, { source, cause: err });
  }
  // The image's blobs are pinned to the build's lease, so a concurrent prune (after an rmi)
  // cannot take them away mid-build.
  const pinned = async (img: ResolvedImage): Promise<ResolvedImage> => {
    await session.pin(img.manifestDescriptor.digest, img.configDigest, ...img.manifest.layers.map((l) => l.digest));
    session.capture.image(parsed.toString(), platform, img.descriptor.digest); // a provenance material
    return img;
  };
  // An explicit --platform (or FROM --platform) the base image does not have is an error (src/builder/platform-check.ts).
  const checked = (img: ResolvedImage): ResolvedImage => (explicit && checkBasePlatform(ref, img, platform, source), img);
  if (!session.req.pull) {
    let mismatch: PlanError | undefined;
    try {
      return await pinned(checked(await session.store.resolve(parsed.toString(), platform)));
    } catch (err) {
      if (explicit && hasCode(err, 'PLAN')) mismatch = err;
      else if (!isNotFound(err)) throw err;
      const have = explicit && !mismatch ? await storedPlatforms(session.store, parsed.toString()) : undefined;
      if (have) mismatch = noMatchingPlatform(ref, platform, have, source);
    }
    // The stored name is for another platform (a pull keeps only the host's entry of an index,
    // a multi-platform build needs every one): the registry may have this platform. Pulled by
    // digest, without renaming the stored image; when that fails, the mismatch is the error.
    if (mismatch) {
      let pulled;
      try {
        pulled = await pull(parsed, session.content, undefined, { platform, platformMustMatch: true, sources: undefined, ...registryAuthFor(session.req, parsed.domain), onProgress: transferEvents(session.emit, 'pull') });
      } catch {
        throw mismatch;
      }
      return pinned(checked(await session.store.resolveDescriptor(pulled.descriptor, platform, parsed.toString())));
    }
  }
  try {
    await pull(parsed, session.content, session.store, { platform, platformMustMatch: explicit, sources: undefined, ...registryAuthFor(session.req, parsed.domain), onProgress: transferEvents(session.emit, 'pull') });
  } catch (err) {
    if (isRegistryError(err)) {
      throw new RegistryError(`${ref}: not in the store, and pulling it failed: ${err.message}`, { source, cause: err, hint: err.hint ?? 'load it with "mybuild load -i FILE" or check the name' });
    }
    throw err;
  }
  return pinned(checked(await session.store.resolve(parsed.toString(), platform)));
}

/** The stages (indices, as the plan resolved them) a command reads: COPY --from, RUN --mount from=. */
function stagesReadBy(cmd: Command): number[] {
  const sources: (FromSource | undefined)[] = [];
  if ('source' in cmd && cmd.source && typeof cmd.source === 'object') sources.push(cmd.source as FromSource);
  if (cmd.kind === 'RUN') sources.push(...Object.values(cmd.mountSources ?? {}));
  return sources.flatMap((s) => (s?.kind === 'stage' ? [s.index] : []));
}

/** An image as a source filesystem: its manifest digest is its cache identity. */
function imageFs(img: ResolvedImage): SourceFs {
  return { fsKey: img.manifestDescriptor.digest, layers: layersOf(img.manifest, img.config, `image ${img.manifestDescriptor.digest}`).map((l) => ({ ...l, fromImage: true })), config: img.config };
}

/** The platform stage `s` is built for: its `FROM --platform` (expanded by the plan), else `target`. Throws PlanError at the FROM for a bad one. */
function stagePlatform(s: Plan['stages'][number], target: Platform, source: (range: Range) => SourceLocation): Platform {
  if (s.platform === undefined) return target;
  try {
    return parsePlatform(s.platform);
  } catch (err) {
    throw new PlanError(`FROM --platform=${s.platform}: ${(err as Error).message}`, { source: source(s.fromNode.range), cause: err });
  }
}

/** Whether `ref` names an image already in the store. */
async function inStore(session: BuildSession, ref: string, platform: Platform): Promise<boolean> {
  try {
    await session.store.resolve(parseReference(ref).toString(), platform);
    return true;
  } catch {
    return false;
  }
}

/** Registry progress as `transfer` events (the tty view shows bytes and rate; plain prints start and end). */
function transferEvents(emit: EventSink, verb: 'pull' | 'push'): (p: TransferProgress) => void {
  return (p) => {
    const action = p.status === 'downloading' || p.status === 'uploading' || p.status === 'done' ? `${verb} ${p.kind}` : `${verb} ${p.kind} (${p.status})`;
    emit({ type: 'transfer', id: p.digest, action, current: p.current, total: p.total });
  };
}

function stageRunner(
  session: BuildSession,
  plan: Plan,
  index: number,
  steps: StepInfo[],
  runStage: (i: number) => Promise<StageState>,
  targetPlatform: Platform,
  extraSteps: { next: number },
): Promise<StageState> {
  return (async () => {
    const planned = plan.stages[index];
    const fromInfo = steps[0];
    // `FROM --platform=…` (e.g. $BUILDPLATFORM for a native cross-compiling stage) overrides the target platform for this stage.
    const platform = stagePlatform(planned, targetPlatform, session.source.bind(session));
    const explicit = session.req.platform !== undefined || planned.platform !== undefined;
    const t0 = Date.now();
    session.emit({ type: 'step-start', step: fromInfo.step, info: fromInfo });
    // --build-context: a name resolves to its context before stages and images; a stage of
    // that name is replaced by it (src/builder/named-contexts.ts).
    const named = namedContextsOf(session);
    const namedFs = async (name: string, range: Range): Promise<(SourceFs & { created?: string }) | undefined> => {
      if (!named.has(name)) return undefined;
      const t = await named.target(name, platform);
      if (t.kind === 'fs') return t.fs;
      const img = await resolveImage(session, t.ref, platform, range, explicit);
      return { ...imageFs(img), created: img.config.created };
    };
    const replaced = planned.name !== undefined && named.has(planned.name);
    let stage: StageState;
    try {
      stage = await baseState(replaced ? { ...planned, base: { kind: 'image', ref: planned.name! } } : planned, {
        platform,
        lex: session.lex,
        globalArgs: plan.globalArgs,
        buildArgs: session.req.buildArgs,
        file: session.file,
        text: session.text,
        sourceDateEpoch: session.sourceDateEpoch,
        stageState: runStage,
        image: async (ref, range) => {
          const n = await namedFs(ref, range);
          if (n) return n;
          const img = await resolveImage(session, ref, platform, range, explicit);
          return { ...imageFs(img), created: img.config.created };
        },
      });
    } catch (err) {
      session.emit({ type: 'step-error', step: fromInfo.step, message: (err as Error).message });
      throw err;
    }
    session.emit({ type: 'step-end', step: fromInfo.step, cached: true, durationMs: Date.now() - t0 });
    session.capture.stage(index, stageBase(session, replaced ? { kind: 'image', ref: planned.name! } : planned.base, platform, planned.fromNode.range));
    if (replaced) return stage;

    // `--from` of COPY / RUN --mount, as the plan resolved it (ONBUILD triggers were not
    // planned: their names are resolved here). Errors point at the instruction that names it.
    const fromName = (name: string, range: Range): FromSource => {
      const byName = plan.stages.find((s) => s.name === name.toLowerCase());
      const idx = byName ? byName.index : /^\d+$/.test(name) ? Number(name) : -1;
      if (idx >= 0 && idx < plan.stages.length) return { kind: 'stage', index: idx };
      if (/^\d+$/.test(name)) {
        throw new PlanError(`--from=${name}: there is no stage ${name} (the Dockerfile has ${plan.stages.length} stage${plan.stages.length === 1 ? '' : 's'}, numbered from 0)`, { source: session.source(range) });
      }
      return { kind: 'image', ref: name };
    };
    const from = async (name: string, source: FromSource | undefined, range: Range, stagesRead?: number[]): Promise<SourceFs> => {
      const resolved = source ?? fromName(name, range);
      if (resolved.kind === 'stage') stagesRead?.push(resolved.index);
      if (resolved.kind === 'stage' && source === undefined && dependsOn(plan, resolved.index, index)) {
        throw new PlanError(`circular dependency detected on stage: ${plan.stages[resolved.index]!.name ?? resolved.index}`, { source: session.source(range), hint: 'an ONBUILD trigger cannot copy from the stage that runs it, or from one built on it' });
      }
      if (resolved.kind === 'stage') {
        const s = await runStage(resolved.index);
        return { fsKey: s.fsKey, layers: s.layers, config: s.config };
      }
      name = resolved.ref;
      const n = await namedFs(name, range);
      if (n) return n;
      const lower = name.toLowerCase();
      // A bare name close to a stage name is a typo, not an image to pull (Docker would try).
      const names = plan.stages.map((s) => s.name).filter((n): n is string => !!n);
      const near = /^[a-z0-9][a-z0-9_.-]*$/.test(lower) ? closest(lower, names, (w) => (w.length <= 4 ? 1 : 2)) : undefined;
      if (near && !(await inStore(session, name, platform))) {
        throw new PlanError(`--from=${name}: no stage or local image named "${name}"`, { source: session.source(range), hint: `did you mean the stage "${near}"?` });
      }
      return imageFs(await resolveImage(session, name, platform, range, explicit));
    };

    // ONBUILD triggers of the base image run first (and are not inherited further).
    const triggers = stage.config.config?.OnBuild ?? [];
    if (triggers.length) stage.config = withContainerConfig(stage.config, { OnBuild: undefined });
    const commands: { cmd: Command; info: StepInfo }[] = [];
    for (const t of triggers) {
      const parsed = parseDockerfile(t, { file: `${session.file} (ONBUILD of ${planned.from.image})` });
      for (const node of parsed.ast.instructions) {
        commands.push({ cmd: parseCommand(node, { ast: parsed.ast, text: t }), info: { ...fromInfo, step: extraSteps.next++, instruction: `ONBUILD ${node.original}` } });
      }
    }
    planned.commands.forEach((cmd, k) => commands.push({ cmd, info: steps[k + 1] }));

    for (const { cmd, info: numbered } of commands) {
      session.throwIfAborted();
      // A step that reads another stage (COPY --from, RUN --mount from=) starts once that stage
      // is built: until then it is waiting, and its time counts from its start (BuildKit's vertices).
      for (const dep of stagesReadBy(cmd)) await runStage(dep);
      const s0 = Date.now();
      const info = cmd.kind === 'RUN' && !numbered.instruction.startsWith('ONBUILD ') ? { ...numbered, instruction: runStepName(session.lex, cmd, stage.env.vars, (c) => stage.env.expand(c).cmd) } : numbered;
      session.emit({ type: 'step-start', step: info.step, info });
      try {
        const stagesRead: number[] = [];
        const layerStep = await dispatch({ stage, info, from: (name, source) => from(name, source, cmd.node.range, stagesRead), worker: session.worker, options: session.req, session }, cmd);
        let cached = false;
        if (layerStep) {
          cached = await runLayerStep(session, stage, { step: info.step, identity: `${session.file}:${planned.name ?? index}:${info.index}:${cmd.kind}`, ...layerStep });
          session.capture.step(index, { key: stage.fsKey, range: cmd.node.range, fromStages: stagesRead, layers: stage.layers.map((l) => l.descriptor), createdBy: layerStep.createdBy, ...(layerStep.provenance ? { provenance: layerStep.provenance } : {}) });
        }
        const durationMs = Date.now() - s0;
        session.stepResults.push({ step: info.step, cached: !!layerStep && cached, durationMs });
        session.emit({ type: 'step-end', step: info.step, cached: !!layerStep && cached, durationMs });
      } catch (err) {
        session.emit({ type: 'step-error', step: info.step, message: err instanceof BuildError ? err.message : String(err) });
        throw err;
      }
    }
    return stage;
  })();
}

export type { BuildEvent };
