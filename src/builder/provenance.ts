/**
 * SLSA provenance of a build, as BuildKit writes it (solver/llbsolver/provenance.go,
 * provenance/predicate.go, provenance/buildconfig.go, provenance/types): the build's capture
 * (what it resolved and ran) made into an in-toto statement with a SLSA v1 predicate (BuildKit's
 * default since v0.28) or v0.2 (`version=v0.2`, BuildKit's ConvertToSLSA02).
 *
 * - builder id: `builder-id=` (empty otherwise, as BuildKit without one);
 * - build definition: frontend `dockerfile.v0` and the frontend args buildx would send
 *   (`build-arg:*`, `label:*`, `target`, `context:NAME`, `add-hosts`, `ulimit`, `shm-size`,
 *   `no-cache`, `force-network-mode`); `filename` becomes configSource.path, a git context its
 *   uri and digest; locals `context` and `dockerfile` for a local context; with mode=min the
 *   build-arg/label args and the secrets are dropped (request then incomplete);
 * - resolved dependencies: base images as `pkg:docker/NAME@TAG?platform=…` with the digest the
 *   name resolved to, git sources with their commit (sha1), HTTP sources with their content digest;
 * - mode=max: buildConfig.llbDefinition, one step per FROM and filesystem step in BuildKit's
 *   shape (`source`, `exec` with args/env/cwd/user, `file` with the instruction; inputs
 *   `stepN:0`, a last step naming the result), digestMapping by the steps' cache keys (mybuild has
 *   no LLB digests), buildkit_metadata.source (the Dockerfile and each step's lines) and layers
 *   (each step's layer chain as the store holds it: uncompressed, digests = diff IDs).
 *
 * Reproducible: with SOURCE_DATE_EPOCH the start and finish times are that epoch and the
 * invocation id (BuildKit's is random) is derived from the request, so the same inputs give the
 * same statement; without it they are the clock's and a random id, as BuildKit's.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { formatPlatform, hostPlatform } from '../oci/platform.js';
import { parseReference } from '../image/reference.js';
import type { InTotoStatement } from '../image/attestation.js';
import type { Descriptor, Platform } from '../oci/types.js';
import type { Range } from '../oci/range.js';
import type { StageBase } from '../plan/index.js';
import type { BuildRequest } from './session.js';
import type { ProvenanceSpec } from './provenance-spec.js';

export const BUILD_TYPE_V1 = 'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md';
export const BUILD_TYPE_V02 = 'https://mobyproject.org/buildkit@v1';
export const PREDICATE_V1 = 'https://slsa.dev/provenance/v1';
export const PREDICATE_V02 = 'https://slsa.dev/provenance/v0.2';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** What a filesystem step tells its provenance (src/builder/instructions: LayerStep.provenance). */
export interface StepProvenance {
  /** The step as a BuildKit LLB op (`{ exec: … }`, `{ file: … }`), without inputs. */
  op?: Record<string, unknown>;
  /** Sources it resolved: git commits, downloaded URLs. */
  git?: { url: string; commit: string }[];
  http?: { url: string; digest: string }[];
  /** Secrets it mounts (`RUN --mount=type=secret`). */
  secrets?: { id: string; optional: boolean }[];
  /** It ran a process with network access (RUN without --network=none). */
  network?: boolean;
}

interface CapturedStep {
  /** The step's cache key (the stage's fsKey after it). */
  key: string;
  range?: Range;
  op: Record<string, unknown>;
  /** Stages (by index) it read: COPY --from, RUN --mount=from. */
  fromStages: number[];
  /** The stage's layer chain after it. */
  layers: Descriptor[];
}

interface CapturedStage {
  /** FROM: an image (identifier and platform), scratch, or another stage. */
  base: { kind: 'image'; ref: string; digest?: string; platform: Platform; range?: Range } | { kind: 'stage'; index: number } | { kind: 'scratch' };
  steps: CapturedStep[];
}

