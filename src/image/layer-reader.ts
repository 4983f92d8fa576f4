/**
 * Reads a layer blob back as an uncompressed tar stream.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform, Writable } from 'node:stream';
import { DigestMismatchError } from '../errors.js';
import type { ContentStore } from '../oci/content-store.js';
import { createDecompressor, layerCompression } from './compression.js';
import type { Descriptor, Digest } from '../oci/types.js';

/**
 * Opens the layer `desc` and returns its uncompressed tar: gunzip, `zstd -d` or nothing, by
 * media type. The compressed bytes are verified by the store as they are read (the stream
 * fails with DigestMismatchError on a mismatch, at the end). The caller consumes or destroys
 * the returned stream; destroying it closes the blob and stops the decompressor.
 * Throws NotFoundError when the blob is missing and BuildError INVALID_ARGUMENT for a media
 * type that is not a layer.
 */
export async function openLayer(store: ContentStore, desc: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>): Promise<Readable> {
  const kind = layerCompression(desc.mediaType);
  const blob = await store.reader({ digest: desc.digest, size: desc.size });
  if (kind === 'none') return blob;
  const out = createDecompressor(kind);
  blob.on('error', (err) => out.destroy(err));
  out.on('close', () => {
    if (!blob.destroyed) blob.destroy();
  });
  blob.pipe(out);
  return out as unknown as Readable;
}

/**
 * Hashes and counts the uncompressed tar of a layer (reads it all). Used by validation and by
 * the docker-archive exporter (which needs the size before it can write the tar header).
 */
export async function measureLayer(store: ContentStore, desc: Pick<Descriptor, 'mediaType' | 'digest' | 'size'>): Promise<{ diffId: Digest; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  await pipeline(
    await openLayer(store, desc),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        size += chunk.length;
        cb();
      },
    }),
  );
  return { diffId: `sha256:${h.digest('hex')}`, size };
}

/**
 * A pass-through that checks the bytes against `diffId` and `size` at the end and fails with
 * DigestMismatchError otherwise. `what` names the data in the message.
 */
export function verifyingTransform(want: { digest: Digest; size?: number }, what: string): Transform {
  const h = createHash('sha256');
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      const got = `sha256:${h.digest('hex')}`;
      if (got !== want.digest || (want.size !== undefined && n !== want.size)) {
        cb(new DigestMismatchError(`${what}: expected ${want.digest}${want.size !== undefined ? ` (${want.size} bytes)` : ''}, got ${got} (${n} bytes)`));
      } else cb();
    },
  });
}
