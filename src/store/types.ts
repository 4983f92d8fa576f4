/**
 * The store's own types. `ContentStore` and `BlobInfo` live in `src/oci/content-store.ts`
 * (image code uses the interface, this folder implements it).
 */
import type { Descriptor } from '../oci/types.js';

/** A named reference (tag) to a manifest or index, kept in the layout's `index.json`. */
export interface ImageRef {
  /** Normalised name, e.g. `docker.io/library/busybox:latest` or `app:1` style local names. */
  name: string;
  descriptor: Descriptor;
}