/** What one build resolved and ran, for its provenance (filled as it goes; see BuildSession.capture). */
export class ProvenanceCapture {
  private readonly images = new Map<string, { ref: string; platform: Platform; digest: string }>();
  private readonly git = new Map<string, string>();
  private readonly http = new Map<string, string>();
  private readonly secrets = new Map<string, boolean>();
  private network = false;
  private readonly stages = new Map<number, CapturedStage>();

  /** A base image (FROM, COPY --from, RUN --mount=from) `ref` (normalized) resolved to `digest` (what the name points at). */
  image(ref: string, platform: Platform, digest: string): void {
    this.images.set(`${ref}\0${formatPlatform(platform)}`, { ref, platform, digest });
  }

  /** The digest `ref` resolved to for `platform`, when it was resolved. */
  imageDigest(ref: string, platform: Platform): string | undefined {
    return this.images.get(`${ref}\0${formatPlatform(platform)}`)?.digest;
  }

  stage(index: number, base: CapturedStage['base']): void {
    this.stages.set(index, { base, steps: [] });
  }

  step(stage: number, s: { key: string; range?: Range; fromStages: number[]; layers: Descriptor[]; createdBy: string; provenance?: StepProvenance }): void {
    const p = s.provenance ?? {};
    for (const g of p.git ?? []) this.git.set(g.url, g.commit);
    for (const h of p.http ?? []) this.http.set(h.url, h.digest);
    for (const x of p.secrets ?? []) this.secrets.set(x.id, (this.secrets.get(x.id) ?? true) && x.optional);
    if (p.network) this.network = true;
    this.stages.get(stage)?.steps.push({ key: s.key, ...(s.range ? { range: s.range } : {}), op: p.op ?? { file: { actions: [{ createdBy: s.createdBy }] } }, fromStages: s.fromStages, layers: s.layers });
  }

  /** A git source not read by a step (a git build context). */
  gitSource(url: string, commit: string): void {
    this.git.set(url, commit);
  }

  /** BuildKit's Sources, sorted as provenance.Capture.Sort does (by ref / URL). */
  sources() {
    const byKey = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      images: byKey(this.images).map(([, v]) => v),
      git: byKey(this.git).map(([url, commit]) => ({ url, commit })),
      http: byKey(this.http).map(([url, digest]) => ({ url, digest })),
      secrets: byKey(this.secrets).map(([id, optional]) => ({ id, optional })),
      network: this.network,
    };
  }

  /** The steps of `target` and every stage it reads, depth first (BuildKit's walkDigests order). */
  buildSteps(target: number, platform: Platform): { id: string; op: Record<string, unknown>; inputs?: string[]; key?: string; range?: Range; layers?: Descriptor[] }[] {
    const out: { id: string; op: Record<string, unknown>; inputs?: string[]; key?: string; range?: Range; layers?: Descriptor[] }[] = [];
    const last = new Map<number, string | undefined>();
    const plat = llbPlatform(platform);
    const visit = (i: number): string | undefined => {
      if (last.has(i)) return last.get(i);
      const st = this.stages.get(i);
      if (!st) return undefined;
      let prev: string | undefined;
      if (st.base.kind === 'stage') prev = visit(st.base.index);
      else if (st.base.kind === 'image') {
        const id = `step${out.length}`;
        const identifier = `docker-image://${st.base.ref}${st.base.digest ? `@${st.base.digest}` : ''}`;
        out.push({ id, op: { Op: { source: { identifier } }, platform: llbPlatform(st.base.platform), constraints: {} }, ...(st.base.range ? { range: st.base.range } : {}) });
        prev = id;
      }
      for (const s of st.steps) {
        const froms = s.fromStages.map(visit).filter((x): x is string => x !== undefined);
        const id = `step${out.length}`;
        const inputs = [...(prev ? [prev] : []), ...froms].map((x) => `${x}:0`);
        out.push({ id, op: { Op: s.op, platform: plat, constraints: {} }, ...(inputs.length ? { inputs } : {}), key: s.key, ...(s.range ? { range: s.range } : {}), layers: s.layers });
        prev = id;
      }
      last.set(i, prev);
      return prev;
    };
    const result = visit(target);
    out.push({ id: `step${out.length}`, op: {}, ...(result ? { inputs: [`${result}:0`] } : {}) });
    return out;
  }
}

