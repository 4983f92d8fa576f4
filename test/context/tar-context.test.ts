import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { BuildContext } from '../../src/context/context.js';
import { extractContextTar, packContext } from '../../src/context/tar-context.js';
import { BuildError } from '../../src/errors.js';
import { makeTree } from './make-tree.js';

type Ent = Partial<tar.Header> & { name: string; body?: string };

/** A tar stream of the given entries (built with tar-stream, so headers can be anything). */
function tarOf(entries: Ent[]): Readable {
  const pack = tar.pack();
  for (const { body, ...h } of entries) pack.entry(h, body ?? '');
  pack.finalize();
  return Readable.from(pack);
}

describe('extractContextTar', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-tarctx-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('extracts files, dirs, symlinks and hard links with their modes', async () => {
    const dest = path.join(tmp, 'ok');
    const r = await extractContextTar(tarOf([
      { name: './', type: 'directory', mode: 0o755 },
      { name: 'Dockerfile', body: 'FROM x\n', mode: 0o644 },
      { name: 'bin/', type: 'directory', mode: 0o750 },
      { name: 'bin/run.sh', body: '#!/bin/sh\n', mode: 0o755 },
      { name: 'bin/py', type: 'symlink', linkname: '/usr/bin/python3' },
      { name: 'bin/hard', type: 'link', linkname: 'bin/run.sh' },
    ]), dest);
    assert.equal(r.entries, 5);
    assert.equal(await readFile(path.join(dest, 'Dockerfile'), 'utf8'), 'FROM x\n');
    assert.equal((await stat(path.join(dest, 'bin/run.sh'))).mode & 0o777, 0o755);
    assert.equal((await stat(path.join(dest, 'bin'))).mode & 0o777, 0o750);
    assert.equal(await readlink(path.join(dest, 'bin/py')), '/usr/bin/python3', 'a symlink is kept as data');
    assert.equal((await stat(path.join(dest, 'bin/hard'))).ino, (await stat(path.join(dest, 'bin/run.sh'))).ino);
  });

  const malicious: { name: string; entries: Ent[]; want: RegExp }[] = [
    { name: 'parent traversal', entries: [{ name: '../evil', body: 'x' }], want: /"\.\.\/evil": path leaves the context/ },
    { name: 'nested traversal', entries: [{ name: 'a/../../evil', body: 'x' }], want: /leaves the context/ },
    { name: 'absolute path', entries: [{ name: '/tmp/evil', body: 'x' }], want: /absolute path/ },
    { name: 'write through an absolute symlink', entries: [{ name: 'l', type: 'symlink', linkname: '$OUT' }, { name: 'l/evil', body: 'x' }], want: /its parent l is a symlink/ },
    { name: 'write through a relative symlink', entries: [{ name: 'up', type: 'symlink', linkname: '../outside' }, { name: 'up/evil', body: 'x' }], want: /its parent up is a symlink/ },
    { name: 'replace a file by a symlink, then write to it', entries: [{ name: 'f', body: 'x' }, { name: 'f', type: 'symlink', linkname: '$OUT/evil' }, { name: 'f', body: 'pwned' }], want: /^$/ },
    { name: 'hard link to an absolute path', entries: [{ name: 'h', type: 'link', linkname: '$OUT/victim' }], want: /absolute hard link target/ },
    { name: 'hard link out with ..', entries: [{ name: 'h', type: 'link', linkname: '../outside/victim' }], want: /hard link target leaves the context/ },
    { name: 'hard link through a symlink', entries: [{ name: 's', type: 'symlink', linkname: '$OUT' }, { name: 'h', type: 'link', linkname: 's/victim' }], want: /its parent s is a symlink/ },
    { name: 'device node', entries: [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }], want: /unsupported entry type character-device/ },
  ];
  for (const m of malicious) {
    it(`refuses: ${m.name}`, async () => {
      const out = path.join(tmp, 'outside-' + m.name.replace(/\W+/g, '-'));
      await makeTree(out, { victim: 'secret' });
      const dest = path.join(tmp, 'dest-' + m.name.replace(/\W+/g, '-'));
      const entries = m.entries.map((e) => ({ ...e, ...(e.linkname ? { linkname: e.linkname.replace('$OUT', out) } : {}) }));
      const p = extractContextTar(tarOf(entries), dest);
      if (m.want.source === '^$') {
        // Not refused, but contained: the last file replaces the symlink instead of following it.
        await p;
        assert.equal((await lstat(path.join(dest, 'f'))).isFile(), true);
        assert.equal(await readFile(path.join(dest, 'f'), 'utf8'), 'pwned');
      } else {
        await assert.rejects(p, (e: unknown) => e instanceof BuildError && e.code === 'CONTEXT' && m.want.test(e.message));
      }
      // Nothing changed outside the destination.
      assert.deepEqual((await readdir(out)).sort(), ['victim']);
      assert.equal(await readFile(path.join(out, 'victim'), 'utf8'), 'secret');
      assert.deepEqual((await readdir(tmp)).filter((n) => n === 'evil'), []);
    });
  }

  it('a corrupt archive is a CONTEXT error', async () => {
    await assert.rejects(extractContextTar(Readable.from([Buffer.alloc(1024, 7)]), path.join(tmp, 'corrupt')), (e: unknown) => e instanceof BuildError && e.code === 'CONTEXT');
  });
});

describe('packContext', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-pack-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('round-trips through extractContextTar, honouring .dockerignore', async () => {
    const src = path.join(tmp, 'src');
    await makeTree(src, {
      '.dockerignore': '*.log\nnode_modules\n',
      'Dockerfile': 'FROM x\n',
      'a.log': 'noise',
      'node_modules/m.js': '',
      'app/main.js': 'console.log(1)\n',
      'app/link': '->main.js',
      'empty/': '',
    });
    const ctx = await BuildContext.open(src);
    const dest = path.join(tmp, 'dest');
    await extractContextTar(packContext(ctx), dest);
    const got = (await (await BuildContext.open(dest, { ignoreFile: false })).walk()).map((e) => `${e.type}:${e.path}`);
    assert.deepEqual(got, ['file:.dockerignore', 'file:Dockerfile', 'dir:app', 'symlink:app/link', 'file:app/main.js', 'dir:empty']);
    assert.equal(await readFile(path.join(dest, 'app/main.js'), 'utf8'), 'console.log(1)\n');
  });

  it('sends a Unix socket as an empty regular file with its mode (as BuildKit\'s fsutil; testCopySocket)', async () => {
    const src = path.join(tmp, 'sock');
    await makeTree(src, { Dockerfile: 'FROM x\n' });
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(path.join(src, 'socket.sock'), r));
    try {
      await chmod(path.join(src, 'socket.sock'), 0o600);
      const dest = path.join(tmp, 'sock-dest');
      await extractContextTar(packContext(await BuildContext.open(src)), dest);
      const st = await lstat(path.join(dest, 'socket.sock'));
      assert.ok(st.isFile());
      assert.equal(st.size, 0);
      assert.equal(st.mode & 0o777, 0o600);
    } finally {
      server.close();
    }
  });
});
