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
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { BuildError, isNotFound, PlanError, UsageError } from '../errors.js';
import { parseDockerfile } from '../parser/index.js';
import { buildPlan, parseCommand, ShellLex, StageEnv, type Command, type Plan, type Stage } from '../plan/index.js';
import { ImageStore, type ResolvedImage } from '../store/image-store.js';
import { StepHistory } from '../cache/history.js';
import { emptyConfig, normalizeConfig, withContainerConfig } from '../image/config.js';
import { writeImage } from '../image/manifest.js';
import { parseReference } from '../image/reference.js';
import { exportOciLayout } from '../image/formats/oci-layout.js';
import { exportDockerArchive } from '../image/formats/docker-archive.js';
import type { Descriptor, ImageConfig, Platform } from '../image/types.js';
import { pull, type TransferProgress } from '../registry/pull.js';
import { push } from '../registry/push.js';
import { parsePlatform, hostPlatform } from '../registry/platform.js';
import { cacheKey } from '../cache/key.js';
import { closest } from '../util/suggest.js';
import type { Range } from '../parser/ast.js';
import { INLINE_CACHE_LABEL } from '../cache/remote/format.js';
import { remoteCacheFor, type RemoteCache } from '../cache/remote/remote-cache.js';
import { writeFileAtomic } from '../store/fs-util.js';
import type { BuildEvent, EventSink, StepInfo } from './events.js';
import { BuildSession, type BuildRequest } from './session.js';
import { runLayerStep } from './step.js';
import { registerBuild } from './stale.js';
import { HANDLERS } from './instructions/index.js';
import type { Handler, SourceFs, StepContext } from './instructions/handler.js';
import type { StageState } from './state.js';

export type { BuildRequest } from './session.js';

export interface BuildResult {
  /** The image ID: the config digest, as docker shows it. */
  imageId: string;
  manifestDescriptor: Descriptor;
  config: ImageConfig;
  tags: string[];
  /** What --metadata-file writes. */
  metadata: Record<string, unknown>;
}

export interface BuildRunOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Builds the Dockerfile of `req` (see the module comment). Throws BuildError. With
 * `--cache-from`, a cache source that fails while a lazily imported layer is fetched makes the
 * build run once more without imports (a warning), so it still succeeds by building.
 */
