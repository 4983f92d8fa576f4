/**
 * `pull`: fetch an image from a registry into a ContentStore.
 *
 * 1. Resolve the reference's tag or digest to a manifest or an index (Accept: OCI and Docker
 *    types). Schema 1 manifests are refused.
 * 2. From an index, pick the manifest for the wanted platform (default: the host's).
 * 3. Fetch the config and layers in parallel (3 at a time), each streamed into
 *    `store.write(body, { digest, size })`, which verifies while streaming: a blob with the
 *    wrong digest is rejected and never stored. Blobs already stored (`store.info`) are
 *    skipped. A download cut short resumes where it stopped with `Range: bytes=N-` (up to 5
 *    times a blob; when the registry ignores the range and sends it all, the bytes we have are
 *    skipped); the store verifies digest and size over the whole blob either way. Other
 *    failures (a reset before any byte, a stall, a flipped byte) are retried from the start (5
 *    tries a blob, as Docker).
 * 4. Check that every layer uncompresses to its diff_id in the config (src/image/diff-ids.ts),
 *    as containerd's unpacker does; a mismatch fails the pull before anything is named.
 * 5. Store the manifest (and the index) blobs, then point the ref at the platform manifest.
 *
 * Idempotent: pulling again stores nothing new. Errors name the operation and the registry's
 * answer: `pull 127.0.0.1:5000/x:nope: manifest unknown (404)`.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { BuildError, DigestMismatchError, errorOfKind, isDigestMismatch, isRegistryError, RegistryError } from '../errors.js';
import type { Reference } from '../oci/reference.js';
import { parseReference } from '../image/reference.js';
import { isDigest } from '../oci/digest.js';
import { MediaTypes, type Descriptor, type Digest, type ImageConfig, type Index, type Manifest, type Platform } from '../oci/types.js';
import { verifyDiffIds } from '../image/diff-ids.js';
import { parseJsonBlob } from '../image/manifest.js';
import type { ContentStore } from '../oci/content-store.js';
import { BlobSources } from './blob-sources.js';
import { RegistryClient, type ClientOptions } from './client.js';
import { formatPlatform, hostPlatform, pickManifest, platformMatches } from '../oci/platform.js';
import { parsePlatform } from './platform.js';
import { isBodyInterrupted } from './transport.js';

/** What pull (and push) report per blob. `current`/`total` are bytes. */
export interface TransferProgress {
  /** `config`, `layer`, `manifest`, `index` */
  kind: 'config' | 'layer' | 'manifest' | 'index';
  digest: Digest;
  /** `exists`: already there, nothing moved; `mounted`: cross-repository mount (push). */
  status: 'exists' | 'downloading' | 'uploading' | 'retrying' | 'mounted' | 'done';
  current: number;
  total: number;
}

/** The part of the image store pull needs: naming a manifest. */
export interface RefSetter {
  setRef(name: string, descriptor: Descriptor): Promise<unknown> | unknown;
}

export interface PullOptions {
  /** `os/arch[/variant]` or a Platform; default the host's. */
  platform?: string | Platform;
  onProgress?: (e: TransferProgress) => void;
  /** A client to reuse (not closed by pull); otherwise one is made from `clientOptions` and closed. */
  client?: RegistryClient;
  clientOptions?: ClientOptions;
  /** Blobs fetched at once (default 3). */
  concurrency?: number;
  /** Record of where blobs came from (for cross-repository mounts on push). */
  sources?: BlobSources;
  /**
   * Refuse a single-platform image whose config is for another platform (docker pull --platform:
   * "image with reference … was found but does not match the specified platform"). Default:
   * true when `platform` is given. Checked on the config, before any layer is fetched.
   */
  platformMustMatch?: boolean;
}

export interface PullResult {
  reference: Reference;
  /** The platform manifest the ref now names (with its `platform` when it came from an index). */
  descriptor: Descriptor;
  /** The index the tag resolved to, when it was one (stored too). */
  index?: Descriptor;
  manifest: Manifest;
}

