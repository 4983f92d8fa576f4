/**
 * Which outputs carry the build's provenance attestation, and attaching it: the image manifest
 * becomes an OCI index of the image (with its platform) and its attestation manifest
 * (src/image/attestation.ts), even for one platform, as BuildKit's exporters do.
 *
 * - explicit (`--provenance=…`, `--attest type=provenance`): the local store, pushes and
 *   `--output type=oci` (with `inline-only=true`: the store and pushes, not the OCI layout);
 * - buildx's default (the CLI without a flag: `mode=min,inline-only=true`, off with
 *   BUILDX_NO_DEFAULT_ATTESTATIONS=1; the library API and the daemon, as BuildKit without an
 *   `attest:` option, attach none): pushes only (`--push`, `type=registry`,
 *   `type=image,push=true`). BuildKit's image exporter attaches it to what it stores too, but
 *   buildx's `--load` (the docker exporter) does not: the local store here is that `--load`.
 * - refused when asked explicitly: `--output type=docker|local|tar` (BuildKit writes the index
 *   into the docker tar, `provenance.json` into a directory; mybuild does neither) and Docker
 *   media types (BuildKit: attestations need oci-mediatypes). The default is then left out.
 */
import { UsageError } from '../errors.js';
import { writeAttestationManifest, writeAttestedIndex } from '../image/attestation.js';
import { normalizeDescriptor } from '../image/manifest.js';
import type { ContentStore } from '../oci/content-store.js';
import type { Descriptor, ImageConfig, Platform } from '../oci/types.js';
import type { OutputSpec } from './output-spec.js';
import type { ProvenanceSpec } from './provenance-spec.js';
import { invocationId, provenancePredicate, provenanceStatement } from './provenance.js';
import type { BuildRequest, BuildSession } from './session.js';

/** Where an image goes: the local store, a registry, an OCI layout. */
export type AttestTarget = 'store' | 'push' | 'oci';

/** The provenance `target` of `req` carries, if any (see the module comment). */
export function provenanceFor(req: Pick<BuildRequest, 'provenance' | 'format'>, target: AttestTarget, output?: OutputSpec): ProvenanceSpec | undefined {
  const spec = req.provenance;
  if (!spec) return undefined;
  const docker = (output && 'format' in output && output.format !== undefined ? output.format : req.format) === 'docker';
  if (spec.implicit) return target === 'push' && !docker ? spec : undefined;
  if (spec.inlineOnly && target === 'oci') return undefined;
  return spec;
}

/** Refuses, before any work, outputs an explicit provenance cannot be attached to. */
export function checkProvenanceOutputs(req: Pick<BuildRequest, 'provenance' | 'format' | 'outputs'>): void {
  const spec = req.provenance;
  if (!spec || spec.implicit) return;
  const hint = 'use --output type=image|registry|oci, or drop --provenance (--provenance=false)';
  for (const out of req.outputs) {
    if (out.type === 'docker' && !spec.inlineOnly) throw new UsageError('--provenance with --output type=docker is not supported by mybuild: a docker archive holds no attestation manifests here', { hint });
    if ((out.type === 'local' || out.type === 'tar') && !spec.inlineOnly) throw new UsageError(`--provenance with --output type=${out.type} is not supported by mybuild (BuildKit writes provenance.json next to the files)`, { hint });
    if ((out.type === 'image' || out.type === 'oci') && (out.format ?? req.format) === 'docker') throw new UsageError('cannot export attestations with "oci-mediatypes=false": --provenance needs OCI media types', { hint: 'drop --format docker / oci-mediatypes=false, or --provenance=false' });
  }
  if (!req.outputs.length && req.format === 'docker') throw new UsageError('cannot export attestations with "oci-mediatypes=false": --provenance needs OCI media types', { hint: 'drop --format docker, or --provenance=false' });
}

/** The statement's predicate, made once per build (its finish time is when the first output needs it). */
export type PredicateSource = () => { predicateType: string; predicate: unknown };

/**
 * Attaches a build's provenance to its image outputs: `attach` returns the index to publish
 * instead of `manifest`, or `manifest` when `target` carries none.
 */
export class ProvenanceAttacher {
  private made?: { predicateType: string; predicate: unknown };

  constructor(
    private readonly req: Pick<BuildRequest, 'provenance' | 'format'>,
    private readonly content: ContentStore,
    private readonly platform: Platform,
    private readonly predicate: PredicateSource,
  ) {}

  /** The predicate (made on first use). */
  get statementPredicate(): { predicateType: string; predicate: unknown } {
    this.made ??= this.predicate();
    return this.made;
  }

  async attach(manifest: Descriptor, target: AttestTarget, names: readonly string[], output?: OutputSpec): Promise<Descriptor> {
    if (!provenanceFor(this.req, target, output)) return manifest;
    const att = await writeAttestationManifest(this.content, manifest, [provenanceStatement(this.statementPredicate, manifest, this.platform, names)]);
    return writeAttestedIndex(this.content, [normalizeDescriptor({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, platform: this.platform })], [att]);
  }
}

/**
 * The attacher of `session`'s build (undefined when provenance is disabled): the predicate of
 * `targetStage`'s image with config `config`, made from the session's capture.
 */
export function attacherFor(session: BuildSession, o: { targetStage: number; config: ImageConfig; dockerfileText: string; startedMs: number }): ProvenanceAttacher | undefined {
  const { req } = session;
  const spec = req.provenance;
  if (!spec) return undefined;
  const platform: Platform = { architecture: o.config.architecture, os: o.config.os, ...(o.config.variant ? { variant: o.config.variant } : {}) };
  return new ProvenanceAttacher(req, session.content, platform, () =>
    provenancePredicate({
      req,
      spec,
      capture: session.capture,
      dockerfileName: session.file,
      dockerfileText: o.dockerfileText,
      targetStage: o.targetStage,
      platform,
      startedMs: o.startedMs,
      invocationId: req.invocationId ?? invocationId(req, o.dockerfileText),
    }));
}
