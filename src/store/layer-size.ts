/**
 * A layer's uncompressed size, the size `docker images` shows, without reading the layer: an
 * uncompressed blob's own size; for gzip, the ISIZE field of the trailer (the input length mod
 * 2^32, RFC 1952), trusted only when it is not smaller than the compressed blob (else the layer
 * is over 4 GiB or made of several members, and the compressed size is shown); for other
 * compressions, the compressed size.
 */
import fs from 'node:fs/promises';
import { layerCompression } from '../image/compression.js';
import type { Descriptor } from '../oci/types.js';
import type { LocalContentStore } from './content-store.js';

/** Cache of gzip ISIZE by blob digest (blobs never change). */
const gzipSizes = new Map<string, number>();

async function gzipIsize(content: LocalContentStore, l: Descriptor): Promise<number | null> {
  const known = gzipSizes.get(l.digest);
  if (known !== undefined) return known;
  let fh;
  try {
    fh = await fs.open(content.blobPath(l.digest), 'r');
    const st = await fh.stat();
    if (st.size < 18) return null;
    const buf = Buffer.alloc(4);
    await fh.read(buf, 0, 4, st.size - 4);
    const n = buf.readUInt32LE(0);
    gzipSizes.set(l.digest, n);
    return n;
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}

/** The uncompressed size of layer `l` (see the module comment). */
export async function uncompressedLayerSize(content: LocalContentStore, l: Descriptor): Promise<number> {
  let kind;
  try {
    kind = layerCompression(l.mediaType);
  } catch {
    return l.size;
  }
  if (kind === 'none') return l.size;
  if (kind === 'gzip') {
    const n = await gzipIsize(content, l);
    if (n !== null && n >= l.size) return n;
  }
  return l.size;
}

/** The sum of the uncompressed sizes of `layers`. */
export async function uncompressedImageSize(content: LocalContentStore, layers: readonly Descriptor[]): Promise<number> {
  let n = 0;
  for (const l of layers) n += await uncompressedLayerSize(content, l);
  return n;
}