/** Rethrows `err` with `prefix: ` before its message (same class, hint and cause), unless it already has it. */
export function withPrefix(prefix: string, err: unknown): unknown {
  if (!(err instanceof BuildError) || err.message.startsWith(prefix)) return err;
  const opts = { hint: err.hint, cause: err.cause ?? err, details: err.details };
  return errorOfKind(err.code, `${prefix}: ${err.message}`, opts);
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as T;
  } catch (err) {
    throw new RegistryError(`malformed ${what}: ${(err as Error).message}`, { hint: 'the registry sent something that is not an image manifest' });
  }
}

function isDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor;
  return !!x && typeof x === 'object' && typeof x.mediaType === 'string' && isDigest(x.digest) && Number.isSafeInteger(x.size) && x.size >= 0;
}

/** Classifies fetched manifest bytes: index, manifest, or an error for schema 1 / junk. */
export function classifyManifest(bytes: Buffer, mediaType: string): { kind: 'index'; index: Index } | { kind: 'manifest'; manifest: Manifest } {
  if (mediaType === MediaTypes.DOCKER_SCHEMA1_MANIFEST || mediaType === MediaTypes.DOCKER_SCHEMA1_SIGNED) {
    throw new RegistryError(`the image uses the Docker schema 1 manifest format (${mediaType}), which is not supported`, { hint: 'push the image again with a current Docker, BuildKit or skopeo, which write schema 2 / OCI manifests' });
  }
  const v = parseJson<{ schemaVersion?: unknown; mediaType?: string; manifests?: unknown; config?: unknown; layers?: unknown }>(bytes, 'manifest');
  if (v.schemaVersion === 1) return classifyManifest(bytes, MediaTypes.DOCKER_SCHEMA1_MANIFEST);
  if (v.schemaVersion !== 2) throw new RegistryError(`malformed manifest: schemaVersion is ${JSON.stringify(v.schemaVersion)}, expected 2`);
  const isIndex = mediaType === MediaTypes.OCI_INDEX || mediaType === MediaTypes.DOCKER_MANIFEST_LIST || (v.manifests !== undefined && v.config === undefined);
  if (isIndex) {
    if (!Array.isArray(v.manifests) || !v.manifests.every(isDescriptor)) throw new RegistryError('malformed index: "manifests" must be a list of descriptors (mediaType, sha256 digest, size)');
    return { kind: 'index', index: v as Index };
  }
  if (!isDescriptor(v.config)) throw new RegistryError('malformed manifest: "config" must be a descriptor (mediaType, sha256 digest, size)');
  if (!Array.isArray(v.layers) || !v.layers.every(isDescriptor)) throw new RegistryError('malformed manifest: "layers" must be a list of descriptors (mediaType, sha256 digest, size)');
  return { kind: 'manifest', manifest: v as Manifest };
}

/** Counts bytes through a stream and reports them (at most every 100 ms, and at the end). */
function progressCounter(report: (n: number) => void): Transform {
  let n = 0;
  let last = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      n += chunk.length;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        report(n);
      }
      cb(null, chunk);
    },
    flush(cb) {
      report(n);
      cb();
    },
  });
}

/** Tries of one blob (Docker's maxDownloadAttempts), with a pause of BLOB_RETRY_MS × 2^n between them. */
const BLOB_TRIES = 5;
const BLOB_RETRY_MS = 200;
const BLOB_RESUMES = 5;

/** Drops the first `n` bytes of `body` (a registry that ignored our Range resent them). */
async function* skipBytes(body: AsyncIterable<Buffer>, n: number): AsyncGenerator<Buffer> {
  let left = n;
  for await (const c of body) {
    if (left >= c.length) {
      left -= c.length;
      continue;
    }
    yield left > 0 ? c.subarray(left) : c;
    left = 0;
  }
}

/**
 * The blob's bytes, resuming with a Range request when the body breaks off after some bytes
 * (at most BLOB_RESUMES times). `onResume(offset)` reports each resume. The caller verifies
 * the digest over everything yielded. Destroys the response streams it opened.
 */