export async function build(req: BuildRequest, run: BuildRunOptions = {}): Promise<BuildResult> {
  const remote = remoteCacheFor(req);
  if (!req.noCache) remote?.prefetch();
  try {
    return await buildOnce(req, run, remote);
  } catch (err) {
    if (!remote?.fetchFailed || run.signal?.aborted) throw err;
    run.onEvent?.({ type: 'warning', message: `${(err as Error).message}; building again without the imported cache` });
    remote.disableImports();
    return await buildOnce(req, run, remote);
  } finally {
    remote?.close();
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
  const file = req.dockerfileName ?? 'Dockerfile';
  const text = req.dockerfileText ?? (await readDockerfile(req.dockerfilePath ?? path.join(req.contextDir, 'Dockerfile')));
  // Tags are checked before any work.
  const tags = req.tags.map((t) => parseReference(t));
  const platform: Platform = req.platform ? parsePlatform(req.platform) : hostPlatform();

  const { ast, warnings } = parseDockerfile(text, { file });
  for (const w of warnings) emit({ type: 'warning', message: w.message, rule: w.rule, file, range: w.range });
  const plan = buildPlan(ast, { buildArgs: req.buildArgs, target: req.target, platform: { os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) }, text });
  for (const w of plan.warnings) emit({ type: 'warning', message: w });

  const store = await ImageStore.open(req.root);
  await mkdir(path.join(req.root, 'tmp'), { recursive: true });
  // Before anything is mounted or run: register, and clean what killed builds left (./stale.ts).
  const registration = await registerBuild(req.root, store.content.paths.ingest, { runtime: req.runtime });
  const history = await StepHistory.open(req.root, store.content.paths.ingest);
  const abort = new AbortController();
  const onAbort = () => abort.abort(run.signal?.reason);
  run.signal?.addEventListener('abort', onAbort, { once: true });
  const lease = await store.lease();
  const b = new BuildSession(req, store, new ShellLex(ast.escapeToken), file, text, emit, abort.signal, history, lease);
  b.snapshotLeftovers = registration.deadFound;
  b.targetStage = plan.target;
  if (remote) {
    remote.bind(store, (message) => emit({ type: 'warning', message }));
    b.remoteCache = remote;
  }

  try {
    const steps = numberSteps(plan);
    const allSteps = [...steps.values()].flat();
    emit({ type: 'build-start', steps: allSteps });
    // ONBUILD triggers are only known once a base image is resolved: they get numbers after the planned steps.
    const extraSteps = { next: allSteps.length + 1 };
    const results = new Map<number, Promise<StageState>>();
    const runStage = (i: number): Promise<StageState> => {
      let p = results.get(i);
      if (!p) {
        p = stageRunner(b, plan, i, steps.get(i)!, runStage, platform, extraSteps);
        results.set(i, p);
        p.catch(() => abort.abort(new BuildError('CANCELED', 'another stage failed')));
      }
      return p;
    };
    const all = plan.order.map(runStage);
    await Promise.all(all);
    const st = await runStage(plan.target);

    let config = st.config;
    if (Object.keys(req.labels).length) config = withContainerConfig(config, { Labels: { ...(config.config?.Labels ?? {}), ...req.labels } });
    const inlineCache = remote?.inlineLabel(st.fsKey);
    if (inlineCache !== undefined) config = withContainerConfig(config, { Labels: { ...(config.config?.Labels ?? {}), [INLINE_CACHE_LABEL]: inlineCache } });
    // Layers hit in a remote cache are fetched now: the image needs every one of its blobs.
    await remote?.ensureLayers(st.layers.map((l) => l.descriptor));
    const created = b.sourceDateEpoch !== undefined ? new Date(b.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z') : st.created;
    config = normalizeConfig({ ...config, ...(created ? { created } : {}) });
    const written = await writeImage(b.content, config, st.layers.map((l) => l.descriptor), { format: req.format });
    const imageId = written.configDescriptor.digest;

    for (const t of tags) await store.setRef(t.toString(), written.manifestDescriptor);
    await exportOutputs(b, req, written.manifestDescriptor, st, tags.map((t) => t.toString()));
    const pushed: Record<string, string> = {};
    if (req.push) {
      if (!tags.length) throw new UsageError('--push needs at least one -t name to push to');
      for (const t of tags) pushed[t.toString()] = (await push(t, store.content, written.manifestDescriptor, { ...registryAuthFor(req, t.domain), onProgress: transferEvents(emit, 'push') })).digest;
    }
    if (remote) {
      for (const x of await remote.export(st.fsKey, req.compression)) emit({ type: 'transfer', id: `cache-export ${x.name}`, action: 'exported', current: x.bytesSent });
      for (const x of remote.importStats()) emit({ type: 'transfer', id: `cache-import ${x.name}`, action: 'imported', current: x.metadataBytes + x.layerBytes });
    }
    await writeBuildRecord(req.root, store.content.paths.ingest, {
      imageId,
      manifestDigest: written.manifestDescriptor.digest,
      dockerfile: file,
      contextDir: req.contextDir,
      tags: tags.map((t) => t.toString()),
      createdAt: new Date().toISOString(),
      steps: record.steps,
    });
    const cacheHits = b.stepResults.filter((s) => s.cached).length;
    const size = st.layers.reduce((n, l) => n + l.descriptor.size, 0);
    emit({ type: 'result', imageId, manifestDigest: written.manifestDescriptor.digest, tags: tags.map((t) => t.familiar()), size, steps: b.stepResults.length, cacheHits, durationMs: Date.now() - started });
    return {
      imageId,
      manifestDescriptor: written.manifestDescriptor,
      config: written.config,
      tags: tags.map((t) => t.toString()),
      metadata: {
        'containerimage.digest': written.manifestDescriptor.digest,
        'containerimage.config.digest': imageId,
        'containerimage.descriptor': written.manifestDescriptor,
        'image.name': tags.map((t) => t.toString()).join(','),
        ...(req.push ? { pushed } : {}),
        'mybuild.steps': b.stepResults,
        'mybuild.cache': { hits: cacheHits, misses: b.stepResults.filter((s) => !s.cached).length },
        'mybuild.durationMs': Date.now() - started,
        ...(remote ? { 'mybuild.remoteCache': { imports: remote.importStats(), exports: remote.exportStats } } : {}),
      },
    };
  } finally {
    run.signal?.removeEventListener('abort', onAbort);
    await b.finish().catch(() => undefined);
    await lease.release();
    await registration.release();
  }
}

async function readDockerfile(p: string): Promise<string> {
  try {
    return await readFile(p, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UsageError(`cannot read the Dockerfile: ${p} does not exist`, { hint: 'give its path with -f' });
    if (e.code === 'EISDIR') throw new UsageError(`the Dockerfile path ${p} is a directory`);
    throw err;
  }
}

/** Step numbers as BuildKit prints them (`#N`), FROM included, per stage in build order. */
function numberSteps(plan: Plan): Map<number, StepInfo[]> {
  const out = new Map<number, StepInfo[]>();
  let n = 1;
  for (const i of plan.order) {
    const s = plan.stages[i];
    const name = s.name ?? `stage-${i}`;
    const nodes = [s.fromNode, ...s.commands.map((c) => c.node)];
    out.set(
      i,
      nodes.map((node, k) => ({ step: n++, stage: name, index: k + 1, total: nodes.length, instruction: node.original.length > 120 ? `${node.original.slice(0, 117)}...` : node.original, range: node.range })),
    );
  }
  return out;
}

/** Client options carrying the request's credentials for `domain` (`registryAuth`), when it has some. */
function registryAuthFor(req: BuildRequest, domain: string): { clientOptions?: { credentials: NonNullable<BuildRequest['registryAuth']>[string] } } {
  const c = req.registryAuth?.[domain];
  return c ? { clientOptions: { credentials: c } } : {};
}

/** Resolves an image from the store, pulling it when missing (or always with --pull). */
async function resolveImage(b: BuildSession, ref: string, platform: Platform, range: import('../parser/ast.js').Range) {
  const source = b.source(range);
  let parsed;
  try {
    parsed = parseReference(ref);
  } catch (err) {
    throw new PlanError((err as Error).message, { source, cause: err });
  }
  // The image's blobs are pinned to the build's lease, so a concurrent prune (after an rmi)
  // cannot take them away mid-build.
  const pinned = async (img: ResolvedImage): Promise<ResolvedImage> => {
    await b.pin(img.manifestDescriptor.digest, img.configDigest, ...img.manifest.layers.map((l) => l.digest));
    return img;
  };
  if (!b.req.pull) {
    try {
      return await pinned(await b.store.resolve(parsed.toString(), platform));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  try {
    await pull(parsed, b.content, b.store, { platform, sources: undefined, ...registryAuthFor(b.req, parsed.domain), onProgress: transferEvents(b.emit, 'pull') });
  } catch (err) {
    if (err instanceof BuildError && err.code === 'REGISTRY') {
      throw new BuildError('REGISTRY', `${ref}: not in the store, and pulling it failed: ${err.message}`, { source, cause: err, hint: err.hint ?? 'load it with "mybuild load -i FILE" or check the name' });
    }
    throw err;
  }
  return pinned(await b.store.resolve(parsed.toString(), platform));
}

/** Whether `ref` names an image already in the store. */
async function inStore(b: BuildSession, ref: string, platform: Platform): Promise<boolean> {
  try {
    await b.store.resolve(parseReference(ref).toString(), platform);
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
  b: BuildSession,
  plan: Plan,
  index: number,
  steps: StepInfo[],
  runStage: (i: number) => Promise<StageState>,
  platform: Platform,
  extraSteps: { next: number },
): Promise<StageState> {
  return (async () => {
    const stage = plan.stages[index];
    const fromInfo = steps[0];
    const t0 = Date.now();
    b.emit({ type: 'step-start', step: fromInfo.step, info: fromInfo });
    let st: StageState;
    try {
      st = await baseState(b, plan, stage, runStage, platform);
    } catch (err) {
      b.emit({ type: 'step-error', step: fromInfo.step, message: (err as Error).message });
      throw err;
    }
    b.emit({ type: 'step-end', step: fromInfo.step, cached: true, durationMs: Date.now() - t0 });

    // `--from` of COPY / RUN --mount: errors point at the instruction that names it.
    const from = async (name: string, range: Range): Promise<SourceFs> => {
      const lower = name.toLowerCase();
      const byName = plan.stages.find((s) => s.name === lower);
      const idx = byName ? byName.index : /^\d+$/.test(name) ? Number(name) : -1;
      if (idx >= 0 && idx < plan.stages.length) {
        const s = await runStage(idx);
        return { fsKey: s.fsKey, layers: s.layers, config: s.config };
      }
      if (/^\d+$/.test(name)) {
        throw new PlanError(`--from=${name}: there is no stage ${name} (the Dockerfile has ${plan.stages.length} stage${plan.stages.length === 1 ? '' : 's'}, numbered from 0)`, { source: b.source(range) });
      }
      // A bare name close to a stage name is a typo, not an image to pull (Docker would try).
      const names = plan.stages.map((s) => s.name).filter((n): n is string => !!n);
      const near = /^[a-z0-9][a-z0-9_.-]*$/.test(lower) ? closest(lower, names, (w) => (w.length <= 4 ? 1 : 2)) : undefined;
      if (near && !(await inStore(b, name, platform))) {
        throw new PlanError(`--from=${name}: no stage or local image named "${name}"`, { source: b.source(range), hint: `did you mean the stage "${near}"?` });
      }
      const img = await resolveImage(b, name, platform, range);
      return { fsKey: img.manifestDescriptor.digest, layers: img.manifest.layers.map((d, i) => ({ descriptor: d, diffId: img.config.rootfs.diff_ids[i] })), config: img.config };
    };

    // ONBUILD triggers of the base image run first (and are not inherited further).
    const triggers = st.config.config?.OnBuild ?? [];
    if (triggers.length) st.config = withContainerConfig(st.config, { OnBuild: undefined });
    const commands: { cmd: Command; info: StepInfo }[] = [];
    for (const t of triggers) {
      const parsed = parseDockerfile(t, { file: `${b.file} (ONBUILD of ${stage.from.image})` });
      for (const node of parsed.ast.instructions) {
        commands.push({ cmd: parseCommand(node, { ast: parsed.ast, text: t }), info: { ...fromInfo, step: extraSteps.next++, instruction: `ONBUILD ${node.original}` } });
      }
    }
    stage.commands.forEach((cmd, k) => commands.push({ cmd, info: steps[k + 1] }));

    for (const { cmd, info } of commands) {
      b.throwIfAborted();
      const s0 = Date.now();
      b.emit({ type: 'step-start', step: info.step, info });
      try {
        const handler = HANDLERS[cmd.kind] as Handler<Command>;
        const ctx: StepContext<Command> = { b, st, cmd, info, from: (name) => from(name, cmd.node.range) };
        const layerStep = await handler.apply(ctx);
        let cached = false;
        if (layerStep) {
          cached = await runLayerStep(b, st, { step: info.step, identity: `${b.file}:${stage.name ?? index}:${info.index}:${cmd.kind}`, ...layerStep });
        }
        const durationMs = Date.now() - s0;
        b.stepResults.push({ step: info.step, cached: !!layerStep && cached, durationMs });
        b.emit({ type: 'step-end', step: info.step, cached: !!layerStep && cached, durationMs });
      } catch (err) {
        b.emit({ type: 'step-error', step: info.step, message: err instanceof BuildError ? err.message : String(err) });
        throw err;
      }
    }
    return st;
  })();
}

async function baseState(b: BuildSession, plan: Plan, stage: Stage, runStage: (i: number) => Promise<StageState>, platform: Platform): Promise<StageState> {
  const name = stage.name ?? `stage-${stage.index}`;
  let config: ImageConfig;
  let layers: StageState['layers'] = [];
  let fsKey: string;
  let created: string | undefined;
  const time = b.sourceDateEpoch !== undefined ? { sourceDateEpoch: b.sourceDateEpoch } : {};
  if (stage.base.kind === 'scratch') {
    config = emptyConfig(platform, time);
    fsKey = cacheKey(['base=scratch', `platform=${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`]).digest;
  } else if (stage.base.kind === 'stage') {
    const s = await runStage(stage.base.index);
    config = s.config;
    layers = [...s.layers];
    fsKey = s.fsKey;
    created = s.created;
  } else {
    const img = await resolveImage(b, stage.base.ref, platform, stage.fromNode.range);
    config = img.config;
    layers = img.manifest.layers.map((d, i) => ({ descriptor: d, diffId: img.config.rootfs.diff_ids[i] }));
    fsKey = img.manifestDescriptor.digest;
    created = img.config.created;
  }
  // BuildKit gives every image a PATH.
  const env = config.config?.Env ?? [];
  if (!env.some((e) => e.startsWith('PATH='))) config = withContainerConfig(config, { Env: [...env, DEFAULT_PATH] });
  const stageEnv = new StageEnv({ lex: b.lex, globalArgs: plan.globalArgs, buildArgs: b.req.buildArgs, imageEnv: config.config?.Env ?? [], file: b.file, text: b.text });
  return { name, index: stage.index, config, layers, fsKey, env: stageEnv, created };
}

/** --output: OCI layout dir/tar, docker archive, the root filesystem as a directory or tar. */
async function exportOutputs(b: BuildSession, req: BuildRequest, manifest: Descriptor, st: StageState, names: string[]): Promise<void> {
  for (const out of req.outputs) {
    switch (out.type) {
      case 'image':
        break;
      case 'oci':
        await exportOciLayout(b.store.content, names.length ? names.map((name) => ({ name, descriptor: manifest })) : [{ name: 'latest', descriptor: manifest }], out.dest, { tar: out.tar });
        break;
      case 'docker':
        await exportDockerArchive(b.store.content, [{ names: names.map((n) => parseReference(n).familiar()), descriptor: manifest }], out.dest);
        break;
      case 'local':
      case 'tar': {
        const rootfs = await b.rootfs();
        await rootfs.withView(st.layers, async (dir) => {
          if (out.type === 'local') {
            await mkdir(out.dest, { recursive: true });
            await runTool('cp', ['-a', '--', `${dir}/.`, out.dest]);
          } else {
            await runTool('tar', ['--sort=name', '--numeric-owner', '-C', dir, '-cf', out.dest, '.']);
          }
        });
        break;
      }
    }
  }
}

function runTool(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new BuildError('IO', `${cmd} failed: ${err.trim()}`))));
  });
}

