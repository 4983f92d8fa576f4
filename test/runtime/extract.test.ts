import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BuildError } from '../../src/errors.js';
import { applyLayer } from '../../src/runtime/extract.js';
import { readXattrs } from '../../src/runtime/xattr.js';
import { tarStream, type TarItem } from './tar-helpers.js';

const notRoot = process.getuid?.() === 0 ? false : 'needs root (chown, mknod, trusted xattrs)';

/** Every path under `dir` with its type, size and content digest-ish, outside `except`. */
async function snapshotTree(dir: string, except: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const n of (await readdir(d)).sort()) {
      const p = path.join(d, n);
      if (p === except) continue;
      const st = await lstat(p);
      out.push(`${path.relative(dir, p)} ${st.mode} ${st.size} ${st.nlink} ${st.mtimeMs}`);
      if (st.isDirectory()) await walk(p);
    }
  }
  await walk(dir);
  return out;
}

describe('applyLayer', { skip: notRoot }, () => {
  let outer: string;
  let outside: string;
  before(async () => {
    outer = await mkdtemp(path.join(os.tmpdir(), 'mybuild-extract-'));
    outside = path.join(outer, 'outside');
    await mkdir(outside);
    await writeFile(path.join(outside, 'secret'), 'host secret');
  });
  after(async () => {
    if (outer) await rm(outer, { recursive: true, force: true });
  });

  let n = 0;
  /** Applies `items` to a fresh dest under `outer`; asserts nothing else under `outer` changed. */
  async function apply(items: TarItem[], opts: Parameters<typeof applyLayer>[2] = {}, dest?: string) {
    dest ??= path.join(outer, `dest${n++}`);
    await mkdir(dest, { recursive: true });
    const before = await snapshotTree(outer, dest);
    let result;
    let error: unknown;
    try {
      result = await applyLayer(await tarStream(items), dest, opts);
    } catch (err) {
      error = err;
    }
    assert.deepEqual(await snapshotTree(outer, dest), before, 'nothing outside dest changed');
    assert.equal(await readFile(path.join(outside, 'secret'), 'utf8'), 'host secret');
    return { dest, result, error };
  }

  it('applies files, dirs, symlinks, hardlinks, fifos with modes, owners, mtimes and xattrs', async () => {
    const t = new Date('2020-01-02T03:04:05Z');
    const { dest, result, error } = await apply([
      { name: 'usr/', type: 'directory', mode: 0o750, uid: 7, gid: 8, mtime: t },
      { name: 'usr/bin/', type: 'directory' },
      { name: 'usr/bin/app', content: 'binary', mode: 0o4755, uid: 1000, gid: 1001, mtime: t, pax: { 'SCHILY.xattr.user.note': 'hello' } },
      { name: 'usr/bin/alias', type: 'link', linkname: 'usr/bin/app' },
      { name: 'usr/bin/sym', type: 'symlink', linkname: '/usr/bin/app', uid: 5, gid: 6 },
      { name: 'run/', type: 'directory' },
      { name: 'run/pipe', type: 'fifo', mode: 0o600 },
      { name: './dot/file', content: 'x' },
    ]);
    assert.equal(error, undefined);
    assert.equal(result!.entries, 8);
    const app = await stat(path.join(dest, 'usr/bin/app'));
    assert.equal(app.mode & 0o7777, 0o4755);
    assert.equal(app.uid, 1000);
    assert.equal(app.gid, 1001);
    assert.equal(app.mtimeMs, t.getTime());
    assert.equal(app.nlink, 2);
    assert.equal((await stat(path.join(dest, 'usr/bin/alias'))).ino, app.ino);
    assert.equal(await readlink(path.join(dest, 'usr/bin/sym')), '/usr/bin/app');
    assert.equal((await lstat(path.join(dest, 'usr/bin/sym'))).uid, 5);
    const usr = await stat(path.join(dest, 'usr'));
    assert.equal(usr.mode & 0o7777, 0o750);
    assert.equal(usr.mtimeMs, t.getTime(), 'directory mtimes are set after their children');
    assert.ok((await lstat(path.join(dest, 'run/pipe'))).isFIFO());
    assert.equal(await readFile(path.join(dest, 'dot/file'), 'utf8'), 'x');
    assert.deepEqual(await readXattrs(path.join(dest, 'usr/bin/app')), { 'user.note': Buffer.from('hello') });
  });

  it('owner: every entry takes it (setuid kept, links lchowned); implied directories stay root', async () => {
    const { dest, error } = await apply([
      { name: 'd/', type: 'directory', uid: 7, gid: 8 },
      { name: 'd/app', content: 'x', mode: 0o4755, uid: 1000, gid: 1001 },
      { name: 'd/sym', type: 'symlink', linkname: 'app', uid: 5, gid: 6 },
      { name: 'implied/deep/f', content: 'y', uid: 9, gid: 9 },
    ], { owner: { uid: 100, gid: 200 } });
    assert.equal(error, undefined);
    for (const rel of ['d', 'd/app', 'd/sym', 'implied/deep/f']) {
      const st = await lstat(path.join(dest, rel));
      assert.deepEqual([st.uid, st.gid], [100, 200], rel);
    }
    assert.equal((await stat(path.join(dest, 'd/app'))).mode & 0o7777, 0o4755);
    for (const rel of ['implied', 'implied/deep']) assert.equal((await stat(path.join(dest, rel))).uid, 0, rel);
  });

  it('clamps mtimes to sourceDateEpoch', async () => {
    const { dest } = await apply([{ name: 'f', content: 'x', mtime: new Date('2030-01-01T00:00:00Z') }], { sourceDateEpoch: 1_600_000_000 });
    assert.equal((await stat(path.join(dest, 'f'))).mtimeMs, 1_600_000_000_000);
  });

  it('refuses names that climb out with ..', async () => {
    for (const name of ['../escape', 'a/../../escape', '/../escape/x']) {
      const { error } = await apply([{ name, content: 'pwned' }]);
      assert.ok(error instanceof BuildError, name);
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(error.message, /climbs out/);
    }
    assert.equal(existsSync(path.join(outer, 'escape')), false);
  });

  it('strips leading / from absolute names', async () => {
    const { dest, error } = await apply([{ name: `${outside}/new`, content: 'inside' }]);
    assert.equal(error, undefined);
    assert.equal(await readFile(path.join(dest, outside, 'new'), 'utf8'), 'inside');
    assert.equal(existsSync(path.join(outside, 'new')), false);
  });

  it('resolves absolute and relative symlinks in parents inside the root', async () => {
    const { dest, error } = await apply([
      { name: 'abs', type: 'symlink', linkname: outside },
      { name: 'abs/pwned', content: 'p1' },
      { name: 'rel', type: 'symlink', linkname: '../../../../../../../..' + outside },
      { name: 'rel/pwned2', content: 'p2' },
      { name: 'loop', type: 'symlink', linkname: 'loop/x' },
    ]);
    assert.equal(error, undefined);
    assert.equal(await readFile(path.join(dest, outside, 'pwned'), 'utf8'), 'p1');
    assert.equal(await readFile(path.join(dest, outside, 'pwned2'), 'utf8'), 'p2');
    assert.deepEqual((await readdir(outside)).sort(), ['secret']);
  });

  it('a directory replaced by a symlink later in the layer: entries below it resolve through the new link, inside the root', async () => {
    const { dest, error } = await apply([
      { name: 'd', type: 'directory' },
      { name: 'd/a', content: 'first' },
      { name: 'd', type: 'symlink', linkname: outside },
      { name: 'd/b', content: 'through the link' },
      { name: 'e/f', content: 'parent made on demand' },
      { name: 'e', type: 'symlink', linkname: 'elsewhere' },
      { name: 'e/g', content: 'g' },
    ]);
    assert.equal(error, undefined);
    assert.ok((await lstat(path.join(dest, 'd'))).isSymbolicLink());
    assert.equal(await readFile(path.join(dest, outside, 'b'), 'utf8'), 'through the link');
    assert.equal(existsSync(path.join(dest, outside, 'a')), false);
    assert.equal(await readFile(path.join(dest, 'elsewhere', 'g'), 'utf8'), 'g');
    assert.deepEqual((await readdir(outside)).sort(), ['secret']);
  });

  it('files above the small-file size stream; both sizes keep content and mode', async () => {
    const big = 'x'.repeat(200 * 1024 + 7);
    const { dest, error } = await apply([
      { name: 'small', content: 'tiny', mode: 0o640 },
      { name: 'big', content: big, mode: 0o755 },
      { name: 'empty', content: '' },
    ]);
    assert.equal(error, undefined);
    assert.equal(await readFile(path.join(dest, 'small'), 'utf8'), 'tiny');
    assert.equal(await readFile(path.join(dest, 'big'), 'utf8'), big);
    assert.equal(await readFile(path.join(dest, 'empty'), 'utf8'), '');
    assert.equal((await stat(path.join(dest, 'small'))).mode & 0o777, 0o640);
    assert.equal((await stat(path.join(dest, 'big'))).mode & 0o777, 0o755);
  });

  it('replaces a symlink instead of writing through it', async () => {
    const { dest, error } = await apply([
      { name: 'victim', type: 'symlink', linkname: path.join(outside, 'secret') },
      { name: 'victim', content: 'overwritten' },
    ]);
    assert.equal(error, undefined);
    assert.equal(await readFile(path.join(dest, 'victim'), 'utf8'), 'overwritten');
    assert.ok((await lstat(path.join(dest, 'victim'))).isFile());
  });

  it('refuses hardlinks out of the root and resolves their targets inside it', async () => {
    const out1 = await apply([{ name: 'hl', type: 'link', linkname: '../../outside/secret' }]);
    assert.ok(out1.error instanceof BuildError && /climbs out/.test(out1.error.message));
    // Through a symlink to the host dir: the target resolves to <dest>/<outside>/secret, which is absent.
    const out2 = await apply([
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'hl', type: 'link', linkname: 'evil/secret' },
    ]);
    assert.ok(out2.error, 'linking to a missing in-root target fails');
    assert.equal((await stat(path.join(outside, 'secret'))).nlink, 1, 'the host file gained no link');
  });

  it('skips device nodes unless allowed', async () => {
    const dev = { name: 'dev/sda', type: 'block-device' as const, devmajor: 8, devminor: 0, mode: 0o660 };
    const { dest, result } = await apply([dev, { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 }]);
    assert.equal(existsSync(path.join(dest, 'dev/sda')), false);
    assert.equal(existsSync(path.join(dest, 'dev/null')), false);
    assert.equal(result!.skipped.length, 2);
    assert.match(result!.skipped[0].reason, /not allowed/);
    const allowed = await apply([dev], { allowDevices: true });
    const st = await lstat(path.join(allowed.dest, 'dev/sda'));
    assert.ok(st.isBlockDevice());
    assert.equal(st.rdev, (8 << 8) | 0);
  });

  it('applies whiteouts to a plain tree: deletions and opaque dirs keep this layer’s files', async () => {
    const { dest } = await apply([
      { name: 'a/', type: 'directory' },
      { name: 'a/gone', content: '1' },
      { name: 'a/stay', content: '2' },
      { name: 'o/', type: 'directory' },
      { name: 'o/old', content: '3' },
      { name: 'o/sub/', type: 'directory' },
      { name: 'o/sub/old', content: '4' },
    ]);
    const r = await apply(
      [
        { name: 'a/.wh.gone' },
        { name: 'o/', type: 'directory' },
        { name: 'o/new', content: '5' },
        { name: 'o/.wh..wh..opq' },
        { name: '.wh.nonexistent' },
      ],
      {},
      dest,
    );
    assert.equal(r.error, undefined);
    assert.equal(r.result!.whiteouts, 3);
    assert.deepEqual((await readdir(path.join(dest, 'a'))).sort(), ['stay']);
    assert.deepEqual((await readdir(path.join(dest, 'o'))).sort(), ['new']);
  });

  it('writes overlay whiteouts: 0/0 char devices and the opaque xattr', async () => {
    const { dest, error } = await apply([{ name: 'etc/.wh.passwd' }, { name: 'var/', type: 'directory' }, { name: 'var/.wh..wh..opq' }], { whiteouts: 'overlay' });
    assert.equal(error, undefined);
    const wh = await lstat(path.join(dest, 'etc/passwd'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.deepEqual(await readXattrs(path.join(dest, 'var')), { 'trusted.overlay.opaque': Buffer.from('y') });
    assert.equal(existsSync(path.join(dest, 'var/.wh..wh..opq')), false);
  });

  it('refuses a whiteout that climbs out', async () => {
    const { error } = await apply([{ name: '../.wh.outside' }]);
    assert.ok(error instanceof BuildError);
    assert.ok(existsSync(outside));
  });
});
