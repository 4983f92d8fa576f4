/** The shared ContentStore suite on the disk store and the in-memory store. */
import fs from 'node:fs/promises';
import { LocalContentStore } from '../../src/store/content-store.js';
import { MemoryContentStore } from '../../src/store/memory-content-store.js';
import { ImageStore } from '../../src/store/image-store.js';
import { describeContentStore } from './content-store-suite.js';
import { tempRoot } from './helpers.js';

describeContentStore('LocalContentStore', async () => {
  const root = await tempRoot();
  const store = await LocalContentStore.open(root);
  return {
    store,
    root,
    async corrupt(digest, data) {
      await fs.writeFile(store.blobPath(digest), data);
    },
    async ingestFiles() {
      return fs.readdir(store.paths.ingest);
    },
    async cleanup() {
      await fs.rm(root, { recursive: true, force: true });
    },
  };
});

describeContentStore('MemoryContentStore', async () => {
  const store = new MemoryContentStore();
  return {
    store,
    async corrupt(digest, data) {
      store.corrupt(digest, data);
    },
    async cleanup() {},
  };
});

describeContentStore('LeasedContentStore (ImageStore.lease().content)', async () => {
  const root = await tempRoot();
  const images = await ImageStore.open(root);
  const lease = await images.lease();
  return {
    store: lease.content,
    root,
    async corrupt(digest, data) {
      await fs.writeFile(images.content.blobPath(digest), data);
    },
    async ingestFiles() {
      return fs.readdir(images.content.paths.ingest);
    },
    async cleanup() {
      await lease.release();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
});
