/**
 * SHA-256 of a byte stream that moves to a worker thread once the stream is big.
 *
 * Why by hand: a build hashes each new layer twice on the main thread (the tar for its diffID,
 * the compressed blob for its digest); for the 200 MB bench context that was ~330 ms of the
 * main thread's ~1 s, while the second core waited. Node's crypto has no asynchronous hash
 * and no npm package offloads a streaming one, so this does: the first {@link INLINE_LIMIT}
 * bytes are only copied aside; a stream that ends there is hashed on the calling thread (no
 * worker for small layers, configs or manifests); a longer one is handed to one shared worker
 * thread in 1 MiB buffers that are transferred, not copied, and transferred back to be reused
 * (a profile of the 200 MB cold build, one run each: garbage collection 211 ms with a fresh
 * buffer per batch, 140 ms with reuse). The worker is created on first use and keeps the
 * process alive only while a digest is awaited. Should it die, the streams it was hashing fail
 * their digest (never a wrong one) and the next stream starts a new worker.
 *
 * The digest is the same either way (tests compare both paths with `createHash`).
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Streams up to this size are hashed on the calling thread. */
export const INLINE_LIMIT = 8 << 20;
/** Bytes per message to the worker. */
const BATCH = 1 << 20;

const WORKER_SOURCE = `
const BATCH = ${BATCH};
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash('sha256')));
    for (const b of m.bufs) h.update(new Uint8Array(b));
    // Full batches go back to be filled again (no new 1 MiB buffer, no garbage per batch).
    const full = m.bufs.filter((b) => b.byteLength === BATCH);
    if (full.length) parentPort.postMessage({ free: full }, full);
  } else if (m.op === 'digest') {
    const h = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
  } else if (m.op === 'drop') {
    hashes.delete(m.id);
  }
});
`;

interface Pending {
  resolve(hex: string): void;
  reject(err: Error): void;
}

let worker: Worker | undefined;
/** Workers that exited or failed: a stream that used one cannot be completed. */
const dead = new WeakSet<Worker>();
/** Batches the worker has hashed and sent back, ready to be filled again. */
const spare: Buffer[] = [];
const MAX_SPARE = 8;
let nextId = 1;
const pending = new Map<number, Pending>();

function sharedWorker(): Worker {
  if (worker) return worker;
  // execArgv [] so that the source is read as CommonJS whatever flags the process runs with
  // (with --input-type=module inherited it would be an ES module, without `require`).
  const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  w.on('message', (m: { id: number; hex: string } | { free: ArrayBuffer[] }) => {
    if ('free' in m) {
      for (const ab of m.free) if (spare.length < MAX_SPARE) spare.push(Buffer.from(ab));
      return;
    }
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    p?.resolve(m.hex);
  });
  const fail = (err: Error): void => {
    dead.add(w);
    if (worker === w) worker = undefined;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the hashing worker exited (code ${code})`)));
  // After the listeners: adding a 'message' listener refs the worker's port again.
  w.unref();
  worker = w;
  return w;
}

/** A SHA-256 that may run on the shared worker thread; see the module comment. One use: update…, then digest() once. */
export class StreamSha256 {
  private readonly id = nextId++;
  /** Copies of the first bytes, while the stream is still small enough to hash inline. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private offThread = false;
  /** The worker this stream's bytes went to (all of them must go to the same one). */
  private w: Worker | undefined;
  /** The batch being filled for the worker. */
  private batch: Buffer | undefined;
  private fill = 0;
  private done = false;

  update(data: Uint8Array): void {
    if (this.done) throw new Error('StreamSha256: update after digest');
    if (!this.offThread) {
      this.held.push(Buffer.from(data)); // a copy: the caller may reuse its buffer
      this.heldBytes += data.length;
      if (this.heldBytes <= INLINE_LIMIT) return;
      this.offThread = true;
      const first = this.held;
      this.held = [];
      for (const b of first) this.toWorker(b);
      return;
    }
    this.toWorker(data);
  }

  private toWorker(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      if (!this.batch) {
        this.batch = spare.pop() ?? Buffer.allocUnsafeSlow(BATCH);
        this.fill = 0;
      }
      const n = Math.min(BATCH - this.fill, data.length - off);
      this.batch.set(data.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === BATCH) this.flush();
    }
  }

  private flush(): void {
    if (!this.batch || this.fill === 0) return;
    // A full batch owns its whole ArrayBuffer (allocUnsafeSlow) and moves as it is; the last,
    // partial one is cut to size (one copy of under 1 MiB).
    const ab = (this.fill === BATCH ? this.batch.buffer : this.batch.buffer.slice(0, this.fill)) as ArrayBuffer;
    this.batch = undefined;
    this.fill = 0;
    this.w ??= sharedWorker();
    if (!dead.has(this.w)) this.w.postMessage({ op: 'update', id: this.id, bufs: [ab] }, [ab]);
  }

  /** The hex digest. Rejects only if the worker died. */
  digest(): Promise<string> {
    this.done = true;
    if (!this.offThread) {
      const h = createHash('sha256');
      for (const b of this.held) h.update(b);
      this.held = [];
      return Promise.resolve(h.digest('hex'));
    }
    this.flush();
    const w = this.w ?? sharedWorker();
    if (dead.has(w)) return Promise.reject(new Error('the hashing worker exited before the digest was computed'));
    return new Promise((resolve, reject) => {
      // While a digest is awaited the worker must keep the process alive (it is unref-ed
      // otherwise, and nothing else may be pending on the event loop).
      if (pending.size === 0) w.ref();
      pending.set(this.id, { resolve, reject });
      w.postMessage({ op: 'digest', id: this.id });
    });
  }

  /** Forgets the hash (an abandoned stream) so the worker frees its state. */
  drop(): void {
    if (this.done) return;
    this.done = true;
    this.held = [];
    if (this.w && !dead.has(this.w)) this.w.postMessage({ op: 'drop', id: this.id });
  }
}

/** Ends the shared worker as a crash would (tests: streams on it must fail, later ones work). */
export async function terminateWorkerForTests(): Promise<void> {
  if (worker) await worker.terminate();
}
