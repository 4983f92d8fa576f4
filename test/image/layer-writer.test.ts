import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { writeLayer, compareLayerPaths, sortLayerEntries } from '../../src/image/layer-writer.js';
import { openLayer } from '../../src/image/layer-reader.js';
import type { LayerEntry } from '../../src/image/layer-entry.js';
import { MediaTypes } from '../../src/oci/types.js';
import { BuildError } from '../../src/errors.js';
import { DirStore } from './dir-store.js';

const T = Date.UTC(2024, 0, 2, 3, 4, 5);

function file(p: string, content: string, extra: Partial<LayerEntry> = {}): LayerEntry {
  return { path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, size: Buffer.byteLength(content), mtimeMs: T, open: () => Readable.from([Buffer.from(content)]), ...extra };
}
function dir(p: string, extra: Partial<LayerEntry> = {}): LayerEntry {
  return { path: p, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeMs: T, ...extra };
}

function sample(): LayerEntry[] {
  return [
    file('a-b', 'dash'),
    file('a/b', 'hello\n'),
    dir('a'),
    { path: 'a/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtimeMs: T, linkname: '../a-b' },
    file('bin/su', 'setuid', { mode: 0o4755, uid: 1000, gid: 1001 }),
    dir('bin', { mode: 0o1777 }),
  ];
}

interface ReadEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string | null;
  uname: string;
  body: string;
  pax: Record<string, string> | null;
}

async function readTar(stream: Readable): Promise<ReadEntry[]> {
  const ex = tar.extract();
  const out: ReadEntry[] = [];
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      const h = e.header as tar.Header & { pax?: Record<string, string> | null };
      out.push({ name: h.name, type: String(h.type), mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: (h.mtime?.getTime() ?? 0) / 1000, linkname: h.linkname ?? null, uname: h.uname ?? '', body: Buffer.concat(chunks).toString(), pax: h.pax ?? null });
    }
  })();
  await Promise.all([pipeline(stream, ex), done]);
  return out;
}

