/** Small test images built from a few LayerEntries (no network). */
import { Readable } from 'node:stream';
import { appendHistory, appendLayer, emptyConfig, withContainerConfig } from '../../src/image/config.js';
import { writeImage } from '../../src/image/manifest.js';
import { writeLayer } from '../../src/image/layer-writer.js';
import type { ContentStore } from '../../src/oci/content-store.js';

/** A one-layer linux/amd64 image with /etc/hello, Env, Cmd and Labels; SOURCE_DATE_EPOCH 0. */
export async function smallImage(store: ContentStore, format: 'oci' | 'docker' = 'oci') {
  const content = 'hello from a test image\n';
  const layer = await writeLayer(
    [
      { path: 'etc', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeMs: 0 },
      { path: 'etc/hello', type: 'file', mode: 0o644, uid: 0, gid: 0, size: content.length, mtimeMs: 0, open: () => Readable.from([Buffer.from(content)]) },
    ],
    store,
    { sourceDateEpoch: 0 },
  );
  let cfg = emptyConfig({ os: 'linux', architecture: 'amd64' }, { sourceDateEpoch: 0 });
  cfg = appendLayer(cfg, layer, { created_by: 'COPY hello /etc/hello # buildkit' }, { sourceDateEpoch: 0 });
  cfg = withContainerConfig(cfg, { Env: ['PATH=/usr/bin:/bin'], Cmd: ['cat', '/etc/hello'], Labels: { z: '1', a: '<&>' } });
  cfg = appendHistory(cfg, { created_by: 'CMD ["cat" "/etc/hello"]' }, { sourceDateEpoch: 0 });
  const img = await writeImage(store, cfg, [layer.descriptor], { format });
  return { ...img, layer };
}
