/**
 * HTTP helpers of the daemon: Docker-style error bodies, size-limited JSON bodies, query
 * parsing with Docker's boolean rules, and newline-delimited JSON progress streams.
 *
 * Statuses: a BuildError maps through `HTTP_STATUS` (src/errors.ts); `withStatus(err, n)` pins
 * another status on one error (413 for an oversized body) without a new error class.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { BuildError, HTTP_STATUS, toBuildError } from '../errors.js';

/** Largest request header block accepted (Node answers 431 above it). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Largest JSON request body accepted (413 above it). */
export const MAX_JSON_BODY_BYTES = 1 << 20;

const pinned = new WeakMap<object, number>();

/** Pins HTTP status `status` on `err` (returned for chaining). */
export function withStatus<E extends object>(err: E, status: number): E {
  pinned.set(err, status);
  return err;
}

/** The HTTP status for `err`: a pinned one, else HTTP_STATUS of its code (500 for bugs). */
export function statusOf(err: unknown): number {
  if (err && typeof err === 'object' && pinned.has(err)) return pinned.get(err)!;
  return HTTP_STATUS[toBuildError(err).code];
}

/** Docker's error body text for `err`: the message, plus the hint on its own line. */
export function errorMessage(err: unknown): string {
  const e = toBuildError(err);
  return e.hint ? `${e.message} (hint: ${e.hint})` : e.message;
}

/**
 * The JSON error body: Docker's `message` (with the hint, for the docker CLI) plus mybuild's
 * `code` and `hint`, from which the mybuild client rebuilds the same BuildError (so its exit
 * code and text match daemonless).
 */
export function errorBody(err: unknown): { message: string; code: string; hint?: string } {
  const e = toBuildError(err);
  return { message: errorMessage(err), code: e.code, ...(e.hint ? { hint: e.hint } : {}) };
}

/** Sends `body` as JSON with `status` (ends the response). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends a Docker error `{"message": …}` for `err`, unless headers were already sent (then the response is ended). */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const status = statusOf(err);
  // The rest of an oversized body is not read: close the connection rather than reuse it.
  if (status === 413) res.setHeader('Connection', 'close');
  sendJson(res, status, errorBody(err));
}

/** 413 error for a body larger than `max` bytes. */
export function tooLarge(what: string, max: number): BuildError {
  return withStatus(new BuildError('INVALID_ARGUMENT', `${what} is larger than the limit of ${max} bytes`, { hint: 'send a smaller request' }), 413);
}

/**
 * Reads a JSON request body of at most `max` bytes. An empty body gives `fallback`.
 * Throws BuildError INVALID_ARGUMENT (400) for malformed JSON, pinned 413 when too large
 * (Content-Length checked first, then the bytes actually received).
 */
export async function readJson<T>(req: IncomingMessage, fallback: T, max = MAX_JSON_BODY_BYTES): Promise<T> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > max) {
    req.resume();
    throw tooLarge('the request body', max);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) {
      req.resume();
      throw tooLarge('the request body', max);
    }
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new BuildError('INVALID_ARGUMENT', `invalid JSON in the request body: ${(err as Error).message}`, { cause: err });
  }
}

/** A pass-through that fails with a pinned 413 after `max` bytes. */
export function byteLimit(max: number, what: string): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      n += chunk.length;
      if (n > max) cb(tooLarge(what, max));
      else cb(null, chunk);
    },
  });
}

/** Docker's boolean query values: "1", "true", "True" are true; absent or anything else is false. */
export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && /^(1|true)$/i.test(v);
}

/** A JSON-object query parameter (`buildargs`, `labels`): strings kept, null values dropped. */
export function jsonMapParam(q: URLSearchParams, name: string): Record<string, string> {
  const v = q.get(name);
  if (!v) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (err) {
    throw new BuildError('INVALID_ARGUMENT', `query parameter ${name} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BuildError('INVALID_ARGUMENT', `query parameter ${name} must be a JSON object, got ${v.slice(0, 80)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(parsed as Record<string, unknown>)) {
    if (val === null || val === undefined) continue;
    out[k] = String(val);
  }
  return out;
}

/**
 * A newline-delimited JSON stream response (Docker's progress protocol). The first write
 * sends status 200; `fail(err)` sends an error line (or a plain error response when nothing
 * was written yet). Writes after the client went away are dropped.
 */
export class JsonLines {
  constructor(private readonly res: ServerResponse) {}

  /** Whether the client is still connected. */
  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  write(obj: unknown): void {
    if (!this.open) return;
    if (!this.res.headersSent) this.res.writeHead(200, { 'Content-Type': 'application/json' });
    this.res.write(`${JSON.stringify(obj)}\r\n`);
  }

  stream(text: string): void {
    this.write({ stream: text });
  }

  /** Writes Docker's error message line. */
  fail(err: unknown): void {
    const msg = errorMessage(err);
    if (!this.res.headersSent) {
      sendError(this.res, err);
      return;
    }
    const e = toBuildError(err);
    this.write({ errorDetail: { message: msg }, error: msg, errorCode: e.code, ...(e.hint ? { errorHint: e.hint } : {}) });
  }

  end(): void {
    if (!this.open) return;
    if (!this.res.headersSent) this.res.writeHead(200, { 'Content-Type': 'application/json' });
    this.res.end();
  }
}
