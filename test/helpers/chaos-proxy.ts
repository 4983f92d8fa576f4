/**
 * A fault-injecting HTTP proxy for the chaos suite (issue 22): it sits in front of a real
 * registry (test/helpers/registry.ts) and, for a seeded random share of the requests, injects
 * one fault of those that apply to the request:
 *
 * | fault | applies to | what the client sees |
 * | --- | --- | --- |
 * | `500` | any | `500` or `503` with a registry error body, nothing forwarded |
 * | `429` | any | `429 Too Many Requests` with `Retry-After: 1`, nothing forwarded |
 * | `reset` | any | the connection closed before anything is forwarded |
 * | `stall` | any | no answer at all for `stallMs`, then the connection closed |
 * | `drop-body` | a GET answered with a body | the headers and part of the body, then the connection closed |
 * | `stall-body` | a GET answered with a body | part of the body, then silence for `stallMs`, then closed |
 * | `flip` | a GET answered with a body | the whole body with one byte flipped |
 * | `drop-upload` | a PATCH/PUT of a blob with a body | part of the body reaches the registry, then both connections are closed |
 * | `flip-upload` | a PATCH/PUT of a blob with a body | the registry gets the body with one byte flipped |
 *
 * Manifest uploads are never altered (a registry cannot tell a flipped manifest from another
 * one; blob uploads it checks against their digest). `counts` tallies the faults injected.
 */
import http from 'node:http';
import type net from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { mulberry32 } from './prng.js';

export type ChaosFault = '500' | '429' | 'reset' | 'stall' | 'drop-body' | 'stall-body' | 'flip' | 'drop-upload' | 'flip-upload';

export interface ChaosProxyOptions {
  /** PRNG seed (the same seed and the same request order give the same faults). */
  seed: number;
  /** Share of requests that get a fault (0..1). */
  rate: number;
  /** How long a stall lasts before the proxy closes the connection (ms). */
  stallMs: number;
}

export interface ChaosProxy {
  domain: string;
  requests: number;
  counts: Record<ChaosFault, number>;
  /** Blob GETs with a Range (resumed downloads), GETs of an upload session (a client asking where to resume). */
  ranged: number;
  uploadStatus: number;
  /** Turns fault injection off (true) or on again. */
  calm: boolean;
  stop(): Promise<void>;
}

const ANY: ChaosFault[] = ['500', '429', 'reset', 'stall'];
const DOWNLOAD: ChaosFault[] = ['drop-body', 'stall-body', 'flip'];
const UPLOAD: ChaosFault[] = ['drop-upload', 'flip-upload'];

/** Flips the byte at `at` of the stream (counting from 0). */
function flipAt(at: number): Transform {
  let pos = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (at >= pos && at < pos + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[at - pos] ^= 0x5a;
      }
      pos += chunk.length;
      cb(null, chunk);
    },
  });
}

/** Passes the first `n` bytes, then calls `cut` once (and drops the rest). */
function cutAfter(n: number, cut: () => void): Transform {
  let pos = 0;
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (done) return cb();
      if (pos + chunk.length < n) {
        pos += chunk.length;
        return cb(null, chunk);
      }
      done = true;
      this.push(chunk.subarray(0, n - pos));
      pos = n;
      // Let the piece reach the socket before the cut.
      setTimeout(cut, 30);
      cb();
    },
  });
}

export async function startChaosProxy(target: string, o: ChaosProxyOptions): Promise<ChaosProxy> {
  const [thost, tport] = target.split(':');
  const rnd = mulberry32(o.seed);
  const proxy: ChaosProxy = { domain: '', requests: 0, counts: { '500': 0, '429': 0, reset: 0, stall: 0, 'drop-body': 0, 'stall-body': 0, flip: 0, 'drop-upload': 0, 'flip-upload': 0 }, ranged: 0, uploadStatus: 0, calm: false, stop: async () => undefined };
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const server = http.createServer((req, res) => {
    proxy.requests++;
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const length = Number(req.headers['content-length'] ?? 0);
    if (method === 'GET' && req.headers.range && url.includes('/blobs/sha256:')) proxy.ranged++;
    if (method === 'GET' && url.includes('/blobs/uploads/')) proxy.uploadStatus++;
    const blobUpload = (method === 'PATCH' || method === 'PUT') && url.includes('/blobs/uploads/') && length > 1;
    const options = [...ANY, ...(method === 'GET' ? DOWNLOAD : []), ...(blobUpload ? UPLOAD : [])];
    const fault = !proxy.calm && rnd() < o.rate ? options[Math.floor(rnd() * options.length)] : undefined;
    const pick = rnd();
    const kill = (): void => {
      req.socket.destroy();
    };
    if (fault === 'reset') {
      proxy.counts.reset++;
      return kill();
    }
    if (fault === 'stall') {
      proxy.counts.stall++;
      req.resume();
      return later(o.stallMs, kill);
    }
    if (fault === '500' || fault === '429') {
      proxy.counts[fault]++;
      req.resume();
      const status = fault === '429' ? 429 : pick < 0.5 ? 500 : 503;
      res.writeHead(status, { 'content-type': 'application/json', ...(fault === '429' ? { 'retry-after': '1' } : {}) });
      res.end(JSON.stringify({ errors: [{ code: fault === '429' ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: `injected ${status}` }] }));
      return;
    }
    const up = http.request({ host: thost, port: Number(tport), method, path: url, headers: req.headers }, (ures) => {
      const size = Number(ures.headers['content-length'] ?? 0);
      const bodyFault = fault && DOWNLOAD.includes(fault) && size > 1 && (ures.statusCode === 200 || ures.statusCode === 206) ? fault : undefined;
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      if (!bodyFault) {
        ures.pipe(res);
        return;
      }
      proxy.counts[bodyFault]++;
      const at = 1 + Math.floor(pick * (size - 1));
      if (bodyFault === 'flip') ures.pipe(flipAt(at)).pipe(res);
      else if (bodyFault === 'drop-body') ures.pipe(cutAfter(at, () => (ures.destroy(), kill()))).pipe(res);
      else ures.pipe(cutAfter(at, () => later(o.stallMs, () => (ures.destroy(), kill())))).pipe(res);
    });
    up.on('error', () => kill());
    const uploadFault = fault && UPLOAD.includes(fault) ? fault : undefined;
    if (!uploadFault) {
      req.pipe(up);
      return;
    }
    proxy.counts[uploadFault]++;
    const at = Math.floor(pick * length);
    if (uploadFault === 'flip-upload') req.pipe(flipAt(at)).pipe(up);
    else req.pipe(cutAfter(Math.max(1, at), () => (up.destroy(), kill()))).pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.domain = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