/** BuildKit's pb.Platform JSON. */
function llbPlatform(p: Platform): Record<string, string> {
  return { Architecture: p.architecture, OS: p.os, ...(p.variant ? { Variant: p.variant } : {}) };
}

/** Go's url.QueryEscape (`pathSegment`: url.PathEscape, which keeps `:@&=+$`). */
function goEscape(s: string, pathSegment: boolean): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(ch);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (pathSegment && /[:@&=+$]/.test(c))) out += c;
    else if (c === ' ' && !pathSegment) out += '+';
    else out += `%${ch.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * BuildKit's purl.RefToPURL(docker, ref, platform): `pkg:docker/NAMESPACE/NAME@TAG?platform=…`,
 * the familiar name split at its last `/`, a digest reference as a `digest=` qualifier.
 */
export function imagePurl(ref: string, platform?: Platform): string {
  const r = parseReference(ref);
  const familiar = r.familiar().replace(/@sha256:[a-f0-9]+$/, '').replace(/:[^/:]+$/, '');
  const parts = familiar.split('/');
  const name = parts.pop()!;
  const qualifiers: string[] = [];
  if (r.digest) qualifiers.push(`digest=${goEscape(r.digest, true)}`);
  const tag = r.digest ? r.tag : (r.tag ?? 'latest');
  if (platform) qualifiers.push(`platform=${goEscape(formatPlatform(normalizePlatform(platform)), true)}`);
  return `pkg:docker/${[...parts.map((p) => goEscape(p, false)), goEscape(name, false)].join('/')}${tag ? `@${goEscape(tag, true)}` : ''}${qualifiers.length ? `?${qualifiers.join('&')}` : ''}`;
}

/** containerd's platforms.Normalize for the cases BuildKit meets: arm64's v8 is written as none. */
function normalizePlatform(p: Platform): Platform {
  return p.architecture === 'arm64' && p.variant === 'v8' ? { os: p.os, architecture: p.architecture } : p;
}

function digestSet(d: string): Record<string, string> {
  const i = d.indexOf(':');
  return { [d.slice(0, i)]: d.slice(i + 1) };
}

/** BuildKit's digestSetForCommit: a 64-digit commit is sha256, else sha1. */
function commitDigest(commit: string): Record<string, string> {
  return commit.length === 64 ? { sha256: commit } : { sha1: commit };
}

/** `text` with the user:password of every URL replaced (BuildKit's urlutil.RedactCredentials). */
function redact(text: string): string {
  return text.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@\s'"]*:[^/@\s'"]*@/g, '$1xxxxx:xxxxx@').replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/@\s'":]+)@/g, '$1xxxxx@');
}

/** The frontend args buildx sends for the request (dockerui's keys), host-specific ones left out as FilterArgs does. */
export function frontendArgs(req: BuildRequest): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.buildArgs)) args[`build-arg:${k}`] = v;
  for (const [k, v] of Object.entries(req.labels)) args[`label:${k}`] = v;
  if (req.target !== undefined) args.target = req.target;
  for (const [k, v] of Object.entries(req.buildContexts ?? {})) args[`context:${k}`] = redact(v);
  if (req.extraHosts?.length) args['add-hosts'] = req.extraHosts.map((h) => `${h.host}=${h.ip}`).join(',');
  if (req.ulimits?.length) args.ulimit = req.ulimits.map((u) => `${u.name}=${u.soft}:${u.hard}`).join(',');
  if (req.shmSize !== undefined) args['shm-size'] = String(req.shmSize);
  if (req.noCache) args['no-cache'] = '';
  else if (req.noCacheFilter?.length) args['no-cache'] = req.noCacheFilter.join(',');
  if (req.network !== 'default') args['force-network-mode'] = req.network;
  return sortKeys(args);
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The invocation id: BuildKit's identity.NewID (25 base-36 digits of random bytes); with
 * SOURCE_DATE_EPOCH derived from the request instead (the same for every platform of it).
 */
export function invocationId(req: BuildRequest, dockerfileText: string): string {
  const bytes = req.sourceDateEpoch !== undefined
    ? createHash('sha256').update(JSON.stringify({ dockerfile: dockerfileText, args: frontendArgs(req), epoch: req.sourceDateEpoch, platform: req.platform ?? '', context: req.contextSource ?? null })).digest().subarray(0, 17)
    : randomBytes(17);
  return BigInt(`0x${bytes.toString('hex')}`).toString(36).padStart(25, '0').slice(-25);
}

/** Go's time.Time JSON (RFC 3339, fraction only when not zero). */
function goTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export interface PredicateInput {
  req: BuildRequest;
  spec: ProvenanceSpec;
  capture: ProvenanceCapture;
  /** The Dockerfile's name and text (configSource.path, mode=max's source info). */
  dockerfileName: string;
  dockerfileText: string;
  targetStage: number;
  platform: Platform;
  startedMs: number;
  invocationId: string;
}

/** The provenance predicate (v1 or v0.2 as `spec.version` says) and its type. */
export function provenancePredicate(inp: PredicateInput): { predicateType: string; predicate: unknown } {
  const { req, spec, capture } = inp;
  const src = capture.sources();
  const deps: { uri: string; digest: Record<string, string> }[] = [
    ...src.images.map((i) => ({ uri: imagePurl(i.ref, i.platform), digest: digestSet(i.digest) })),
    ...[...src.git, ...(req.contextSource?.commit && !src.git.some((g) => g.url === req.contextSource!.url) ? [{ url: req.contextSource.url, commit: req.contextSource.commit }] : [])].map((g) => ({ uri: redact(g.url), digest: commitDigest(g.commit) })),
    ...src.http.map((h) => ({ uri: redact(h.url), digest: digestSet(h.digest) })),
  ];
  let args: Record<string, string> = frontendArgs(req);
  let requestComplete = true;
  if (spec.mode === 'min') {
    const kept = Object.fromEntries(Object.entries(args).filter(([k]) => !k.startsWith('build-arg:') && !k.startsWith('label:')));
    if (Object.keys(kept).length !== Object.keys(args).length) requestComplete = false;
    args = kept;
  }
  const local = req.contextSource === undefined;
  const configSource = {
    ...(req.contextSource ? { uri: redact(req.contextSource.url), ...(req.contextSource.commit ? { digest: commitDigest(req.contextSource.commit) } : {}) } : {}),
    path: path.posix.basename(inp.dockerfileName.replace(/\\/g, '/')) || 'Dockerfile',
  };
  const request = {
    frontend: 'dockerfile.v0',
    ...(Object.keys(args).length ? { args } : {}),
    ...(spec.mode === 'max' && src.secrets.length ? { secrets: src.secrets.map((s) => ({ id: s.id, ...(s.optional ? { optional: true } : {}) })) } : {}),
    ...(local ? { locals: [{ name: 'context' }, { name: 'dockerfile' }] } : {}),
  };
  const depsComplete = !local;
  const started = req.sourceDateEpoch !== undefined ? req.sourceDateEpoch * 1000 : inp.startedMs;
  const finished = req.sourceDateEpoch !== undefined ? req.sourceDateEpoch * 1000 : Date.now();
  const bkMeta: Record<string, unknown> = {};
  let buildConfig: Record<string, unknown> | undefined;
  if (spec.mode === 'max') {
    const steps = capture.buildSteps(inp.targetStage, inp.platform);
    buildConfig = {
      llbDefinition: steps.map((s) => ({ id: s.id, op: s.op, ...(s.inputs ? { inputs: s.inputs } : {}) })),
      digestMapping: sortKeys(Object.fromEntries(steps.filter((s) => s.key).map((s) => [s.key!, s.id]))),
    };
    const locations = sortKeys(Object.fromEntries(steps.filter((s) => s.range).map((s) => [s.id, { locations: [{ ranges: [lineRange(s.range!)] }] }])));
    bkMeta.source = { locations, infos: [{ filename: configSource.path, language: 'Dockerfile', data: Buffer.from(inp.dockerfileText, 'utf8').toString('base64') }] };
    const layers = sortKeys(Object.fromEntries(steps.filter((s) => s.layers?.length).map((s) => [`${s.id}:0`, [s.layers!.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }))]])));
    if (Object.keys(layers).length) bkMeta.layers = layers;
  }
  const hermetic = depsComplete && !src.network;
  const builderPlatform = formatPlatform(normalizePlatform(hostPlatform()));
  if (spec.version === 'v0.2') {
    return {
      predicateType: PREDICATE_V02,
      predicate: {
        builder: { id: spec.builderId ?? '' },
        buildType: BUILD_TYPE_V02,
        ...(deps.length ? { materials: deps } : {}),
        invocation: {
          configSource: { ...('uri' in configSource ? { uri: configSource.uri } : {}), ...('digest' in configSource ? { digest: configSource.digest } : {}), entryPoint: configSource.path },
          parameters: request,
          environment: { platform: builderPlatform },
        },
        ...(buildConfig ? { buildConfig } : {}),
        metadata: {
          buildInvocationID: inp.invocationId,
          buildStartedOn: goTime(started),
          buildFinishedOn: goTime(finished),
          completeness: { parameters: requestComplete, environment: true, materials: depsComplete },
          reproducible: spec.reproducible,
          'https://mobyproject.org/buildkit@v1#metadata': bkMeta,
          ...(hermetic ? { 'https://mobyproject.org/buildkit@v1#hermetic': true } : {}),
        },
      },
    };
  }
  return {
    predicateType: PREDICATE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE_V1,
        ...(deps.length ? { resolvedDependencies: deps } : {}),
        externalParameters: { configSource, request },
        internalParameters: { ...(buildConfig ? { buildConfig } : {}), builderPlatform },
      },
      runDetails: {
        builder: { id: spec.builderId ?? '' },
        metadata: {
          invocationId: inp.invocationId,
          startedOn: goTime(started),
          finishedOn: goTime(finished),
          buildkit_metadata: bkMeta,
          ...(hermetic ? { buildkit_hermetic: true } : {}),
          buildkit_completeness: { request: requestComplete, resolvedDependencies: depsComplete },
          ...(spec.reproducible ? { buildkit_reproducible: true } : {}),
        },
      },
    },
  };
}

/** pb.Range of the lines of `r` (1-based, end inclusive). */
function lineRange(r: Range): { start: { line: number }; end: { line: number } } {
  const end = r.end.col === 1 && r.end.line > r.start.line ? r.end.line - 1 : r.end.line;
  return { start: { line: r.start.line }, end: { line: end } };
}

/**
 * The statement for the image `manifest` of `platform`, named `names` (BuildKit's default
 * subjects: one `pkg:docker/NAME@TAG?platform=…` per name, none for an unnamed image).
 */
export function provenanceStatement(p: { predicateType: string; predicate: unknown }, manifest: Descriptor, platform: Platform, names: readonly string[]): InTotoStatement {
  return {
    _type: STATEMENT_TYPE,
    predicateType: p.predicateType,
    subject: names.map((n) => ({ name: imagePurl(n, platform), digest: digestSet(manifest.digest) })),
    predicate: p.predicate,
  };
}

/** The FROM of a stage for the capture: the image as resolved (its digest when the build resolved it), scratch, or a stage. */
export function stageBase(session: { capture: ProvenanceCapture }, base: StageBase, platform: Platform, range: Range): CapturedStage['base'] {
  if (base.kind !== 'image') return base.kind === 'stage' ? { kind: 'stage', index: base.index } : { kind: 'scratch' };
  let ref = base.ref;
  try {
    ref = parseReference(base.ref).toString();
  } catch {
    // a named context's name: kept as written
  }
  const digest = session.capture.imageDigest(ref, platform);
  return { kind: 'image', ref, ...(digest ? { digest } : {}), platform, range };
}