async function* resumableBlob(client: RegistryClient, repo: string, digest: Digest, what: string, onResume: (offset: number) => void): AsyncGenerator<Buffer> {
  let received = 0;
  let resumes = 0;
  let { body } = await client.blobStream(repo, digest, what);
  let source: AsyncIterable<Buffer> = body;
  try {
    for (;;) {
      try {
        for await (const c of source) {
          received += c.length;
          yield c;
        }
        return;
      } catch (err) {
        body.destroy();
        if (!isBodyInterrupted(err) || received === 0 || resumes >= BLOB_RESUMES) throw err;
        resumes++;
        onResume(received);
        const next = await client.blobStream(repo, digest, what, received);
        body = next.body;
        source = next.offset === received ? body : skipBytes(body, received);
      }
    }
  } finally {
    // A consumer that stops early (the store refused the bytes) closes the response too.
    if (!body.readableEnded) body.destroy();
  }
}

/**
 * Fetches one blob from `repo` into `store` unless it is already there; verified by the store.
 * Retries (up to 3 tries) on network failures, truncated bodies and digest/size mismatches
 * (a proxy may have mangled one answer); a persistent mismatch throws DigestMismatchError and
 * nothing is stored.
 */
export async function fetchBlob(client: RegistryClient, repo: string, desc: Descriptor, store: ContentStore, kind: TransferProgress['kind'], context: string, onProgress?: (e: TransferProgress) => void): Promise<void> {
  const emit = (status: TransferProgress['status'], current: number): void => onProgress?.({ kind, digest: desc.digest, status, current, total: desc.size });
  if (await store.info(desc.digest)) {
    emit('exists', desc.size);
    return;
  }
  const what = `${context}: ${kind} ${desc.digest}`;
  for (let attempt = 1; ; attempt++) {
    try {
      emit(attempt === 1 ? 'downloading' : 'retrying', 0);
      const body = Readable.from(resumableBlob(client, repo, desc.digest, what, (offset) => emit('retrying', offset)), { objectMode: false });
      const counted = body.pipe(progressCounter((n) => emit('downloading', n)));
      body.on('error', (err) => counted.destroy(err));
      await store.write(counted, { digest: desc.digest, size: desc.size });
      emit('done', desc.size);
      return;
    } catch (err) {
      if (isRetryableDownload(err) && attempt < BLOB_TRIES) {
        await sleep(BLOB_RETRY_MS * 2 ** (attempt - 1));
        continue;
      }
      if (isDigestMismatch(err)) {
        throw new DigestMismatchError(`${what}: the registry sent content that does not match the digest (${err.message}); nothing was stored`, { cause: err, hint: 'the registry or a proxy between us corrupted the blob' });
      }
      throw withPrefix(what, isStreamFailure(err) ? new RegistryError(`download failed: ${(err as Error).message}`, { cause: err, hint: 'the connection broke while downloading; try again' }) : err);
    }
  }
}

/** A failure another try of the download may not meet: the network, a mangled body, a registry overloaded past the transport's retries. */
function isRetryableDownload(err: unknown): boolean {
  if (isDigestMismatch(err) || isStreamFailure(err)) return true;
  return isRegistryError(err) && /closed the connection|did not answer|stopped sending|aborted|\((5\d\d|429)\)$/.test(err.message);
}

function isStreamFailure(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return !(err instanceof BuildError) && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE' || (err as Error | undefined)?.message === 'aborted');
}

/**
 * Pulls `ref` into `store` and (when given) names it in `refs` with `ref.toString()`.
 * See the module comment. Throws RegistryError / DigestMismatchError / BuildError
 * INVALID_ARGUMENT (bad reference or platform), each prefixed `pull <ref>: `; NotFoundError-like
 * registry answers stay RegistryErrors naming the status (`manifest unknown (404)`).
 */
