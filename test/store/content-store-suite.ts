/**
 * The ContentStore contract, run against every implementation (test/store/content-store.test.ts):
 * write/read/verify, idempotence, concurrent writers (promises, and processes where the store
 * lives on disk), digest mismatches that leave nothing visible, corruption detected on read and
 * by checkBlobs, NotFoundError for missing blobs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { BuildError, DigestMismatchError, NotFoundError } from '../../src/errors.js';
import type { Digest } from '../../src/oci/types.js';
import { checkBlobs } from '../../src/store/gc.js';
import type { ContentStore } from '../../src/oci/content-store.js';
import { bytes, chunkedStream, sha256, spawnWorker } from './helpers.js';

export interface ContentStoreFixture {
  store: ContentStore;
  /** Replaces a stored blob's bytes behind the store's back. */
  corrupt(digest: Digest, data: Uint8Array): Promise<void>;
  /** Names of in-progress (ingest) files, for stores that have them. */
  ingestFiles?(): Promise<string[]>;
  /** The store root, for stores that other processes can open (LocalContentStore); else undefined. */
  root?: string;
  cleanup(): Promise<void>;
}

async function digestOf(rs: Readable): Promise<{ digest: Digest; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  await pipeline(
    rs,
    new Writable({
      write(c: Buffer, _e, cb) {
        h.update(c);
        size += c.length;
        cb();
      },
    }),
  );
  return { digest: `sha256:${h.digest('hex')}`, size };
}

async function listAll(store: ContentStore): Promise<Digest[]> {
  const out: Digest[] = [];
  for await (const d of store.list()) out.push(d);
  return out.sort();
}

