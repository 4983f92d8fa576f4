/**
 * RUN --mount=type=bind as BuildKit: the mount shows what the context sends (.dockerignore
 * applied), `rw` writes go to a throwaway layer (never into the user's context or the source
 * stage), and `rw` works on `from=<stage>` (it was "read-only file system").
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildContext, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, writeContext } from '../helpers/build.js';

const skip = buildSkipReason();

describe('builder: RUN --mount=type=bind', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('rw writes to a context bind never reach the context; ignored files are not visible', async () => {
    const ctx = await writeContext({
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=bind,target=/c,rw sh -c "echo changed > /c/keep.txt; echo new > /c/new.txt; rm /c/gone.txt; mkdir /c/d/sub; chmod 600 /c/d/f; ls -a /c > /listing; cat /c/keep.txt > /seen"',
        'RUN --mount=type=bind,target=/c ls -a /c > /listing-ro; ls /c/d > /listing-d',
      ].join('\n'),
      'keep.txt': 'original\n',
      'gone.txt': 'still here\n',
      'secret.key': 'ignored\n',
      'd/f': 'in d\n',
      '.dockerignore': 'secret.key\n',
    });
    const before = { keep: statSync(path.join(ctx, 'keep.txt')), f: statSync(path.join(ctx, 'd', 'f')) };
    const out = await tempDir('mybuild-bind-out-');
    await buildContext(root, ctx, { outputs: [{ type: 'local', dest: out }] });
    // The context on the host is untouched.
    assert.equal(readFileSync(path.join(ctx, 'keep.txt'), 'utf8'), 'original\n');
    assert.equal(readFileSync(path.join(ctx, 'gone.txt'), 'utf8'), 'still here\n');
    assert.equal(existsSync(path.join(ctx, 'new.txt')), false);
    assert.equal(existsSync(path.join(ctx, 'd', 'sub')), false);
    assert.equal(statSync(path.join(ctx, 'd', 'f')).mode, before.f.mode);
    assert.equal(statSync(path.join(ctx, 'keep.txt')).ino, before.keep.ino);
    // Inside, the step saw its own writes, and no ignored file.
    assert.equal(readFileSync(path.join(out, 'seen'), 'utf8'), 'changed\n');
    const listing = readFileSync(path.join(out, 'listing'), 'utf8').split('\n').filter(Boolean).sort();
    assert.deepEqual(listing, ['.', '..', '.dockerignore', 'Dockerfile', 'd', 'keep.txt', 'new.txt']);
    // The next step's bind shows the context again, without the last step's writes.
    const ro = readFileSync(path.join(out, 'listing-ro'), 'utf8').split('\n').filter(Boolean).sort();
    assert.deepEqual(ro, ['.', '..', '.dockerignore', 'Dockerfile', 'd', 'gone.txt', 'keep.txt']);
    assert.equal(readFileSync(path.join(out, 'listing-d'), 'utf8'), 'f\n');
    assert.deepEqual(readdirSync(ctx).sort(), ['.dockerignore', 'Dockerfile', 'd', 'gone.txt', 'keep.txt', 'secret.key']);
  });

  it('rw on a bind from= another stage works, and the stage stays as it was', async () => {
    const ctx = await writeContext({
      Dockerfile: [
        'FROM busybox AS src',
        'RUN mkdir /data && echo v1 > /data/v',
        'FROM busybox',
        'RUN --mount=type=bind,from=src,source=/data,target=/d,rw sh -c "echo v2 > /d/v; touch /d/extra; cat /d/v > /seen"',
        'RUN --mount=type=bind,from=src,source=/data,target=/d cat /d/v > /after; ls /d > /after-ls',
      ].join('\n'),
    });
    const out = await tempDir('mybuild-bind-out-');
    await buildContext(root, ctx, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'seen'), 'utf8'), 'v2\n');
    assert.equal(readFileSync(path.join(out, 'after'), 'utf8'), 'v1\n');
    assert.equal(readFileSync(path.join(out, 'after-ls'), 'utf8'), 'v\n');
  });

  it('a read-only bind stays read-only', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM busybox\nRUN --mount=type=bind,target=/c sh -c "echo x > /c/y 2>/dev/null && echo writable > /r || echo refused > /r"\n', y: 'y\n' });
    const out = await tempDir('mybuild-bind-out-');
    await buildContext(root, ctx, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'r'), 'utf8'), 'refused\n');
    assert.equal(readFileSync(path.join(ctx, 'y'), 'utf8'), 'y\n');
  });
});