export async function pull(refInput: string | Reference, store: ContentStore, refs?: RefSetter, opts: PullOptions = {}): Promise<PullResult> {
  const ref = typeof refInput === 'string' ? parseReference(refInput) : refInput;
  const want = opts.platform === undefined ? hostPlatform() : typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  const prefix = `pull ${ref.familiar()}`;
  const client = opts.client ?? new RegistryClient(ref.domain, opts.clientOptions);
  const sources = opts.sources;
  try {
    const top = await client.getManifest(ref.path, ref.identifier, undefined, prefix);
    const topDesc: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
    let manifestBytes = top.bytes;
    let manifestDesc = topDesc;
    let indexDesc: Descriptor | undefined;
    let parsed = classifyManifest(top.bytes, top.mediaType);
    if (parsed.kind === 'index') {
      indexDesc = topDesc;
      const chosen = pickManifest(parsed.index.manifests, want);
      if (!chosen) {
        const have = parsed.index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ');
        throw new RegistryError(`no matching manifest for ${formatPlatform(want)} in the manifest list entries (the image has: ${have || 'no manifests'})`, { hint: 'choose one of them with --platform' });
      }
      const child = await client.getManifest(ref.path, chosen.digest, undefined, prefix);
      if (child.bytes.length !== chosen.size) throw new DigestMismatchError(`manifest ${chosen.digest} is ${child.bytes.length} bytes, the index says ${chosen.size}`);
      parsed = classifyManifest(child.bytes, child.mediaType || chosen.mediaType);
      if (parsed.kind !== 'manifest') throw new RegistryError(`malformed index: its entry ${chosen.digest} is itself an index`);
      manifestBytes = child.bytes;
      manifestDesc = { mediaType: child.mediaType || chosen.mediaType, digest: child.digest, size: child.bytes.length, ...(chosen.platform ? { platform: chosen.platform } : {}) };
    }
    const manifest = parsed.manifest;
    if (!indexDesc && (opts.platformMustMatch ?? opts.platform !== undefined)) {
      await fetchBlob(client, ref.path, manifest.config, store, 'config', prefix, opts.onProgress);
      const cfg = JSON.parse((await store.readBytes(manifest.config.digest)).toString('utf8')) as { os?: string; architecture?: string; variant?: string };
      const have = { os: cfg.os ?? '', architecture: cfg.architecture ?? '', ...(cfg.variant ? { variant: cfg.variant } : {}) };
      if (cfg.os && cfg.architecture && !platformMatches(want, have)) {
        throw new RegistryError(`image with reference ${ref.familiar()} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`, { hint: `the image is only for ${formatPlatform(have)}` });
      }
    }
    const limit = pLimit(opts.concurrency ?? 3);
    const blobs: [Descriptor, TransferProgress['kind']][] = [[manifest.config, 'config'], ...manifest.layers.map((l): [Descriptor, TransferProgress['kind']] => [l, 'layer'])];
    const seen = new Set<string>();
    const unique = blobs.filter(([d]) => !seen.has(d.digest) && seen.add(d.digest));
    // Foreign layers (Windows base layers) live elsewhere and are not fetched: we skip nothing here,
    // as registries serve every blob a linux image lists.
    // Blobs already stored are reported first, in manifest order (as Docker prints "Already
    // exists"), so the output does not depend on which concurrent check finished first.
    const missing: typeof unique = [];
    for (const [d, kind] of unique) {
      if (await store.info(d.digest)) opts.onProgress?.({ kind, digest: d.digest, status: 'exists', current: d.size, total: d.size });
      else missing.push([d, kind]);
    }
    await Promise.all(missing.map(([d, kind]) => limit(() => fetchBlob(client, ref.path, d, store, kind, prefix, opts.onProgress))));
    // The layers must hold what the config's diff_ids claim (src/image/diff-ids.ts) before the image is named.
    const config = parseJsonBlob<ImageConfig>(await store.readBytes(manifest.config.digest), `config ${manifest.config.digest}`);
    await verifyDiffIds(store, manifest.layers, config, `image ${manifestDesc.digest}`);
    await store.writeBytes(manifestBytes, { digest: manifestDesc.digest, size: manifestDesc.size });
    opts.onProgress?.({ kind: 'manifest', digest: manifestDesc.digest, status: 'done', current: manifestDesc.size, total: manifestDesc.size });
    if (indexDesc) {
      await store.writeBytes(top.bytes, { digest: indexDesc.digest, size: indexDesc.size });
      opts.onProgress?.({ kind: 'index', digest: indexDesc.digest, status: 'done', current: indexDesc.size, total: indexDesc.size });
    }
    if (sources) {
      for (const [d] of unique) await sources.add(d.digest, ref.name);
      await sources.save();
    }
    if (refs) await refs.setRef(ref.toString(), manifestDesc);
    return { reference: ref, descriptor: manifestDesc, index: indexDesc, manifest };
  } catch (err) {
    throw withPrefix(prefix, err);
  } finally {
    if (!opts.client) client.close();
  }
}
