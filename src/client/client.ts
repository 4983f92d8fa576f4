/**
 * DaemonClient: talks to a mybuild (or Docker) daemon's Engine API over a unix socket or TCP
 * (TLS as the docker CLI decides it: --tls/--tlsverify/--tlscacert/--tlscert/--tlskey,
 * DOCKER_TLS_VERIFY, DOCKER_CERT_PATH; see tls.ts).
 *
 * Errors: a non-2xx answer becomes a BuildError whose code comes from the body's `code` (a
 * mybuild daemon sends it) or from the status (404 NOT_FOUND, 409 ALREADY_EXISTS, 4xx
 * INVALID_ARGUMENT, 5xx IO); the message is the body's `message`. Connection failures are
 * BuildError IO with a hint about the daemon.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex, Readable } from 'node:stream';
import { BuildError, EXIT_CODES, type ErrorCode, InternalError } from '../errors.js';
import { parseHost, type HostAddress } from '../api/host.js';
import { API_VERSION } from '../api/version.js';
import type { JsonMessage } from '../api/types.js';
import { clientTls, type ClientTls, type ClientTlsFlags } from './tls.js';

export type { JsonMessage };

/** The API version the client asks for (the mybuild daemon's). */
export const CLIENT_API_VERSION = API_VERSION;

export interface RequestOptions {
  query?: Record<string, string | string[] | undefined>;
  headers?: Record<string, string>;
  /** A JSON value (sent as application/json), a Buffer, or a stream (consumed). */
  body?: unknown;
  signal?: AbortSignal;
}

function codeFromStatus(status: number): ErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'ALREADY_EXISTS';
  if (status === 499) return 'CANCELED';
  if (status === 502) return 'REGISTRY';
  if (status >= 400 && status < 500) return 'INVALID_ARGUMENT';
  return 'IO';
}

/** The BuildError of a non-2xx answer: code and hint from a mybuild daemon's body (src/daemon/http.ts errorBody), else from the status; the body's `message`, else its text. */
function errorFromBody(status: number, text: string, fallback: string): BuildError {
  let message = text.trim();
  let code: ErrorCode = codeFromStatus(status);
  let hint: string | undefined;
  try {
    const j = JSON.parse(message) as { message?: string; code?: unknown; hint?: unknown };
    if (j.message) message = j.message;
    if (isCode(j.code)) code = j.code;
    if (typeof j.hint === 'string') [message, hint] = [withoutHint(message, j.hint), j.hint];
  } catch {
    // not JSON: keep the text
  }
  return new BuildError(code, message || fallback, hint ? { hint } : {});
}

/** A daemon message without the ` (hint: …)` the daemon appends for the docker CLI. */
function withoutHint(message: string, hint: string): string {
  const suffix = ` (hint: ${hint})`;
  return message.endsWith(suffix) ? message.slice(0, -suffix.length) : message;
}

function isCode(c: unknown): c is ErrorCode {
  return typeof c === 'string' && c in EXIT_CODES;
}

export class DaemonClient {
  private readonly addr: HostAddress;
  private readonly tls?: ClientTls;

  /**
   * `host`: unix:///path.sock or tcp://host:port; `tlsFlags`: the global --tls… flags (TLS for a
   * TCP daemon, see tls.ts). Throws UsageError for a malformed address or an unreadable file.
   */
  constructor(readonly host: string, env: NodeJS.ProcessEnv = process.env, tlsFlags: ClientTlsFlags = {}) {
    this.addr = parseHost(host);
    if (this.addr.kind === 'tcp') this.tls = clientTls(tlsFlags, env);
  }

  /** The client for `ctx.host` (which must be set). */
  static fromContext(ctx: { host?: string; env: NodeJS.ProcessEnv; tls?: ClientTlsFlags }): DaemonClient {
    if (!ctx.host) throw new InternalError('DaemonClient.fromContext without a host');
    return new DaemonClient(ctx.host, ctx.env, ctx.tls);
  }

