/** The OCI types now live in `src/oci/types.ts`; this re-export keeps `image/types.js` imports working. */
export * from '../oci/types.js';
