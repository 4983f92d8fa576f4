/**
 * `system check`'s diffID pass: every stored image's layers must uncompress to the diff_ids of
 * its config (src/image/diff-ids.ts). Load, pull and extraction refuse such an image; this
 * finds one that a store made by an earlier version took in. Reads every layer once per image.
 */
import { BuildError, isNotFound } from '../errors.js';
import { verifyDiffIds } from '../image/diff-ids.js';
import { isIndexType, isManifestType, parseJsonBlob } from '../image/manifest.js';
import { isAttestationEntry } from '../image/attestation.js';
import type { Descriptor, Digest, ImageConfig, Index, Manifest } from '../oci/types.js';
import type { Problem } from './gc.js';
import type { ContentStore } from '../oci/content-store.js';

/**
 * The diffID problems of the image (or index) `desc`, named `ref`. Images already in
 * `verified` are skipped and each one checked is added. Missing or unreadable blobs are left to
 * the tree check (they are reported there).
 */
export async function checkDiffIds(content: ContentStore, ref: string, desc: Descriptor, verified: Set<Digest>): Promise<Problem[]> {
  if (verified.has(desc.digest)) return [];
  verified.add(desc.digest);
  let manifest: Manifest;
  let config: ImageConfig;
  try {
    if (isIndexType(desc.mediaType)) {
      const index = parseJsonBlob<Index>(await content.readBytes(desc.digest), `index ${desc.digest}`);
      const out: Problem[] = [];
      // Attestation manifests hold in-toto statements, not layers (their tree is checked in gc.ts).
      for (const c of index.manifests ?? []) if (!isAttestationEntry(c) && (await content.info(c.digest))) out.push(...(await checkDiffIds(content, ref, c, verified)));
      return out;
    }
    if (!isManifestType(desc.mediaType)) return [];
    manifest = parseJsonBlob<Manifest>(await content.readBytes(desc.digest), `manifest ${desc.digest}`);
    config = parseJsonBlob<ImageConfig>(await content.readBytes(manifest.config.digest), `config ${manifest.config.digest}`);
  } catch {
    return []; // missing or unreadable: the tree check reports it
  }
  try {
    await verifyDiffIds(content, manifest.layers ?? [], config, `ref ${ref}: image ${desc.digest}`);
    return [];
  } catch (err) {
    if (isNotFound(err)) return [];
    const message = err instanceof BuildError ? err.message : `ref ${ref}: image ${desc.digest}: a layer cannot be read: ${(err as Error).message}`;
    return [{ kind: 'ref', subject: ref, message }];
  }
}
