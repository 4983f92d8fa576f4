/**
 * The three snapshotters (src/runtime/snapshotter.ts: kernel overlayfs, fuse-overlayfs, the
 * copying one) build the same filesystem, forced with MYBUILD_SNAPSHOTTER; the two overlay forms
 * give the same image ID with SOURCE_DATE_EPOCH (deletions, an opaque directory and new
 * directories become the same layer entries); `mybuild info` names the one in use.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, describe, it } from 'node:test';
import { probeFuseOverlay, probeOverlay } from '../../src/runtime/snapshotter.js';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, runCliProcess, writeContext } from '../helpers/build.js';

const skip = buildSkipReason() || cliSkipReason() || ((await probeOverlay(os.tmpdir())) ? false : 'overlayfs cannot be mounted here') || ((await probeFuseOverlay(os.tmpdir())) ? false : 'fuse-overlayfs cannot mount here (apt-get install fuse-overlayfs; /dev/fuse)');

describe('snapshotters', { skip }, () => {
  after(cleanupTemp);

  it('overlay, fuse-overlayfs and native build the same filesystem, fuse-overlayfs the same image as overlay; info names the snapshotter', async () => {
    const ctx = await writeContext({
      Dockerfile: 'FROM busybox\nRUN rm /bin/vi && mkdir -p /new/d && echo x > /new/d/f && rm -rf /usr && mkdir /usr && echo y > /usr/z\nRUN [ ! -e /bin/vi ] && [ "$(cat /usr/z)" = y ] && [ "$(ls /usr)" = z ] && echo ok > /checked\n',
    });
    const ids: Record<string, string> = {};
    for (const type of ['overlay', 'fuse-overlayfs', 'native']) {
      const root = await makeStoreRoot();
      const env = { MYBUILD_SNAPSHOTTER: type, SOURCE_DATE_EPOCH: '0' };
      const r = await runCliProcess(['--root', root, 'build', '-q', ctx], { env });
      assert.equal(r.code, 0, `${type}: ${r.stderr}`);
      ids[type] = r.stdout.trim();
      const info = await runCliProcess(['--root', root, 'info'], { env });
      assert.match(info.stdout, new RegExp(`Storage Driver: +${type}\\n`), info.stdout);
    }
    // The two overlay forms give the same layers; the copying one writes a whiteout per removed
    // child where they write an opaque marker (the same filesystem: the second RUN checks it).
    assert.equal(ids['fuse-overlayfs'], ids.overlay, JSON.stringify(ids));
  });
});
