import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, truncate, utimes, writeFile, readdir, symlink, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BuildContext } from '../../src/context/context.js';
import { matchSources } from '../../src/context/sources.js';
import { hashSources, readChunks, StatCache, type FileReader } from '../../src/context/hash.js';
import { makeTree } from './make-tree.js';

async function digestOf(dir: string, sources: string[], opts: Parameters<typeof hashSources>[2] = {}) {
  const ctx = await BuildContext.open(dir);
  return hashSources(ctx, await matchSources(ctx, sources), opts);
}

/** A reader that counts the files it opens. */
function countingReader(): { reader: FileReader; reads: string[] } {
  const reads: string[] = [];
  return { reads, reader: (p) => (reads.push(p), readChunks(p)) };
}

describe('hashSources', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-hash-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('content changes change the digest; touching does not; another directory gives the same digest', async () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    const tree = { 'src/x.txt': 'hello', 'src/y.txt': 'world', 'src/l': '->x.txt' };
    await makeTree(a, tree);
    await makeTree(b, tree);
    const d1 = await digestOf(a, ['src']);
    assert.match(d1.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal((await digestOf(b, ['src'])).digest, d1.digest, 'same content elsewhere');
    await utimes(path.join(a, 'src/x.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    assert.equal((await digestOf(a, ['src'])).digest, d1.digest, 'touch keeps the digest');
    await writeFile(path.join(a, 'src/x.txt'), 'hellO');
    const d2 = await digestOf(a, ['src']);
    assert.notEqual(d2.digest, d1.digest, 'content change');
    assert.deepEqual(d2.files.map((f) => f.path), ['src', 'src/l', 'src/x.txt', 'src/y.txt']);
  });

  it('mode, symlink target, renames and new files change the digest', async () => {
    const dir = path.join(tmp, 'm');
    await makeTree(dir, { 'd/f': 'x', 'd/l': '->f' });
    const base = (await digestOf(dir, ['d'])).digest;
    await chmod(path.join(dir, 'd/f'), 0o755);
    const moded = (await digestOf(dir, ['d'])).digest;
    assert.notEqual(moded, base);
    await unlink(path.join(dir, 'd/l'));
    await symlink('g', path.join(dir, 'd/l'));
    const relinked = (await digestOf(dir, ['d'])).digest;
    assert.notEqual(relinked, moded);
    await writeFile(path.join(dir, 'd/new'), '');
    assert.notEqual((await digestOf(dir, ['d'])).digest, relinked);
  });

  it('the stat cache avoids re-reading unchanged files, across reopen, and notices changes', async () => {
    const dir = path.join(tmp, 'cache');
    const cacheDir = path.join(tmp, 'cache-store');
    await makeTree(dir, { 'f1': '1', 'f2': '2', 'sub/f3': '3' });
    const c1 = countingReader();
    let cache = await StatCache.open(cacheDir, dir);
    const r1 = await digestOf(dir, ['.'], { statCache: cache, reader: c1.reader });
    assert.equal(c1.reads.length, 3);
    assert.equal(r1.filesRead, 3);
    await cache.save();
    assert.equal((await readdir(cacheDir)).filter((f) => f.endsWith('.tmp')).length, 0, 'no temp file left');

    cache = await StatCache.open(cacheDir, dir);
    assert.equal(cache.size, 3);
    const c2 = countingReader();
    const r2 = await digestOf(dir, ['.'], { statCache: cache, reader: c2.reader });
    assert.equal(c2.reads.length, 0, 'nothing read on the second build');
    assert.equal(r2.cacheHits, 3);
    assert.equal(r2.digest, r1.digest);

    await writeFile(path.join(dir, 'f2'), '22');
    const c3 = countingReader();
    const r3 = await digestOf(dir, ['.'], { statCache: cache, reader: c3.reader });
    assert.deepEqual(c3.reads.map((p) => path.basename(p)), ['f2']);
    assert.notEqual(r3.digest, r1.digest);
  });

  it('a corrupt cache file is ignored', async () => {
    const dir = path.join(tmp, 'corrupt');
    const cacheDir = path.join(tmp, 'corrupt-store');
    await makeTree(dir, { f: 'x' });
    const cache = await StatCache.open(cacheDir, dir);
    await makeTree(cacheDir, { [path.basename(cache.file)]: '{not json' });
    const again = await StatCache.open(cacheDir, dir);
    assert.equal(again.size, 0);
  });

  it('hashes a 50 MB file in constant memory', async () => {
    const dir = path.join(tmp, 'big');
    await makeTree(dir, { big: '' });
    await truncate(path.join(dir, 'big'), 50 * 1024 * 1024);
    let maxChunk = 0;
    let peak = 0;
    const before = process.memoryUsage().rss;
    const reader: FileReader = async function* (p) {
      for await (const c of readChunks(p)) {
        maxChunk = Math.max(maxChunk, c.byteLength);
        peak = Math.max(peak, process.memoryUsage().rss);
        yield c;
      }
    };
    const r = await digestOf(dir, ['big'], { reader });
    // sha256 of 50 MiB of zeros (`head -c 52428800 /dev/zero | sha256sum`).
    assert.equal(r.files[0]!.digest, 'sha256:8565a714dca840f8652c5bae9249ab05f5fb5a4f9f13fbe23304b10f68252da2');
    assert.ok(maxChunk <= 1 << 20, `chunks are at most 1 MiB (got ${maxChunk})`);
    assert.ok(peak - before < 30 * 1024 * 1024, `memory grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);
  });
});