/** One step of a build record (see BuildRecord). */
export interface BuildRecordStep {
  step: number;
  stage: string;
  index: number;
  instruction: string;
  /** The instruction keyword (`FROM`, `RUN`, `COPY`, …; `ONBUILD` for a base image's triggers). */
  kind: string;
  cached: boolean;
  /** The cache key of a filesystem step. */
  key?: string;
  /** Why a filesystem step missed the cache. */
  reason?: string;
  /** Which --cache-from source a hit came from (absent for local hits). */
  source?: string;
  durationMs: number;
}

/**
 * What `build()` writes after each successful build to `<root>/builds/<config-digest-hex>.json`
 * (read by `cache explain` and the daemon). A rebuild giving the same image replaces it.
 */
export interface BuildRecord {
  imageId: string;
  manifestDigest: string;
  /** The Dockerfile's name as errors show it. */
  dockerfile: string;
  contextDir: string;
  tags: string[];
  createdAt: string;
  steps: BuildRecordStep[];
}

/** Collects the record's steps from the build's events (a step number may repeat for ONBUILD triggers). */
class BuildRecorder {
  readonly steps: BuildRecordStep[] = [];
  private last(step: number): BuildRecordStep | undefined {
    for (let i = this.steps.length - 1; i >= 0; i--) if (this.steps[i].step === step) return this.steps[i];
    return undefined;
  }

