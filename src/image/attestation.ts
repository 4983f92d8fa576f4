/**
 * Attestation manifests in an image index, as BuildKit's containerimage exporter writes them
 * (exporter/containerimage/writer.go commitAttestationsManifest; docs/attestations/
 * attestation-storage.md): every in-toto statement is a layer of media type
 * `application/vnd.in-toto+json` annotated with `in-toto.io/predicate-type`, under an image
 * config for `unknown/unknown`; the manifest's index entry has platform unknown/unknown and the
 * annotations `vnd.docker.reference.type: attestation-manifest` and
 * `vnd.docker.reference.digest: <the image manifest it describes>`.
 *
 * `retargetAttestation` rewrites one when the image manifest it describes is re-encoded (the
 * store's uncompressed layers compressed for a push or an export): the statements' subjects and
 * the reference annotation then name the new manifest digest.
 */
import type { ContentStore } from '../oci/content-store.js';
import { goJson } from './json.js';
import { normalizeDescriptor, serializeIndex, serializeManifest } from './manifest.js';
import { MediaTypes, type Descriptor, type Digest, type Index, type Manifest, type Platform } from '../oci/types.js';

export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
export const PREDICATE_TYPE_ANNOTATION = 'in-toto.io/predicate-type';
export const REFERENCE_TYPE_ANNOTATION = 'vnd.docker.reference.type';
export const REFERENCE_DIGEST_ANNOTATION = 'vnd.docker.reference.digest';
export const ATTESTATION_MANIFEST = 'attestation-manifest';
/** The platform of attestation manifests (BuildKit's intotoPlatform). */
export const UNKNOWN_PLATFORM: Platform = { architecture: 'unknown', os: 'unknown' };

/** An in-toto statement (https://in-toto.io/Statement/v1) whose subjects are filled per image. */
export interface InTotoStatement {
  _type: string;
  predicateType: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicate: unknown;
}

/** Whether an index entry is an attestation manifest (not an image to run). */
export function isAttestationEntry(d: Descriptor): boolean {
  return d.annotations?.[REFERENCE_TYPE_ANNOTATION] === ATTESTATION_MANIFEST;
}

/** The bytes of a statement as BuildKit marshals it (Go's encoding/json, compact). */
export function statementBytes(s: InTotoStatement): Buffer {
  return Buffer.from(goJson({ _type: s._type, predicateType: s.predicateType, subject: s.subject, predicate: s.predicate }), 'utf8');
}

/**
 * Writes the attestation manifest for `target` (an image manifest) holding `statements`; returns
 * its index entry (platform unknown/unknown, the reference annotations).
 */
export async function writeAttestationManifest(content: ContentStore, target: Descriptor, statements: InTotoStatement[]): Promise<Descriptor> {
  const layers: Descriptor[] = [];
  for (const s of statements) {
    const info = await content.writeBytes(statementBytes(s));
    layers.push({ mediaType: IN_TOTO_MEDIA_TYPE, digest: info.digest, size: info.size, annotations: { [PREDICATE_TYPE_ANNOTATION]: s.predicateType } });
  }
  // BuildKit's attestationsConfig: an ocispecs.Image for unknown/unknown whose diff IDs are the statements' digests.
  const config = Buffer.from(goJson({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }), 'utf8');
  const cfg = await content.writeBytes(config);
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST, config: { mediaType: MediaTypes.OCI_CONFIG, digest: cfg.digest, size: cfg.size }, layers };
  const m = await content.writeBytes(serializeManifest(manifest));
  return normalizeDescriptor({
    mediaType: MediaTypes.OCI_MANIFEST,
    digest: m.digest,
    size: m.size,
    annotations: { [REFERENCE_DIGEST_ANNOTATION]: target.digest, [REFERENCE_TYPE_ANNOTATION]: ATTESTATION_MANIFEST },
    platform: UNKNOWN_PLATFORM,
  });
}

/** Writes an OCI index of `images` (each with its platform) followed by their attestation manifests. */
export async function writeAttestedIndex(content: ContentStore, images: Descriptor[], attestations: Descriptor[], annotations?: Record<string, string>): Promise<Descriptor> {
  const index: Index = { schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: [...images, ...attestations], ...(annotations && Object.keys(annotations).length ? { annotations } : {}) };
  const info = await content.writeBytes(serializeIndex(index));
  return { mediaType: MediaTypes.OCI_INDEX, digest: info.digest, size: info.size };
}

/**
 * The attestation entry `att` rewritten for `newTarget` (the re-encoded form of the manifest it
 * names): every subject digest of its statements that named the old manifest names the new one.
 * Returns `att` itself when it does not name `oldDigest`.
 */
export async function retargetAttestation(content: ContentStore, att: Descriptor, oldDigest: Digest, newTarget: Descriptor): Promise<Descriptor> {
  if (att.annotations?.[REFERENCE_DIGEST_ANNOTATION] !== oldDigest) return att;
  const manifest = JSON.parse((await content.readBytes(att.digest)).toString('utf8')) as Manifest;
  const oldHex = oldDigest.slice('sha256:'.length);
  const newHex = newTarget.digest.slice('sha256:'.length);
  const statements: InTotoStatement[] = [];
  for (const l of manifest.layers) {
    const s = JSON.parse((await content.readBytes(l.digest)).toString('utf8')) as InTotoStatement;
    s.subject = s.subject.map((sub) => (sub.digest.sha256 === oldHex ? { ...sub, digest: { ...sub.digest, sha256: newHex } } : sub));
    statements.push(s);
  }
  const out = await writeAttestationManifest(content, newTarget, statements);
  return { ...out, ...(att.platform ? { platform: att.platform } : {}) };
}