describe('layer writer', () => {
  let store: DirStore;
  let store2: DirStore;
  before(async () => {
    store = await DirStore.create();
    store2 = await DirStore.create();
  });
  after(async () => {
    await store.cleanup();
    await store2.cleanup();
  });

  it('sorts paths component-wise with "/" first', () => {
    const got = ['ab', 'a-b', 'a/z', 'a', 'a/b', 'a/b/c', 'b'].sort(compareLayerPaths);
    assert.deepEqual(got, ['a', 'a/b', 'a/b/c', 'a/z', 'a-b', 'ab', 'b']);
  });

  it('is deterministic: same entries and epoch give the same digest in two stores', async () => {
    const r1 = await writeLayer(sample(), store, { sourceDateEpoch: 1000 });
    const r2 = await writeLayer(sample().reverse(), store2, { sourceDateEpoch: 1000 });
    assert.equal(r1.descriptor.digest, r2.descriptor.digest);
    assert.equal(r1.diffId, r2.diffId);
    assert.equal(r1.descriptor.mediaType, MediaTypes.OCI_LAYER_GZIP);
    const r3 = await writeLayer(sample(), store, { sourceDateEpoch: 1001 });
    assert.notEqual(r3.diffId, r1.diffId);
  });

  it('writes a tar that tar-stream reads back: order, modes, owners, clamped mtimes, links', async () => {
    const epoch = Math.floor(T / 1000) - 100;
    const entries = [...sample(), file('new', 'old file', { mtimeMs: (epoch - 50) * 1000 })];
    const r = await writeLayer(entries, store, { sourceDateEpoch: epoch });
    const got = await readTar(await openLayer(store, r.descriptor));
    assert.deepEqual(
      got.map((e) => e.name),
      ['a/', 'a/b', 'a/link', 'a-b', 'bin/', 'bin/su', 'new'],
    );
    const by = new Map(got.map((e) => [e.name, e]));
    assert.equal(by.get('a/b')!.body, 'hello\n');
    assert.equal(by.get('a/link')!.type, 'symlink');
    assert.equal(by.get('a/link')!.linkname, '../a-b');
    assert.equal(by.get('bin/')!.type, 'directory');
    assert.equal(by.get('bin/')!.mode, 0o1777);
    assert.equal(by.get('bin/su')!.mode, 0o4755);
    assert.equal(by.get('bin/su')!.uid, 1000);
    assert.equal(by.get('bin/su')!.gid, 1001);
    assert.equal(by.get('bin/su')!.uname, '');
    assert.equal(by.get('a/b')!.mtime, epoch);
    assert.equal(by.get('new')!.mtime, epoch - 50);
    // diffId is the sha256 of what openLayer returns
    const h = createHash('sha256');
    let n = 0;
    for await (const c of await openLayer(store, r.descriptor)) {
      h.update(c as Buffer);
      n += (c as Buffer).length;
    }
    assert.equal(`sha256:${h.digest('hex')}`, r.diffId);
    assert.equal(n, r.uncompressedSize);
  });

  it('writes PAX records for long and non-ASCII names, long link targets, big uids and binary xattrs', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x80, 0x00, 0x00]);
    const r = await writeLayer(
      [
        file(long, 'long'),
        file('ünïcode', 'u'),
        file('caps', 'x', { xattrs: { 'security.capability': cap, 'user.note': Buffer.from('hi') }, uid: 3_000_000 }),
        { path: 'ln', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtimeMs: T, linkname: `/${'t'.repeat(150)}` },
      ],
      store,
      { compression: 'none' },
    );
    assert.equal(r.descriptor.mediaType, MediaTypes.OCI_LAYER);
    const got = await readTar(await openLayer(store, r.descriptor));
    assert.deepEqual(got.map((e) => e.name).sort(), ['caps', long, 'ln', 'ünïcode'].sort());
    const by = new Map(got.map((e) => [e.name, e]));
    assert.equal(by.get(long)!.body, 'long');
    assert.equal(by.get('ln')!.linkname, `/${'t'.repeat(150)}`);
    assert.equal(by.get('caps')!.pax?.uid, '3000000'); // tar-stream leaves PAX uid to the caller
    assert.equal(by.get('caps')!.pax?.['SCHILY.xattr.user.note'], 'hi');
    // GNU tar agrees, and keeps the binary xattr byte for byte.
    const tarFile = path.join(store.root, 'layer.tar');
    await pipeline(await openLayer(store, r.descriptor), createWriteStream(tarFile));
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', tarFile], { encoding: 'utf8' });
    assert.match(listing, new RegExp(`${'f'.repeat(120)}`));
    assert.match(listing, /3000000\/0/);
    const xdir = await fs.mkdtemp(path.join(os.tmpdir(), 'mybuild-x-'));
    try {
      const res = spawnSync('tar', ['--xattrs', "--xattrs-include=*", '-xf', tarFile, '-C', xdir, 'caps']);
      if (res.status === 0) {
        const g = spawnSync('getfattr', ['-n', 'user.note', '--only-values', path.join(xdir, 'caps')], { encoding: 'utf8' });
        if (g.status === 0) assert.equal(g.stdout, 'hi');
      }
    } finally {
      await fs.rm(xdir, { recursive: true, force: true });
    }
    // The raw PAX record holds the exact binary value.
    const raw = await fs.readFile(tarFile);
    const rec = Buffer.concat([Buffer.from(' SCHILY.xattr.security.capability='), cap, Buffer.from('\n')]);
    assert.ok(raw.includes(rec), 'binary xattr record present');
  });

  it('uses the USTAR prefix field (no PAX) for long ASCII names that split at a slash', async () => {
    const mid = `${'p'.repeat(60)}/${'q'.repeat(90)}`;
    const r = await writeLayer([file(mid, 'x')], store, { compression: 'none' });
    const raw = await fs.readFile(store.blobPath(r.descriptor.digest));
    assert.equal(raw.includes(Buffer.from('PaxHeaders')), false);
    assert.equal(raw.subarray(345, 345 + 60).toString(), 'p'.repeat(60));
    const got = await readTar(await openLayer(store, r.descriptor));
    assert.deepEqual(got.map((e) => e.name), [mid]);
  });

  it('keeps hard links and points them at the entry that comes first', async () => {
    const r = await writeLayer(
      [file('z/orig', 'same bytes'), { path: 'a/link', type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeMs: T, linkname: 'z/orig' }],
      store,
      { compression: 'none' },
    );
    const got = await readTar(await openLayer(store, r.descriptor));
    assert.deepEqual(
      got.map((e) => [e.name, e.type, e.linkname, e.body]),
      [
        ['a/link', 'file', null, 'same bytes'],
        ['z/orig', 'link', 'a/link', ''],
      ],
    );
  });

  it('writes a gzip header without name or mtime (mtime 0, OS 3) and accepts async iterables', async () => {
    async function* gen(): AsyncGenerator<LayerEntry> {
      yield* sample();
    }
    const r = await writeLayer(gen(), store, { sourceDateEpoch: 1000 });
    const same = await writeLayer(sample(), store, { sourceDateEpoch: 1000 });
    assert.equal(r.descriptor.digest, same.descriptor.digest);
    const raw = await fs.readFile(store.blobPath(r.descriptor.digest));
    assert.deepEqual([...raw.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  });

  it('fails reading a layer whose blob was corrupted', async () => {
    const r = await writeLayer(sample(), store2, { compression: 'none' });
    const p = store2.blobPath(r.descriptor.digest);
    const raw = await fs.readFile(p);
    raw[raw.indexOf('hello')] ^= 1; // content, not a header: only the digest check can notice
    await fs.writeFile(p, raw);
    await assert.rejects(readTar(await openLayer(store2, r.descriptor)), (e: unknown) => e instanceof BuildError && e.code === 'DIGEST_MISMATCH');
    await store2.delete(r.descriptor.digest);
  });

  it('groups three hard links on the first path', async () => {
    const link = (p: string, to: string): LayerEntry => ({ path: p, type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeMs: T, linkname: to });
    const sorted = sortLayerEntries([link('m', 'z'), file('z', 'data'), link('a', 'm')]);
    assert.deepEqual(
      sorted.map((e) => [e.path, e.type, e.linkname]),
      [
        ['a', 'file', undefined],
        ['m', 'hardlink', 'a'],
        ['z', 'hardlink', 'a'],
      ],
    );
    assert.throws(() => sortLayerEntries([link('a', 'missing')]), /points to "missing", which is not in the layer/);
  });

  it('writes devices and fifos', async () => {
    const r = await writeLayer(
      [
        { path: 'dev/null', type: 'character-device', mode: 0o666, uid: 0, gid: 0, size: 0, mtimeMs: T, devmajor: 1, devminor: 3 },
        { path: 'dev/fifo', type: 'fifo', mode: 0o600, uid: 0, gid: 0, size: 0, mtimeMs: T },
      ],
      store,
      { compression: 'none' },
    );
    const tarFile = path.join(store.root, 'dev.tar');
    await pipeline(await openLayer(store, r.descriptor), createWriteStream(tarFile));
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', tarFile], { encoding: 'utf8' });
    assert.match(listing, /^crw-rw-rw- 0\/0\s+1,\s*3 .* dev\/null$/m);
    assert.match(listing, /^prw------- 0\/0 .* dev\/fifo$/m);
  });

  it('writes and reads back zstd layers', async () => {
    const r = await writeLayer(sample(), store, { compression: 'zstd', sourceDateEpoch: 0 });
    const again = await writeLayer(sample(), store2, { compression: 'zstd', sourceDateEpoch: 0 });
    assert.equal(r.descriptor.mediaType, MediaTypes.OCI_LAYER_ZSTD);
    assert.equal(r.descriptor.digest, again.descriptor.digest);
    const gz = await writeLayer(sample(), store, { compression: 'gzip', sourceDateEpoch: 0 });
    assert.equal(r.diffId, gz.diffId, 'same tar whatever the compression');
    const got = await readTar(await openLayer(store, r.descriptor));
    assert.equal(got.find((e) => e.name === 'a/b')!.body, 'hello\n');
  });

  it('streams several MB through zstd both ways (backpressure through the child process)', async () => {
    const data = Buffer.alloc(8 << 20);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    const r = await writeLayer([file('blob', '', { size: data.length, open: () => Readable.from([data.subarray(0, 3 << 20), data.subarray(3 << 20)]) })], store, { compression: 'zstd' });
    const h = createHash('sha256');
    const ex = tar.extract();
    const done = (async () => {
      for await (const e of ex) for await (const c of e) h.update(c as Buffer);
    })();
    await Promise.all([pipeline(await openLayer(store, r.descriptor), ex), done]);
    assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'));
  });

  it('fails clearly when a file changes size while read', async () => {
    const tmp = path.join(store.root, 'growing');
    await fs.writeFile(tmp, 'twelve bytes');
    await assert.rejects(
      writeLayer([{ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, mtimeMs: T, source: tmp }], store),
      (e: unknown) => e instanceof BuildError && e.code === 'IO' && /"f" changed size while it was being read: expected 5 bytes/.test(e.message),
    );
    await assert.rejects(
      writeLayer([{ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 50, mtimeMs: T, source: tmp }], store),
      (e: unknown) => e instanceof BuildError && /expected 50 bytes, read only 12/.test(e.message),
    );
  });

  it('reports a store failure instead of hanging when the store stops reading', { timeout: 20_000 }, async () => {
    const failing = Object.create(store) as DirStore;
    failing.write = async () => {
      throw new BuildError('IO', 'no space left on device');
    };
    const data = Buffer.alloc(4 << 20, 7);
    await assert.rejects(
      writeLayer([file('big', '', { size: data.length, open: () => Readable.from([data]) })], failing, { compression: 'none' }),
      /no space left on device/,
    );
  });

  it('rejects duplicate and invalid paths', () => {
    assert.throws(() => sortLayerEntries([file('a', 'x'), file('a', 'y')]), /duplicate layer path "a"/);
    assert.throws(() => sortLayerEntries([file('../etc/passwd', 'x')]), /invalid layer path/);
  });

  it('streams a 100+ MB file with small memory growth', async () => {
    const big = path.join(store.root, 'big');
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE(i * 2654435761 >>> 0, i);
    const fh = await fs.open(big, 'w');
    for (let i = 0; i < 110; i++) await fh.write(chunk);
    await fh.close();
    const size = 110 << 20;
    global.gc?.();
    const before = process.memoryUsage().rss;
    const r = await writeLayer([{ path: 'big', type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtimeMs: T, source: big }], store, { compression: 'gzip', gzipLevel: 1 });
    const growth = process.memoryUsage().rss - before;
    assert.ok(r.uncompressedSize > size);
    assert.ok(growth < 100 * 1024 * 1024, `rss grew ${Math.round(growth / 1048576)} MB`);
    await fs.rm(big);
    await store.delete(r.descriptor.digest);
  });
});