  apply(e: BuildEvent): void {
    if (e.type === 'step-start') {
      const kind = e.info.instruction.trimStart().split(/\s+/)[0]?.toUpperCase() ?? '';
      this.steps.push({ step: e.step, stage: e.info.stage, index: e.info.index, instruction: e.info.instruction, kind, cached: false, durationMs: 0 });
    } else if (e.type === 'step-cache') {
      const s = this.last(e.step);
      if (!s) return;
      if (e.key) s.key = e.key;
      if (!e.hit && e.reason) s.reason = e.reason;
      if (e.hit && e.source && e.source !== 'local') s.source = e.source;
    } else if (e.type === 'step-end') {
      const s = this.last(e.step);
      if (!s) return;
      s.cached = e.cached;
      s.durationMs = e.durationMs;
    }
  }
}

/**
 * Writes the build record atomically (temp file in `tmpDir`, then rename), without fsync: it is
 * a report of the last build (`mybuild cache explain`), rewritten by every build; the two
 * fsyncs were ~3 ms of every no-op build.
 */
async function writeBuildRecord(root: string, tmpDir: string, rec: BuildRecord): Promise<void> {
  const dir = path.join(root, 'builds');
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, `${rec.imageId.slice('sha256:'.length)}.json`), `${JSON.stringify(rec, null, 2)}\n`, tmpDir, { durable: false });
}

export type { BuildEvent };
