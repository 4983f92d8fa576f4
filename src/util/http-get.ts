/**
 * GET (or HEAD) of an http(s) URL as a stream, following redirects as fetch does (at most 20), with the
 * CA roots of {@link trustedCAs}. Used by ADD of URLs and remote contexts instead of global
 * fetch, whose TLS roots cannot be extended at run time in Node 20 (see src/util/trust.ts for
 * why they need to be).
 *
 * An idle timeout (default 60 s, MYBUILD_HTTP_TIMEOUT_MS, in ms) bounds the silence on the
 * socket: no response headers, or a body that stops. It fails the request, or the body's
 * reader, with an HttpIdleTimeout naming the host; `bodyError` words a body that broke off.
 */
import http from 'node:http';
import https from 'node:https';
import { trustedCAs } from './trust.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
export const HTTP_TIMEOUT_ENV = 'MYBUILD_HTTP_TIMEOUT_MS';
const DEFAULT_IDLE_MS = 60_000;

export interface HttpGetOptions {
  signal?: AbortSignal;
  maxRedirects?: number;
  /** The idle timeout in ms (default {@link httpIdleMs}). */
  idleMs?: number;
  /** HEAD instead of GET (ADD's revalidation). */
  method?: 'GET' | 'HEAD';
  /** Extra request headers (If-None-Match). */
  headers?: Record<string, string>;
}

/** Silence on the socket for `ms` (while waiting for the headers, or inside the body). */
export class HttpIdleTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly host: string,
    readonly ms: number,
    readonly inBody: boolean,
  ) {
    super(`${host} ${inBody ? 'stopped sending the body' : 'did not answer'}: no data for ${ms} ms (${HTTP_TIMEOUT_ENV} sets this timeout)`);
  }
}

/** The idle timeout: `MYBUILD_HTTP_TIMEOUT_MS` when it is a positive number, else 60 s. */
export function httpIdleMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env[HTTP_TIMEOUT_ENV]);
  return Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_IDLE_MS;
}

/** The response to GET `url` after redirects; the caller checks the status and reads the body. */
export async function httpGet(url: string, opts: HttpGetOptions = {}): Promise<http.IncomingMessage> {
  let target = new URL(url);
  const idleMs = opts.idleMs ?? httpIdleMs();
  for (let hops = 0; ; hops++) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`unsupported URL scheme ${target.protocol}`);
    const res = await once(target, opts, idleMs);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location) return res;
    res.resume();
    if (hops >= (opts.maxRedirects ?? 20)) throw new Error('redirect count exceeded');
    target = new URL(location, target);
  }
}

/**
 * What went wrong reading a body: `received` bytes of the `Content-Length` the server promised
 * (`the server closed the connection after 512 of 1024 bytes`), or the timeout's message.
 */
export function bodyError(err: unknown, res: http.IncomingMessage, received: number): string {
  if (err instanceof HttpIdleTimeout) return `${err.message}, after ${received} bytes`;
  const len = res.headers['content-length'];
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.message === 'aborted') {
    return `the server closed the connection after ${received}${len !== undefined ? ` of ${len}` : ''} bytes (a truncated download)`;
  }
  return e?.message ?? String(err);
}

function once(target: URL, opts: HttpGetOptions, idleMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const ca = target.protocol === 'https:' ? trustedCAs() : undefined;
    const request = target.protocol === 'https:' ? https.request : http.request;
    let response: http.IncomingMessage | undefined;
    const headers = { 'user-agent': 'mybuild/0.1', ...opts.headers };
    const req = request(target, { method: opts.method ?? 'GET', signal: opts.signal, timeout: idleMs, headers, ...(ca ? { ca } : {}) }, (res) => {
      response = res;
      resolve(res);
    });
    req.on('timeout', () => {
      const err = new HttpIdleTimeout(target.host, idleMs, response !== undefined);
      if (response) response.destroy(err);
      else req.destroy(err);
    });
    req.on('error', reject);
    req.end();
  });
}
