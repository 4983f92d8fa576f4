/**
 * Content digests (OCI image spec, descriptor.md "Digests"). mybuild stores and names content by
 * sha256 only, so a `Digest` is `sha256:` followed by 64 lowercase hex digits; this module holds
 * the one check of that shape that every other part uses. Pure: no I/O, no project imports.
 */

/** `sha256:<64 lowercase hex>`; the type does not check the hex, `isDigest` does. */
export type Digest = `sha256:${string}`;

/** 64 lowercase hex digits: the encoded part of a sha256 digest. Anchored, no flags. */
export const SHA256_HEX = /^[a-f0-9]{64}$/;

/** True when `s` is 64 lowercase hex digits (a sha256 digest without its `sha256:` prefix). */
export function isSha256Hex(s: unknown): s is string {
  return typeof s === 'string' && SHA256_HEX.test(s);
}

/** True when `d` is a well-formed `sha256:<64 lowercase hex>` digest. */
export function isDigest(d: unknown): d is Digest {
  return typeof d === 'string' && d.startsWith('sha256:') && isSha256Hex(d.slice('sha256:'.length));
}
