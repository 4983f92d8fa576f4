/**
 * Helpers for the store tests: temp roots, deterministic data, and spawning the worker script
 * (test/store/store-worker.ts, run with tsx from the sources or plain node from dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { MediaTypes, type Descriptor, type Digest } from '../../src/oci/types.js';
import type { ContentStore } from '../../src/oci/content-store.js';
import { repoRoot } from '../helpers/paths.js';

export async function tempRoot(prefix = 'mybuild-store-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A small seeded PRNG (xorshift32). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** `size` deterministic pseudo-random bytes for `seed`. */
export function bytes(seed: number, size: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** A stream of `count` chunks of `chunk` bytes each (never one big buffer), and the digest of the whole. */
export function chunkedStream(seed: number, chunk: number, count: number): { stream: Readable; digest: Digest; size: number } {
  const block = bytes(seed, chunk);
  const h = createHash('sha256');
  for (let i = 0; i < count; i++) h.update(block);
  let i = 0;
  const stream = new Readable({
    read() {
      this.push(i++ < count ? block : null);
    },
  });
  return { stream, digest: `sha256:${h.digest('hex')}`, size: chunk * count };
}

export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Spawns the worker script with `args`; resolves with its exit code and output. */
export function spawnWorker(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const worker = path.join(path.dirname(here), `store-worker${ext}`);
  const nodeArgs = ext === '.ts' ? ['--import', 'tsx', worker, ...args] : [worker, ...args];
  const child = spawn(process.execPath, nodeArgs, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** A writable that collects what is written (for CLI tests). */
export class Sink {
  text = '';
  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }
}

/** What `writeImage` stored. */
export interface TestImage {
  descriptor: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/**
 * Writes a small OCI image (config + one layer of `layerSize` pseudo-random bytes per entry of
 * `layerSizes`) into `store`; returns the manifest descriptor. Same seed, same digests.
 */
export async function writeImage(store: ContentStore, seed: number, layerSize: number | number[], extra: Record<string, unknown> = {}): Promise<Descriptor> {
  return (await writeTestImage(store, seed, layerSize, extra)).descriptor;
}

export async function writeTestImage(store: ContentStore, seed: number, layerSize: number | number[], extra: Record<string, unknown> = {}): Promise<TestImage> {
  const sizes = Array.isArray(layerSize) ? layerSize : [layerSize];
  const layers: Descriptor[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const l = await store.writeBytes(bytes(seed * 31 + i, sizes[i]));
    layers.push({ mediaType: MediaTypes.OCI_LAYER, digest: l.digest, size: l.size });
  }
  const configJson = {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: `seed ${seed}` })),
    ...extra,
  };
  const c = await store.writeBytes(JSON.stringify(configJson));
  const config: Descriptor = { mediaType: MediaTypes.OCI_CONFIG, digest: c.digest, size: c.size };
  const m = await store.writeBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST, config, layers }));
  return { descriptor: { mediaType: MediaTypes.OCI_MANIFEST, digest: m.digest, size: m.size }, config, layers };
}
