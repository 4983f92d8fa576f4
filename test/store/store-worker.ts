/**
 * A child process for the store's cross-process tests (spawned by test/store/helpers.ts):
 *
 *     write-blob ROOT SEED SIZE        write one deterministic blob, print its digest
 *     tag ROOT PREFIX COUNT            write COUNT small images and tag them PREFIX-<i>
 *     tag-leased ROOT PREFIX COUNT     the same, writing through a lease
 *     loop ROOT SEED                   write blobs, images and refs forever (killed by the test);
 *                                      prints "ready" once the first ref is set
 */
import { ImageStore } from '../../src/store/image-store.js';
import { bytes, rng, writeImage } from './helpers.js';

const [mode, root, a, b] = process.argv.slice(2);
const store = await ImageStore.open(root);
if (mode === 'write-blob') {
  const info = await store.content.writeBytes(bytes(Number(a), Number(b)));
  process.stdout.write(`${info.digest}\n`);
} else if (mode === 'tag') {
  for (let i = 0; i < Number(b); i++) {
    const desc = await writeImage(store.content, i + 1, 1000 + i);
    await store.setRef(`${a}-${i}`, desc);
  }
} else if (mode === 'tag-leased') {
  const lease = await store.lease();
  for (let i = 0; i < Number(b); i++) {
    const desc = await writeImage(lease.content, i + 1, 1000 + i);
    await store.setRef(`${a}-${i}`, desc);
  }
  await lease.release();
} else if (mode === 'loop') {
  const r = rng(Number(a));
  for (let i = 0; ; i++) {
    // Layers big enough that a kill often lands mid-write.
    const desc = await writeImage(store.content, Math.floor(r() * 1e9), 64 * 1024 + Math.floor(r() * 512 * 1024));
    await store.setRef(`loop-${i % 5}`, desc);
    if (i % 3 === 2) await store.deleteRef(`loop-${(i + 1) % 5}`);
    if (i === 0) process.stdout.write('ready\n');
  }
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
