/**
 * Untagged images (issue: `id=$(mybuild build -q .)` then `inspect $id`, `tag $id`, `run $id`
 * said "No such image"): kept as `<none>`, found by full ID and unique prefix, removed by
 * `rmi ID` and `prune`; a tag that moves leaves its old image `<none>`, as Docker does.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

describe('untagged images', () => {
  let tmp: string;
  let root: string;
  let n = 0;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mybuild-untagged-'));
    root = path.join(tmp, 'root');
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const cli = (...args: string[]) => runCli(['--root', root, ...args]);
  /** Builds a FROM scratch context (no RUN: needs no root) whose file differs per call; returns the ID. */
  const build = async (...extra: string[]): Promise<string> => {
    const ctx = path.join(tmp, `ctx${++n}`);
    rmSync(ctx, { recursive: true, force: true });
    mkdirSync(ctx, { recursive: true });
    writeFileSync(path.join(ctx, 'f'), `content ${n}\n`);
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY f /f\n');
    const r = await cli('build', '-q', ...extra, ctx);
    assert.equal(r.code, 0, r.err);
    return r.out.trim();
  };
  const rows = async () => (await cli('images')).out.trim().split('\n').slice(1).map((l) => l.split(/\s{3,}/).slice(0, 3));

  it('a build without -t is listed as <none>, inspectable and taggable by ID and by prefix', async () => {
    const id = await build();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(await rows(), [['<none>', '<none>', id.slice(7, 19)]]);
    for (const ref of [id, id.slice(7), id.slice(7, 19)]) {
      const r = await cli('inspect', ref);
      assert.equal(r.code, 0, r.err);
      const [doc] = JSON.parse(r.out) as { Id: string; RepoTags: string[] }[];
      assert.equal(doc.Id, id);
      assert.deepEqual(doc.RepoTags, []);
    }
    assert.equal((await cli('tag', id.slice(7, 19), 'app:1')).code, 0);
    assert.deepEqual(await rows(), [['app', '1', id.slice(7, 19)]], 'a tagged image is no longer <none>');
  });

  it('a tag that moves to a new image leaves the old one <none>; rmi ID and prune remove untagged images', async () => {
    const first = await build('-t', 'moving:1');
    const second = await build('-t', 'moving:1');
    assert.notEqual(first, second);
    const listed = await rows();
    assert.ok(listed.some(([r, t, i]) => r === '<none>' && t === '<none>' && i === first.slice(7, 19)), JSON.stringify(listed));
    assert.ok(listed.some(([r, t, i]) => r === 'moving' && t === '1' && i === second.slice(7, 19)));
    const rmi = await cli('rmi', first.slice(7, 19));
    assert.equal(rmi.code, 0, rmi.err);
    assert.equal(rmi.out, `Deleted: ${first}\n`);
    assert.equal((await cli('inspect', first)).code, 1);
    const third = await build();
    assert.equal((await cli('prune')).code, 0);
    assert.equal((await cli('inspect', third)).code, 1, 'prune removed the untagged image');
    assert.equal((await cli('inspect', second)).code, 0, 'prune kept the tagged one');
    const check = await cli('system', 'check');
    assert.equal(check.code, 0, check.out + check.err);
  });

  it('--output type=local keeps no image', async () => {
    const before = (await rows()).length;
    await build('--output', `type=local,dest=${path.join(tmp, 'out')}`);
    assert.equal((await rows()).length, before);
  });
});
