/**
 * GET (or HEAD) of an http(s) URL as a stream, following redirects as fetch does (at most 20), with the
 * CA roots of {@link trustedCAs}. Used by ADD of URLs instead of global fetch, whose TLS roots
 * cannot be extended at run time in Node 20 (see src/util/trust.ts for why they need to be).
 */
import http from 'node:http';
import https from 'node:https';
import { trustedCAs } from './trust.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface HttpGetOptions {
  signal?: AbortSignal;
  maxRedirects?: number;
  /** HEAD instead of GET (ADD's revalidation). */
  method?: 'GET' | 'HEAD';
  /** Extra request headers (If-None-Match). */
  headers?: Record<string, string>;
}

/** The response to GET `url` after redirects; the caller checks the status and reads the body. */
export async function httpGet(url: string, opts: HttpGetOptions = {}): Promise<http.IncomingMessage> {
  let target = new URL(url);
  for (let hops = 0; ; hops++) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`unsupported URL scheme ${target.protocol}`);
    const res = await once(target, opts);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location) return res;
    res.resume();
    if (hops >= (opts.maxRedirects ?? 20)) throw new Error('redirect count exceeded');
    target = new URL(location, target);
  }
}

function once(target: URL, opts: HttpGetOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const ca = target.protocol === 'https:' ? trustedCAs() : undefined;
    const request = target.protocol === 'https:' ? https.request : http.request;
    const req = request(target, { method: opts.method ?? 'GET', signal: opts.signal, headers: { 'user-agent': 'mybuild/0.1', ...opts.headers }, ...(ca ? { ca } : {}) }, resolve);
    req.on('error', reject);
    req.end();
  });
}