  private requestOptions(method: string, p: string, o: RequestOptions): http.RequestOptions {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(o.query ?? {})) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) qs.append(k, x);
    }
    const q = qs.toString();
    const base: http.RequestOptions = { method, path: `/v${CLIENT_API_VERSION}${p}${q ? `?${q}` : ''}`, headers: { ...(o.headers ?? {}) }, signal: o.signal };
    if (this.addr.kind === 'unix') return { ...base, socketPath: this.addr.path, host: 'localhost' };
    const tls = this.tls ? { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, rejectUnauthorized: this.tls.verify } : {};
    return { ...base, host: this.addr.host, port: this.addr.port, ...tls } as http.RequestOptions;
  }

  private connectError(err: unknown): BuildError {
    const e = err as NodeJS.ErrnoException;
    if (e instanceof BuildError) return e;
    return new BuildError('IO', `cannot connect to the mybuild daemon at ${this.host}: ${e.message}`, {
      cause: err,
      hint:
        e.code === 'EACCES'
          ? 'you lack permission on the socket (mode 0660: root or its group)'
          : this.addr.kind === 'tcp' && !this.tls && e.code === 'ECONNRESET'
            ? 'a daemon with --tlsverify needs TLS: give --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY (or DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=DIR)'
            : 'is "mybuild daemon" running? Unset MYBUILD_HOST/-H to build daemonless',
    });
  }

  /** Sends a request; resolves with the response when its status is 2xx (or 304), else throws (see the module comment). The caller consumes the body. */
  async request(method: string, p: string, o: RequestOptions = {}): Promise<http.IncomingMessage> {
    const opts = this.requestOptions(method, p, o);
    let body: Buffer | Readable | undefined;
    if (o.body !== undefined) {
      if (Buffer.isBuffer(o.body)) body = o.body;
      else if (o.body && typeof (o.body as Readable).pipe === 'function') body = o.body as Readable;
      else {
        body = Buffer.from(JSON.stringify(o.body));
        opts.headers = { 'Content-Type': 'application/json', ...opts.headers };
      }
    }
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = (this.addr.kind === 'tcp' && this.tls ? https : http).request(opts, resolve);
      req.on('error', (err) => reject(this.connectError(err)));
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
    const status = res.statusCode ?? 0;
    if ((status >= 200 && status < 300) || status === 304) return res;
    throw errorFromBody(status, (await readAll(res)).toString('utf8'), `daemon answered ${status} for ${method} ${p}`);
  }

  /** A request whose 2xx answer is JSON. */
  async json<T>(method: string, p: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, p, o);
    const text = (await readAll(res)).toString('utf8');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Reads a JSON message stream, calling `onMessage` per message; throws BuildError on an
   * `errorDetail` message (code from its `errorCode` when a mybuild daemon sent one).
   */
  async stream(res: http.IncomingMessage, onMessage: (m: JsonMessage) => void): Promise<void> {
    let buf = '';
    const handle = (line: string) => {
      if (!line.trim()) return;
      const m = JSON.parse(line) as JsonMessage;
      if (m.errorDetail || m.error) {
        const code = isCode(m.errorCode) ? m.errorCode : 'IO';
        const message = m.errorDetail?.message ?? m.error ?? 'unknown error';
        throw new BuildError(code, m.errorHint ? withoutHint(message, m.errorHint) : message, m.errorHint ? { hint: m.errorHint } : {});
      }
      onMessage(m);
    };
    for await (const chunk of res) {
      buf += (chunk as Buffer).toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        handle(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
    handle(buf);
  }

  /** Opens a hijacked connection (attach); resolves with the raw socket after `101`. */
  async hijack(method: string, p: string, o: RequestOptions = {}): Promise<Duplex> {
    const opts = this.requestOptions(method, p, o);
    opts.headers = { ...opts.headers, Connection: 'Upgrade', Upgrade: 'tcp' };
    return new Promise((resolve, reject) => {
      const req = (this.addr.kind === 'tcp' && this.tls ? https : http).request(opts);
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', async (res) => {
        reject(errorFromBody(res.statusCode ?? 500, (await readAll(res)).toString('utf8'), `daemon answered ${res.statusCode} for ${method} ${p}`));
      });
      req.on('error', (err) => reject(this.connectError(err)));
      req.end();
    });
  }
}

/** Reads a whole response body (used for error bodies and small JSON answers). */
export async function readAll(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
