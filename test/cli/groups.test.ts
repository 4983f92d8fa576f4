/**
 * docker's management commands (src/cli/groups.ts): `mybuild image ls` is `mybuild images`,
 * `container ls` is `ps`, `buildx build` is `build`, `builder prune` prunes the build cache,
 * `system info` is `info`; a docker subcommand mybuild lacks is refused by name (exit 2).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { baseImageSkipReason } from '../helpers/base-image.js';
import { cleanupTemp, makeStoreRoot, tempDir } from '../helpers/build.js';

describe('command groups', { skip: baseImageSkipReason() }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('image ls / image list = images, image inspect = inspect, image tag and image rm act on the store', async () => {
    const images = await runCli(['--root', root, 'images']);
    assert.equal(images.code, 0, images.err);
    assert.match(images.out, /busybox/);
    for (const alias of [['image', 'ls'], ['image', 'list']]) assert.deepEqual(await runCli(['--root', root, ...alias]), images, alias.join(' '));
    const inspect = await runCli(['--root', root, 'image', 'inspect', 'busybox']);
    assert.deepEqual(inspect, await runCli(['--root', root, 'inspect', 'busybox']));
    assert.equal((await runCli(['--root', root, 'image', 'tag', 'busybox', 'grp:1'])).code, 0);
    assert.match((await runCli(['--root', root, 'image', 'ls'])).out, /\ngrp +1 /);
    const rm = await runCli(['--root', root, 'image', 'rm', 'grp:1']);
    assert.equal(rm.code, 0, rm.err);
    assert.match(rm.out, /Untagged: grp:1/);
  });

  it('container ls = ps, system info = info, buildx build --help = build --help', async () => {
    assert.deepEqual(await runCli(['--root', root, 'container', 'ls', '-a']), await runCli(['--root', root, 'ps', '-a']));
    const info = await runCli(['--root', root, 'system', 'info']);
    assert.equal(info.code, 0, info.err);
    assert.match(info.out, /Images: +1\n/);
    assert.deepEqual(await runCli(['buildx', 'build', '--help']), await runCli(['build', '--help']));
    assert.deepEqual(await runCli(['help', 'image', 'ls']), await runCli(['images', '--help']));
  });

  it('builder prune removes the build cache and keeps untagged images and tags', async () => {
    const r = await runCli(['--root', root, 'builder', 'prune', '-f']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Total reclaimed space: /);
    assert.match((await runCli(['--root', root, 'images'])).out, /busybox/);
  });

  it('refuses a docker subcommand mybuild lacks, and an unknown one, by name', async () => {
    const empty = await tempDir();
    for (const [args, text] of [
      [['image', 'history', 'busybox'], '"mybuild image history" is not supported by mybuild'],
      [['container', 'exec', 'c', 'sh'], '"mybuild container exec" is not supported by mybuild'],
      [['container', 'inspect', 'c'], 'inspect --type container is not supported by mybuild yet'],
      [['image', 'bogus'], 'unknown command "mybuild image bogus"'],
    ] as const) {
      const r = await runCli(['--root', empty, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.ok(r.err.startsWith(`error: ${text}`), r.err);
    }
    const g = await runCli(['image', '--help']);
    assert.equal(g.code, 0);
    assert.match(g.out, /\n {2}ls +List images \("mybuild images"\)\n/);
    assert.match(g.out, /\n {2}history +not supported by mybuild\n/);
  });
});
