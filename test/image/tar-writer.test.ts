import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { encodeHeader, headerOf, padding, tarChunks, trailer } from '../../src/image/tar-writer.js';
import type { LayerEntry } from '../../src/image/layer-entry.js';
import { BuildError } from '../../src/errors.js';

const T = 1_700_000_000_000;

/** The tar bytes of `entries` encoded the simple way: header, whole content, padding, one at a time. */
async function reference(entries: LayerEntry[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for (const e of entries) {
    out.push(...encodeHeader(headerOf(e)));
    if (e.type === 'file' && e.size > 0) {
      out.push(e.source ? await fs.readFile(e.source) : Buffer.concat((await (await e.open!()).toArray()) as Buffer[]));
      const p = padding(e.size);
      if (p) out.push(p);
    }
  }
  out.push(trailer());
  return Buffer.concat(out);
}

async function collect(it: AsyncIterable<Buffer>): Promise<{ bytes: Buffer; chunks: number }> {
  const chunks: Buffer[] = [];
  for await (const c of it) chunks.push(c);
  return { bytes: Buffer.concat(chunks), chunks: chunks.length };
}

describe('tarChunks (read-ahead of small files)', () => {
  let dir: string;
  const entries: LayerEntry[] = [];
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tarw-'));
    // 400 small files of varied sizes (empty, sub-block, exact blocks, up to the 256 KiB limit),
    // directories between them, a symlink, a streamed 1.5 MiB file and an open() entry.
    for (let i = 0; i < 400; i++) {
      if (i % 50 === 0) entries.push({ path: `d${i}`, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeMs: T });
      const size = i === 7 ? 256 * 1024 : i === 8 ? 256 * 1024 + 1 : i % 13 === 0 ? 0 : i % 17 === 0 ? 512 * (i % 5) : (i * 37) % 3000;
      const data = Buffer.alloc(size);
      for (let j = 0; j < size; j++) data[j] = (i * 31 + j * 7) & 0xff;
      const src = path.join(dir, `f${i}`);
      await fs.writeFile(src, data);
      entries.push({ path: `d${i - (i % 50)}/f${i}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtimeMs: T, source: src });
      if (i === 200) {
        const big = Buffer.alloc(1536 * 1024, 0x5a);
        await fs.writeFile(path.join(dir, 'big'), big);
        entries.push({ path: 'big', type: 'file', mode: 0o600, uid: 1, gid: 2, size: big.length, mtimeMs: T, source: path.join(dir, 'big') });
        entries.push({ path: 'link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtimeMs: T, linkname: 'big' });
        entries.push({ path: 'opened', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, mtimeMs: T, open: () => Readable.from([Buffer.from('hello')]) });
      }
    }
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('produces the same bytes as encoding one file at a time, in fewer, coalesced chunks', async () => {
    const want = await reference(entries);
    const got = await collect(tarChunks(entries));
    assert.equal(got.bytes.length, want.length);
    assert.ok(got.bytes.equals(want), 'tar bytes differ from the one-at-a-time encoding');
    // Without coalescing there would be well over one chunk per entry.
    assert.ok(got.chunks < entries.length / 2, `${got.chunks} chunks for ${entries.length} entries`);
    // The same from an async iterable of entries.
    async function* gen(): AsyncGenerator<LayerEntry> {
      yield* entries;
    }
    assert.ok((await collect(tarChunks(gen()))).bytes.equals(want));
  });

  it('reports a small file that vanished, when its turn comes, as the read error', async () => {
    const gone = path.join(dir, 'gone');
    const list: LayerEntry[] = [
      ...entries.slice(0, 5),
      { path: 'zz-gone', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, mtimeMs: T, source: gone },
    ];
    await assert.rejects(collect(tarChunks(list)), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  });

  it('reports a small file that changed size (read ahead) as a BuildError IO', async () => {
    const p = path.join(dir, 'shrunk');
    await fs.writeFile(p, 'abc');
    const list: LayerEntry[] = [{ path: 'x', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 10, mtimeMs: T, source: p }];
    await assert.rejects(collect(tarChunks(list)), (e: unknown) => e instanceof BuildError && e.code === 'IO' && /expected 10 bytes, read only 3/.test(e.message));
  });

  it('can be abandoned early while reads ahead are in flight (no unhandled rejection)', async () => {
    const list: LayerEntry[] = [
      // d0, f0..f7: f7 (256 KiB) fills a chunk, so the first chunk comes before any missing file.
      ...entries.slice(0, 9),
      ...Array.from({ length: 10 }, (_, i): LayerEntry => ({ path: `missing${i}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, mtimeMs: T, source: path.join(dir, `missing${i}`) })),
    ];
    let unhandled: unknown;
    const onUnhandled = (err: unknown): void => {
      unhandled = err;
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const gen = tarChunks(list);
      await gen.next();
      await gen.return(undefined);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.equal(unhandled, undefined);
  });
});
