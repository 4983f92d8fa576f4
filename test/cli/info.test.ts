/**
 * `mybuild info` says whether steps run rootless, which snapshotter the store uses and what the
 * default network is (issue 19).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { execCapture } from '../../src/runtime/exec.js';
import { runCli } from '../helpers/cli.js';

describe('mybuild info', () => {
  it('prints Rootless, Storage Driver (the snapshotter) and Default Network', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'mybuild-info-'));
    try {
      const r = await runCli(['--root', root, 'info']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^ Rootless: +${process.getuid?.() !== 0}$`, 'm'));
      assert.match(r.out, /^ Storage Driver: +(overlay|native)$/m);
      const slirp = await execCapture('slirp4netns', ['--version']).catch(() => undefined);
      const version = slirp?.code === 0 ? /slirp4netns version (\S+)/.exec(slirp.stdout.toString())![1] : undefined;
      assert.match(r.out, version ? new RegExp(`^ Default Network: +slirp4netns ${version.replace(/\./g, '\\.')}$`, 'm') : /^ Default Network: +unavailable: slirp4netns is not installed/m);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
