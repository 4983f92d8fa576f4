/**
 * A child process for the store's cross-process tests (spawned by test/store/helpers.ts):
 *
 *     write-blob ROOT SEED SIZE        write one deterministic blob, print its digest
 *     tag ROOT PREFIX COUNT            write COUNT small images and tag them PREFIX-<i>
 *     loop ROOT SEED                   write blobs, images and refs forever (killed by the test);
 *                                      prints "ready" once the first ref is set
 */
import { ImageStore } from '../../src/store/image-store.js';
import { MediaTypes, type Descriptor } from '../../src/image/types.js';
import { bytes, rng } from './helpers.js';

async function writeImage(store: ImageStore, seed: number, layerSize: number): Promise<Descriptor> {
  const layer = await store.content.writeBytes(bytes(seed, layerSize));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', rootfs: { type: 'layers', diff_ids: [layer.digest] }, seed }));
  const c = await store.content.writeBytes(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.OCI_MANIFEST,
      config: { mediaType: MediaTypes.OCI_CONFIG, digest: c.digest, size: c.size },
      layers: [{ mediaType: MediaTypes.OCI_LAYER, digest: layer.digest, size: layer.size }],
    }),
  );
  const m = await store.content.writeBytes(manifest);
  return { mediaType: MediaTypes.OCI_MANIFEST, digest: m.digest, size: m.size };
}

const [mode, root, a, b] = process.argv.slice(2);
const store = await ImageStore.open(root);
if (mode === 'write-blob') {
  const info = await store.content.writeBytes(bytes(Number(a), Number(b)));
  process.stdout.write(`${info.digest}\n`);
} else if (mode === 'tag') {
  for (let i = 0; i < Number(b); i++) {
    const desc = await writeImage(store, i + 1, 1000 + i);
    await store.setRef(`${a}-${i}`, desc);
  }
} else if (mode === 'loop') {
  const r = rng(Number(a));
  for (let i = 0; ; i++) {
    // Layers big enough that a kill often lands mid-write.
    const desc = await writeImage(store, Math.floor(r() * 1e9), 64 * 1024 + Math.floor(r() * 512 * 1024));
    await store.setRef(`loop-${i % 5}`, desc);
    if (i % 3 === 2) await store.deleteRef(`loop-${(i + 1) % 5}`);
    if (i === 0) process.stdout.write('ready\n');
  }
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
