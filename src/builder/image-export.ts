/**
 * The image exporters of `--output` (src/builder/output-spec.ts), as BuildKit's containerimage
 * exporter does them:
 *
 * - `encodeImage`: the built image re-encoded for one output: `compression` (uncompressed, gzip,
 *   zstd) and `compression-level` for the layers this build made (base image layers keep theirs
 *   unless `force-compression=true`), `oci-mediatypes`, and `rewrite-timestamp` (file mtimes later
 *   than SOURCE_DATE_EPOCH clamped to it in every layer after the base image's, which changes
 *   their diff IDs and so the config; each rewritten layer is annotated
 *   `buildkit/rewritten-timestamp: <epoch>`, as BuildKit's rewriteRemoteWithEpoch leaves the
 *   base image's layers and annotates the others). Without any of these keys: the image as built.
 * - `publishImage`: the `type=image` / `type=registry` outputs (and the implicit one of a plain
 *   build): names (`name=` and `-t`) in the local store unless `store=false`, an untagged image
 *   kept as `<none>`, and pushes (`push=true`, `--push`; `push-by-digest`, `registry.insecure`).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { UsageError, InternalError } from '../errors.js';
import { layerCompression, type Compression } from '../image/compression.js';
import { normalizeConfig } from '../image/config.js';
import { openLayer } from '../image/layer-reader.js';
import { writeTarLayer } from '../image/layer-writer.js';
import { writeImage } from '../image/manifest.js';
import { compressedLayer, LayerVariants } from '../store/layer-variants.js';
import type { Reference } from '../oci/reference.js';
import { parseReference } from '../image/reference.js';
import { MediaTypes, type Descriptor, type Digest, type ImageConfig, type Manifest } from '../oci/types.js';
import { splitName } from '../store/display.js';
import type { ImageEncoding, OutputSpec } from './output-spec.js';
import type { BuildSession } from './session.js';
import type { LayerRef, StageState } from './state.js';
import type { AttestTarget } from './provenance-outputs.js';

type ImageOutput = Extract<OutputSpec, { type: 'image' }>;

/** BuildKit's layer annotation of a layer whose timestamps rewrite-timestamp rewrote (the epoch, in seconds). */
export const REWRITTEN_TIMESTAMP = 'buildkit/rewritten-timestamp';

/**
 * Pushes `manifest` (in the build's content store) as `ref`, its uncompressed layers compressed
 * as `compression` says (default: the build's --compression; `none`: pushed as they are), by
 * digest with `byDigest`; returns the reference pushed and the digest the registry serves.
 */
export type PushImage = (ref: Reference, manifest: Descriptor, opts: { insecure?: boolean; compression?: Compression; level?: number; byDigest?: boolean }) => Promise<{ ref: string; digest: string }>;

function wantsEncoding(e: ImageEncoding): boolean {
  return e.compression !== undefined || e.compressionLevel !== undefined || e.forceCompression === true || e.format !== undefined || e.rewriteTimestamp === true || typeof e.sourceDateEpoch === 'number';
}

/** The epoch of one export: its `source-date-epoch=` when given (null: none), else the build's. */
export function exportEpoch(build: number | undefined, enc: ImageEncoding): number | undefined {
  return enc.sourceDateEpoch === undefined ? build : (enc.sourceDateEpoch ?? undefined);
}

/** `tar` with every entry's mtime clamped to `epoch` (seconds); pax records, links and modes kept. */
function clampTimes(input: Readable, epoch: number): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, stream, next) => {
    if (header.mtime && header.mtime.getTime() > epoch * 1000) header.mtime = new Date(epoch * 1000);
    const entry = pack.entry(header, (err) => (err ? extract.destroy(err) : next()));
    stream.pipe(entry);
  });
  extract.on('finish', () => pack.finalize());
  pipeline(input, extract).catch((err: unknown) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}

/**
 * The image `manifest` (of `stage`) encoded as `enc` asks, written to the build's content store;
 * `manifest` itself when `enc` asks nothing. Throws UsageError for rewrite-timestamp without
 * SOURCE_DATE_EPOCH.
 */
