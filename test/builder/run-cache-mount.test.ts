/**
 * RUN --mount=type=cache options as BuildKit applies them: uid, gid and mode of the cache
 * directory (they were ignored: 0:0 0755), sharing=locked (concurrent steps take turns: they
 * interleaved) and sharing=private (each concurrent user gets its own directory); a --no-cache
 * build renews a cache mount that has uid/gid/mode.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir } from '../helpers/build.js';

const skip = buildSkipReason();

describe('builder: RUN --mount=type=cache options', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  const fileOf = async (dockerfile: string, file: string, buildArgs: Record<string, string> = {}): Promise<string> => {
    const out = await tempDir('mybuild-cache-out-');
    await buildFiles(root, { Dockerfile: dockerfile }, { outputs: [{ type: 'local', dest: out }], buildArgs, noCache: true });
    return readFileSync(path.join(out, file), 'utf8');
  };

  it('uid, gid and mode set the owner and mode of a new cache directory', async () => {
    const got = await fileOf('FROM busybox\nRUN --mount=type=cache,id=owned,target=/c,uid=1000,gid=1001,mode=0750 stat -c %u:%g:%a /c > /st\n', 'st');
    assert.equal(got, '1000:1001:750\n');
    const dflt = await fileOf('FROM busybox\nRUN --mount=type=cache,id=default-owner,target=/c stat -c %u:%g:%a /c > /st\n', 'st');
    assert.equal(dflt, '0:0:755\n');
  });

  it('sharing=locked: two concurrent builds use the cache one after the other', async () => {
    const df = 'FROM busybox\nARG X\nRUN --mount=type=cache,id=locked,target=/c,sharing=locked sh -c "echo start-$X >> /c/log; sleep 1; echo end-$X >> /c/log; cat /c/log > /log"\n';
    const logs = await Promise.all([fileOf(df, 'log', { X: 'a' }), fileOf(df, 'log', { X: 'b' })]);
    const last = logs.sort((a, b) => a.length - b.length)[1]!.trim().split('\n');
    assert.equal(last.length, 4);
    // start-x end-x start-y end-y: never two starts in a row.
    assert.match(last[0]!, /^start-(a|b)$/);
    assert.equal(last[1], last[0]!.replace('start', 'end'));
    assert.match(last[2]!, /^start-(a|b)$/);
    assert.equal(last[3], last[2]!.replace('start', 'end'));
  });

  it('--no-cache: a mount with uid/gid/mode gets a new directory (both RUNs of that build share it), one without keeps its own (BuildKit keys the first by its mkdir op)', async () => {
    const df = (opts: string) => `FROM busybox\nARG X\nRUN --mount=type=cache,target=/c${opts} touch /c/$X-1\nRUN --mount=type=cache,target=/c${opts} touch /c/$X-2 && ls /c | tr "\\n" " " > /ls\n`;
    const withMode = df(',id=gen,mode=0770');
    assert.equal(await fileOf(withMode, 'ls', { X: 'a' }), 'a-1 a-2 ');
    assert.equal(await fileOf(withMode, 'ls', { X: 'b' }), 'b-1 b-2 ', 'a --no-cache build starts from an empty cache');
    const plain = df(',id=plain');
    assert.equal(await fileOf(plain, 'ls', { X: 'a' }), 'a-1 a-2 ');
    assert.equal(await fileOf(plain, 'ls', { X: 'b' }), 'a-1 a-2 b-1 b-2 ', 'shared across --no-cache builds');
  });

  it('sharing=private: a concurrent user gets a directory of its own', async () => {
    const df = 'FROM busybox\nARG X\nRUN --mount=type=cache,id=private,target=/c,sharing=private sh -c "touch /c/$X; sleep 1; ls /c > /ls"\n';
    const lists = await Promise.all([fileOf(df, 'ls', { X: 'a' }), fileOf(df, 'ls', { X: 'b' })]);
    assert.deepEqual(lists.sort(), ['a\n', 'b\n']);
  });
});
