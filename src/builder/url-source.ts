/**
 * ADD's http(s) sources as BuildKit's http source handles them: the file name from the URL
 * path (`__unnamed__` when it has none), the body's digest, its mtime from Last-Modified (the
 * epoch without one), and revalidation: a URL downloaded before with an ETag is asked again
 * with HEAD and If-None-Match, and when the ETag still matches its recorded digest is used
 * without downloading (the body is fetched only if the step then has to run).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { utimes } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BuildError, type SourceLocation } from '../errors.js';
import type { HttpValidators } from '../cache/http-validators.js';
import { bodyError, httpGet } from '../util/http-get.js';

/** One URL of an ADD: its name in the destination, digest and Last-Modified; `file` once downloaded. */
export interface UrlSource {
  url: string;
  name: string;
  digest: string;
  lastModified?: string;
  file?: string;
}

export interface UrlFetchOptions {
  /** Where the body is written when it is downloaded. */
  file: string;
  /** The digest algorithm (--checksum's, else sha256). */
  algorithm: string;
  /** Recorded ETags; undefined to always download (--checksum). */
  validators?: HttpValidators;
  signal?: AbortSignal;
  source: SourceLocation;
}

/** BuildKit's file name for a URL: the last element of its (decoded) path, or `__unnamed__`. */
export function urlFileName(url: string): string {
  let p: string;
  try {
    p = new URL(url).pathname;
  } catch {
    return '__unnamed__';
  }
  let base = path.posix.basename(p);
  try {
    base = decodeURIComponent(base);
  } catch {
    /* keep it encoded */
  }
  return base === '' || base === '.' || base === '/' || base.includes('/') ? '__unnamed__' : base;
}

/** An ETag as BuildKit compares them (a weak one as its strong form). */
function etagValue(v: string | string[] | undefined): string {
  const s = Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
  return s.startsWith('W/') ? s.slice(2) : s;
}

function fail(url: string, message: string, source: SourceLocation, cause?: unknown): BuildError {
  return new BuildError('CONTEXT', `ADD ${url}: ${message}`, { source, ...(cause !== undefined ? { cause } : {}) });
}

/** Resolves `url`: revalidated from its recorded ETag when it still matches, else downloaded. */
export async function resolveUrl(url: string, o: UrlFetchOptions): Promise<UrlSource> {
  const name = urlFileName(url);
  const known = o.validators ? await o.validators.get(url, o.algorithm) : undefined;
  if (known) {
    const headers = { 'if-none-match': known.etag };
    const reuse = { url, name, digest: known.digest, ...(known.lastModified ? { lastModified: known.lastModified } : {}) };
    // HEAD first, comparing the ETag by hand (some servers mishandle If-None-Match on GET).
    try {
      const head = await httpGet(url, { signal: o.signal, method: 'HEAD', headers: { ...headers, 'accept-encoding': 'gzip' } });
      head.resume();
      const status = head.statusCode ?? 0;
      const etag = etagValue(head.headers.etag) || (status === 304 ? known.etag : '');
      if ((status === 200 || status === 304) && etag === known.etag) return reuse;
    } catch {
      /* GET below */
    }
    const res = await get(url, o, headers);
    if (res.statusCode === 304) {
      res.resume();
      const etag = etagValue(res.headers.etag) || known.etag;
      if (etag !== known.etag) throw fail(url, `invalid not-modified ETag: ${etag}`, o.source);
      return reuse;
    }
    return { url, name, ...(await save(url, res, o)) };
  }
  return { url, name, ...(await save(url, await get(url, o), o)) };
}

/** Downloads a revalidated URL for its step, checking that the body is still the recorded one. */
export async function fetchUrl(src: UrlSource, o: UrlFetchOptions): Promise<string> {
  if (src.file) return src.file;
  const got = await save(src.url, await get(src.url, o), { ...o, validators: undefined });
  if (got.digest !== src.digest) throw fail(src.url, `the content changed since it was revalidated (${got.digest}, recorded ${src.digest})`, o.source, undefined);
  src.file = got.file;
  return got.file;
}

async function get(url: string, o: UrlFetchOptions, headers?: Record<string, string>): Promise<IncomingMessage> {
  let res: IncomingMessage;
  try {
    res = await httpGet(url, { signal: o.signal, ...(headers ? { headers } : {}) });
  } catch (err) {
    throw fail(url, (err as Error).message, o.source, err);
  }
  const status = res.statusCode ?? 0;
  if (status !== 304 && (status < 200 || status > 299)) {
    res.resume();
    throw fail(url, `the server answered ${status} ${res.statusMessage ?? ''}`.trimEnd(), o.source);
  }
  return res;
}

/** Writes the body to `o.file` (mtime Last-Modified, else the epoch) and records its ETag. */
async function save(url: string, res: IncomingMessage, o: UrlFetchOptions): Promise<{ digest: string; lastModified?: string; file: string }> {
  if (res.statusCode === 304) {
    res.resume();
    throw fail(url, 'the server answered 304 Not Modified to a request without validators', o.source);
  }
  const h = createHash(o.algorithm);
  let received = 0;
  try {
    await pipeline(res, async function* (src) {
      for await (const c of src) {
        h.update(c as Buffer);
        received += (c as Buffer).length;
        yield c;
      }
    }, createWriteStream(o.file));
  } catch (err) {
    if (o.signal?.aborted) throw err;
    throw new BuildError('CONTEXT', `ADD ${url}: the download failed: ${bodyError(err, res, received)}`, { source: o.source, cause: err, hint: 'the server or the network broke the transfer; try again' });
  }
  const digest = `${o.algorithm}:${h.digest('hex')}`;
  const lm = res.headers['last-modified'];
  const t = lm !== undefined ? Date.parse(lm) : NaN;
  const mtime = Number.isNaN(t) ? new Date(0) : new Date(t);
  await utimes(o.file, mtime, mtime);
  const lastModified = Number.isNaN(t) ? undefined : lm;
  const etag = etagValue(res.headers.etag);
  if (o.validators && etag !== '') await o.validators.set(url, { etag, digest, ...(lastModified ? { lastModified } : {}) });
  return { digest, file: o.file, ...(lastModified ? { lastModified } : {}) };
}