export async function encodeImage(session: BuildSession, manifest: Descriptor, stage: StageState, enc: ImageEncoding): Promise<Descriptor> {
  if (!wantsEncoding(enc)) return manifest;
  const epoch = exportEpoch(session.sourceDateEpoch, enc);
  if (enc.rewriteTimestamp && epoch === undefined) {
    // BuildKit: "rewrite-timestamp is specified, but no source-date-epoch was found"; no rewrite.
    // (No SOURCE_DATE_EPOCH given at all was refused before the build: checkOutputs.)
    const why = enc.sourceDateEpoch === null ? 'with source-date-epoch= (none)' : 'and SOURCE_DATE_EPOCH resolved to no time';
    session.emit({ type: 'warning', message: `--output rewrite-timestamp=true ${why}: timestamps are not rewritten` });
    enc = { ...enc, rewriteTimestamp: false };
    if (!wantsEncoding(enc)) return manifest;
  }
  const content = session.content;
  const m = JSON.parse((await content.readBytes(manifest.digest)).toString('utf8')) as Manifest;
  const config = JSON.parse((await content.readBytes(m.config.digest)).toString('utf8')) as ImageConfig;
  const layers: Descriptor[] = [];
  const diffIds = [...config.rootfs.diff_ids];
  const variants = new LayerVariants(session.store.root);
  const format = enc.format ?? (m.mediaType === MediaTypes.DOCKER_MANIFEST ? 'docker' : 'oci');
  let divergedFromBase = false;
  for (const [i, desc] of m.layers.entries()) {
    const ref: LayerRef | undefined = stage.layers[i];
    const kind = layerCompression(desc.mediaType);
    // The build's own layers are stored uncompressed: their default target is the build's --compression.
    const target = enc.compression ?? (kind === 'none' && !ref?.fromImage ? session.req.compression : kind);
    const recompress = enc.forceCompression === true || (!ref?.fromImage && (target !== kind || enc.compressionLevel !== undefined));
    // The base image's leading layers keep their times (BuildKit's immutable base diffIDs).
    if (!ref?.fromImage) divergedFromBase = true;
    const rewrite = enc.rewriteTimestamp === true && divergedFromBase;
    if (!recompress && !rewrite) {
      layers.push(desc);
      continue;
    }
    if (kind === 'none' && target !== 'none' && !rewrite) {
      // From the plain tar: the (diffID, compression, level) variant, made once and kept.
      layers.push(await compressedLayer(variants, content, desc, { compression: target, ...(enc.compressionLevel !== undefined ? { level: enc.compressionLevel } : {}) }, 'oci'));
      continue;
    }
    const plain = await openLayer(content, desc);
    const source = rewrite ? clampTimes(plain, epoch!) : plain;
    const written = await writeTarLayer(source, content, {
      compression: recompress ? target : kind,
      ...(recompress && enc.compressionLevel !== undefined ? (target === 'zstd' ? { zstdLevel: enc.compressionLevel } : { gzipLevel: enc.compressionLevel }) : {}),
    });
    if (!rewrite && written.diffId !== diffIds[i]) {
      throw new InternalError(`re-encoding layer ${desc.digest} changed its content (${diffIds[i]} → ${written.diffId})`);
    }
    diffIds[i] = written.diffId;
    layers.push(rewrite ? { ...written.descriptor, annotations: { ...written.descriptor.annotations, [REWRITTEN_TIMESTAMP]: String(epoch) } } : written.descriptor);
  }
  // An export's own epoch (source-date-epoch=N), as BuildKit's patchImageConfig: created is it,
  // history entries later than it (or without a time) are clamped to it.
  const times: Partial<ImageConfig> = {};
  if (typeof enc.sourceDateEpoch === 'number') {
    const at = new Date(enc.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z');
    times.created = at;
    if (config.history) times.history = config.history.map((h) => (!h.created || Date.parse(h.created) > enc.sourceDateEpoch! * 1000 ? { ...h, created: at } : h));
  }
  const out = await writeImage(content, normalizeConfig({ ...config, ...times, rootfs: { ...config.rootfs, diff_ids: diffIds } }), layers, { format, ...(m.annotations ? { annotations: m.annotations } : {}) });
  return out.manifestDescriptor;
}

/**
 * Refuses, before any work, outputs the request cannot honour: rewrite-timestamp without
 * SOURCE_DATE_EPOCH, a push with no name to push to.
 */
export function checkOutputs(req: { outputs: readonly OutputSpec[]; sourceDateEpoch?: number; tags: readonly string[]; push: boolean }, epochGiven = req.sourceDateEpoch !== undefined): void {
  if (req.outputs.some((o) => 'rewriteTimestamp' in o && o.rewriteTimestamp && o.sourceDateEpoch !== null && !epochGiven && exportEpoch(req.sourceDateEpoch, o) === undefined)) {
    throw new UsageError('--output rewrite-timestamp=true needs SOURCE_DATE_EPOCH', { hint: 'set SOURCE_DATE_EPOCH in the environment or with --build-arg SOURCE_DATE_EPOCH=<seconds>' });
  }
  const images = req.outputs.filter((o): o is ImageOutput => o.type === 'image');
  if (!req.tags.length && images.some((o) => (o.push || req.push) && !o.names?.length)) {
    throw new UsageError('--output type=image,push=true needs a name to push to', { hint: 'add name=REGISTRY/REPO[:TAG] to --output, or -t' });
  }
}

/** `manifest` with the build's provenance attached for `target` (./provenance-outputs.ts), else itself. */
export function attest(session: BuildSession, manifest: Descriptor, target: AttestTarget, names: readonly string[], output?: OutputSpec): Promise<Descriptor> {
  return session.attestations ? session.attestations.attach(manifest, target, names, output) : Promise.resolve(manifest);
}

/**
 * Records a push of the attested index as a push of the stored image `stored` (RepoDigests show
 * what the registry serves for the name, as docker's containerd store shows the index).
 */
async function recordPushOf(session: BuildSession, stored: Descriptor, ref: Reference, digest: string): Promise<void> {
  await new LayerVariants(session.store.root).recordPush(stored.digest, splitName(ref.toString()).repository, digest as Digest);
}

/** Distinct references, in order. */
function unique(refs: Reference[]): Reference[] {
  const seen = new Set<string>();
  return refs.filter((r) => !seen.has(r.toString()) && seen.add(r.toString()));
}

/**
 * Names, stores and pushes the image as the request's image outputs say (see the module
 * comment); `tags` are the -t names. Returns the pushed digests by name.
 */
export async function publishImage(session: BuildSession, manifest: Descriptor, stage: StageState, tags: Reference[], pushImage: PushImage): Promise<Record<string, string>> {
  const { req, store } = session;
  const pushed: Record<string, string> = {};
  const outs = req.outputs.filter((o): o is ImageOutput => o.type === 'image');
  if (!outs.length) {
    // No image output: the -t names (and --push), and an untagged image kept unless other
    // exporters were asked for (`--output type=local`: no image, as BuildKit).
    const names = tags.map((t) => t.toString());
    const stored = await attest(session, manifest, 'store', names);
    for (const t of tags) await store.setRef(t.toString(), stored);
    if (!tags.length && req.outputs.length === 0) await store.addDangling(stored);
    if (req.push) {
      if (!tags.length) throw new UsageError('--push needs at least one -t name to push to');
      const pushedDesc = await attest(session, manifest, 'push', names);
      for (const t of tags) {
        const r = await pushImage(t, pushedDesc, {});
        if (pushedDesc !== stored) await recordPushOf(session, stored, t, r.digest);
        pushed[r.ref] = r.digest;
      }
    }
    return pushed;
  }
  for (const out of outs) {
    const desc = await encodeImage(session, manifest, stage, out);
    const names = unique([...(out.names ?? []).map((n) => parseReference(n)), ...tags]);
    if (out.store !== false) {
      const stored = await attest(session, desc, 'store', names.map(String), out);
      for (const n of names) await store.setRef(n.toString(), stored);
      if (!names.length) await store.addDangling(stored);
    }
    if (out.push || req.push) {
      if (!names.length) throw new UsageError('--output type=image,push=true needs a name to push to', { hint: 'add name=REGISTRY/REPO[:TAG] to --output, or -t' });
      const pushedDesc = await attest(session, desc, 'push', names.map(String), out);
      for (const n of names) {
        const r = await pushImage(n, pushedDesc, { insecure: out.insecure, compression: out.compression, level: out.compressionLevel, byDigest: out.pushByDigest });
        pushed[r.ref] = r.digest;
        if (out.store !== false && pushedDesc.digest !== desc.digest) await recordPushOf(session, desc, n, r.digest);
      }
    }
  }
  return pushed;
}
