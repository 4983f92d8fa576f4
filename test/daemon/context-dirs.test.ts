/**
 * Warm context directories: a second sync of the same context rewrites nothing (inodes kept),
 * a changed file is rewritten, a removed one disappears, an unsafe tar is still refused, and a
 * file written in the same second as the sync (racy) is never trusted.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, utimes, writeFile, access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { ContextDirs } from '../../src/daemon/context-dirs.js';
import { BuildContext } from '../../src/context/context.js';
import { packContext } from '../../src/context/tar-context.js';

describe('ContextDirs', () => {
  let dir: string;
  let ctx: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-ctxdirs-'));
    ctx = path.join(dir, 'ctx');
    await mkdir(path.join(ctx, 'sub'), { recursive: true });
    for (const f of ['a.txt', 'b.txt', 'sub/c.txt']) {
      await writeFile(path.join(ctx, f), `content of ${f}\n`);
      await utimes(path.join(ctx, f), 1700000000, 1700000000); // long ago: not racy
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const pack = async () => packContext(await BuildContext.open(ctx));

  it('syncs a context: unchanged files are skipped (same inode), changed rewritten, removed deleted', async () => {
    const pool = new ContextDirs(path.join(dir, 'pool'), 2);
    const a = await pool.acquire('k');
    const r1 = await a.sync(await pack());
    assert.equal(r1.skipped, 0);
    const ino = (await stat(path.join(a.dir, 'a.txt'))).ino;
    await a.release();

    await writeFile(path.join(ctx, 'b.txt'), 'changed!!!!!!!!!!!\n');
    await utimes(path.join(ctx, 'b.txt'), 1700000001, 1700000001);
    await rm(path.join(ctx, 'sub/c.txt'));
    const b = await pool.acquire('k');
    assert.equal(b.dir, a.dir, 'the same hint gets the same directory');
    const r2 = await b.sync(await pack());
    assert.equal(r2.skipped, 1, 'a.txt was not rewritten');
    assert.equal((await stat(path.join(b.dir, 'a.txt'))).ino, ino);
    assert.equal(await readFile(path.join(b.dir, 'b.txt'), 'utf8'), 'changed!!!!!!!!!!!\n');
    await assert.rejects(access(path.join(b.dir, 'sub/c.txt')));
    assert.equal(r2.removed, 1);

    const busy = await pool.acquire('k');
    const other = await pool.acquire('k');
    assert.notEqual(other.dir, busy.dir, 'a busy directory is never lent twice');
    const third = await pool.acquire('k');
    assert.equal(third.warm, false, 'beyond max: a temporary directory');
    await third.sync(await pack());
    await third.release();
    await assert.rejects(access(third.dir), 'the temporary directory is removed on release');
    await busy.release();
    await other.release();
  });

  it('a file whose mtime second had not ended when it was written is rewritten (same size, same second)', async () => {
    const pool = new ContextDirs(path.join(dir, 'pool-racy'), 1);
    const now = Math.floor(Date.now() / 1000);
    await writeFile(path.join(ctx, 'a.txt'), 'AAAA\n');
    await utimes(path.join(ctx, 'a.txt'), now, now);
    const x = await pool.acquire(undefined);
    await x.sync(await pack());
    await x.release();
    await writeFile(path.join(ctx, 'a.txt'), 'BBBB\n');
    await utimes(path.join(ctx, 'a.txt'), now, now);
    const y = await pool.acquire(undefined);
    await y.sync(await pack());
    assert.equal(await readFile(path.join(y.dir, 'a.txt'), 'utf8'), 'BBBB\n');
    await y.release();
  });

  it('an unsafe entry is refused and nothing is written outside', async () => {
    const pool = new ContextDirs(path.join(dir, 'pool-bad'), 1);
    const p = tar.pack();
    p.entry({ name: '../escape.txt', type: 'file', size: 3 }, 'bad');
    p.finalize();
    const x = await pool.acquire(undefined);
    await assert.rejects(x.sync(Readable.from(p)), /escape|outside|\.\./);
    await assert.rejects(access(path.join(dir, 'pool-bad', 'escape.txt')));
    await x.release();
  });
});