export function describeContentStore(name: string, make: () => Promise<ContentStoreFixture>): void {
  describe(`ContentStore: ${name}`, () => {
    const withStore = (fn: (f: ContentStoreFixture) => Promise<void>) => async () => {
      const f = await make();
      try {
        await fn(f);
      } finally {
        await f.cleanup();
      }
    };

    it(
      'writes a stream and reads it back verified',
      withStore(async ({ store }) => {
        const src = chunkedStream(1, 64 * 1024, 40); // 2.5 MiB in 64 KiB chunks
        const got = await store.write(src.stream);
        assert.deepEqual(got, { digest: src.digest, size: src.size });
        assert.deepEqual(await store.info(src.digest), { digest: src.digest, size: src.size });
        assert.deepEqual(await digestOf(await store.reader({ digest: src.digest, size: src.size })), { digest: src.digest, size: src.size });
        assert.deepEqual(await listAll(store), [src.digest]);
      }),
    );

    it(
      'writes from an async iterable and bytes; readBytes returns them',
      withStore(async ({ store }) => {
        async function* gen(): AsyncIterable<Uint8Array> {
          yield Buffer.from('hello ');
          yield new Uint8Array(Buffer.from('world'));
        }
        const a = await store.write(gen(), { digest: sha256('hello world'), size: 11 });
        assert.equal(a.digest, sha256('hello world'));
        const b = await store.writeBytes('{"a":1}');
        assert.deepEqual(b, { digest: sha256('{"a":1}'), size: 7 });
        assert.equal((await store.readBytes(a.digest)).toString(), 'hello world');
        assert.equal((await store.readBytes(b.digest)).toString(), '{"a":1}');
        const empty = await store.writeBytes('');
        assert.equal(empty.size, 0);
        assert.equal((await store.readBytes(empty.digest)).length, 0);
      }),
    );

    it(
      'is idempotent: writing a stored blob again succeeds and keeps one copy',
      withStore(async ({ store }) => {
        const data = bytes(2, 10_000);
        const first = await store.writeBytes(data);
        const second = await store.writeBytes(data, { digest: first.digest, size: first.size });
        assert.deepEqual(second, first);
        assert.deepEqual(await listAll(store), [first.digest]);
        assert.deepEqual(await store.readBytes(first.digest), data);
      }),
    );

    it(
      'accepts concurrent writes of the same blob from several promises',
      withStore(async (f) => {
        const writes = Array.from({ length: 8 }, () => f.store.write(chunkedStream(3, 16 * 1024, 20).stream));
        const results = await Promise.all(writes);
        const want = chunkedStream(3, 16 * 1024, 20);
        for (const r of results) assert.deepEqual(r, { digest: want.digest, size: want.size });
        assert.deepEqual(await listAll(f.store), [want.digest]);
        assert.deepEqual(await digestOf(await f.store.reader({ digest: want.digest, size: want.size })), { digest: want.digest, size: want.size });
        if (f.ingestFiles) assert.deepEqual(await f.ingestFiles(), []);
      }),
    );

    it('accepts concurrent writes of the same blob from separate processes', async (t) => {
      const f = await make();
      try {
        if (!f.root) {
          t.skip(`${name} lives in one process; other processes cannot open it`);
          return;
        }
        const procs = Array.from({ length: 4 }, () => spawnWorker(['write-blob', f.root!, '7', String(300_000)]));
        const outs = await Promise.all(procs.map((p) => p.done));
        const want = sha256(bytes(7, 300_000));
        for (const o of outs) {
          assert.equal(o.code, 0, o.stderr);
          assert.equal(o.stdout.trim(), want);
        }
        assert.deepEqual(await listAll(f.store), [want]);
        assert.deepEqual(await f.store.readBytes(want), bytes(7, 300_000));
        if (f.ingestFiles) assert.deepEqual(await f.ingestFiles(), []);
      } finally {
        await f.cleanup();
      }
    });

    it(
      'rejects a wrong expected digest and leaves nothing visible',
      withStore(async (f) => {
        const wrong = sha256('something else');
        await assert.rejects(f.store.writeBytes('payload', { digest: wrong }), (e: unknown) => {
          assert.ok(e instanceof DigestMismatchError, String(e));
          assert.match(e.message, new RegExp(`expected ${wrong}`));
          assert.match(e.message, new RegExp(sha256('payload')));
          return true;
        });
        assert.equal(await f.store.info(sha256('payload')), null);
        assert.equal(await f.store.info(wrong), null);
        assert.deepEqual(await listAll(f.store), []);
        if (f.ingestFiles) assert.deepEqual(await f.ingestFiles(), []);
      }),
    );

    it(
      'rejects a wrong expected size (too small stops early, too big at the end) and leaves nothing',
      withStore(async (f) => {
        const src = chunkedStream(4, 1024, 100);
        await assert.rejects(f.store.write(src.stream, { size: 1000 }), DigestMismatchError);
        await assert.rejects(f.store.writeBytes('abc', { size: 4, digest: sha256('abc') }), /expected 4 bytes/);
        assert.deepEqual(await listAll(f.store), []);
        if (f.ingestFiles) assert.deepEqual(await f.ingestFiles(), []);
      }),
    );

    it(
      'passes a failing source stream error through and leaves nothing',
      withStore(async (f) => {
        let n = 0;
        const failing = new Readable({
          read() {
            if (n++ < 3) this.push(Buffer.alloc(1000, 1));
            else this.destroy(new Error('network went away'));
          },
        });
        await assert.rejects(f.store.write(failing), /network went away/);
        assert.deepEqual(await listAll(f.store), []);
        if (f.ingestFiles) assert.deepEqual(await f.ingestFiles(), []);
      }),
    );

    it(
      'detects a corrupted blob on read, in readBytes and in checkBlobs',
      withStore(async (f) => {
        const data = bytes(5, 50_000);
        const good = await f.store.writeBytes('intact');
        const { digest, size } = await f.store.writeBytes(data);
        const bad = Buffer.from(data);
        bad[25_000] ^= 0xff;
        await f.corrupt(digest, bad);
        await assert.rejects(digestOf(await f.store.reader({ digest, size })), (e: unknown) => e instanceof DigestMismatchError && /hashes to/.test(e.message));
        await assert.rejects(f.store.readBytes(digest), DigestMismatchError);
        const problems = await checkBlobs(f.store);
        assert.deepEqual(
          problems.map((p) => p.subject),
          [digest],
        );
        assert.match(problems[0].message, /corrupt/);
        assert.ok(!problems.some((p) => p.subject === good.digest));
        // A truncated blob: the size check fails even without an expected size given by the reader.
        await f.corrupt(digest, data.subarray(0, 100));
        await assert.rejects(digestOf(await f.store.reader({ digest, size })), /expected 50000 bytes, read 100/);
        await assert.rejects(digestOf(await f.store.reader({ digest })), DigestMismatchError);
        // Writing the real content again repairs the truncated copy.
        await f.store.writeBytes(data);
        assert.deepEqual(await f.store.readBytes(digest), data);
      }),
    );

    it(
      'throws NotFoundError for a missing blob; delete of a missing blob is a no-op',
      withStore(async ({ store }) => {
        const missing = sha256('never written');
        await assert.rejects(store.reader({ digest: missing }), NotFoundError);
        await assert.rejects(store.readBytes(missing), NotFoundError);
        assert.equal(await store.info(missing), null);
        await store.delete(missing);
        const { digest } = await store.writeBytes('x');
        await store.delete(digest);
        assert.equal(await store.info(digest), null);
        await assert.rejects(store.readBytes(digest), NotFoundError);
      }),
    );

    it(
      'refuses readBytes over the size cap and malformed digests',
      withStore(async ({ store }) => {
        const { digest } = await store.writeBytes(bytes(6, 2000));
        await assert.rejects(store.readBytes(digest, 1000), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT' && /2000 bytes, more than the 1000-byte limit/.test(e.message));
        assert.equal((await store.readBytes(digest, 2000)).length, 2000);
        for (const bad of ['sha256:../../etc/passwd', 'sha256:ABC', 'md5:abcd', `${digest}/..`]) {
          await assert.rejects(store.readBytes(bad as Digest), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT', bad);
          await assert.rejects(store.info(bad as Digest), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT', bad);
        }
        await assert.rejects(store.writeBytes('x', { digest: 'sha256:nope' as Digest }), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT');
      }),
    );
  });
}
