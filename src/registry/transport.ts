/**
 * HTTP(S) transport for registry calls, on node:http / node:https (so TLS roots and client
 * certificates per registry work, and bodies stream both ways).
 *
 * - Scheme: https, always, for ordinary registries. For loopback registries (localhost,
 *   127.0.0.0/8, [::1]) and registries listed in `insecureRegistries` (or
 *   MYBUILD_INSECURE_REGISTRIES) the first call probes `GET /v2/` over https and falls back to
 *   plain http when the server does not speak TLS (the handshake fails with "wrong version
 *   number" or the connection is reset), as Docker does; the choice is kept for the life of the
 *   Transport. Loopback registries still get their certificate verified (so a TLS registry on
 *   127.0.0.1 with an unknown CA is an error, not a silent downgrade); listed insecure
 *   registries do not (Docker's `--insecure-registry`: any certificate, or plain http).
 * - TLS: `<certsDir>/<host:port>/` (certsDir: the option, else MYBUILD_CERTS_DIR, else
 *   /etc/docker/certs.d) is honoured as Docker does: every `*.crt` there is an extra CA (added
 *   to Node's bundled roots), `client.cert` + `client.key` a client certificate (mutual TLS).
 *   The roots also include MYBUILD_EXTRA_CA_CERTS (where the `mybuild` launcher puts
 *   NODE_EXTRA_CA_CERTS, see src/util/trust.ts).
 * - Retries: `send` retries connection resets, timeouts, 429 and 5xx (500, 502, 503, 504) with
 *   exponential backoff, honouring `Retry-After` (capped), at most `retries` times, and only
 *   when the request body can be replayed (no body, a Buffer, or a body factory).
 * - Redirects (301/302/303/307/308) are followed (at most 5); Authorization is dropped when the
 *   redirect leaves the registry's host (blob storage backends).
 *
 * - Timeouts (src/registry/timeouts.ts): connect 30 s, TLS handshake 10 s, 60 s of silence
 *   waiting for the answer or inside a body; MYBUILD_REGISTRY_{CONNECT,TLS,}_TIMEOUT_MS change
 *   them. A timeout is retried once, and only when it is safe: nothing was sent yet (connect,
 *   handshake), or the method is idempotent (GET, HEAD, PUT, DELETE). A body that stalls after
 *   the headers fails its reader with a RegistryError.
 *
 * Failures that are not HTTP answers (DNS, connection refused, TLS, timeouts) become
 * RegistryError with a hint. HTTP answers, including errors, are returned to the caller, which owns the body stream:
 * it must consume or destroy `res.body`.
 */
import http from 'node:http';
import https from 'node:https';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRegistryError, RegistryError } from '../errors.js';
import { trustedCAs } from '../util/trust.js';
import { RequestTimeout, resolveTimeouts, TIMEOUT_ENV, watchRequest, type RegistryTimeouts } from './timeouts.js';

/** How to reach registries. All fields optional. */
export interface TransportOptions {
  /** Registries (host[:port]) whose TLS is not checked and that may use plain http (default: MYBUILD_INSECURE_REGISTRIES). */
  insecureRegistries?: string[];
  /** Docker's per-registry certificate folder (default: MYBUILD_CERTS_DIR, else /etc/docker/certs.d). */
  certsDir?: string;
  /** Environment for MYBUILD_CERTS_DIR (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Retries after the first try for retryable failures (default 4). */
  retries?: number;
  /** First backoff delay in ms, doubled per retry (default 200). */
  retryBaseMs?: number;
  /** Cap on a Retry-After wait in ms (default 10 000). */
  maxRetryAfterMs?: number;
  /** Silence allowed waiting for an answer or inside a body, in ms (default: MYBUILD_REGISTRY_TIMEOUT_MS, else 60 000). */
  timeoutMs?: number;
  /** TCP connect timeout in ms (default: MYBUILD_REGISTRY_CONNECT_TIMEOUT_MS, else 30 000). */
  connectTimeoutMs?: number;
  /** TLS handshake timeout in ms (default: MYBUILD_REGISTRY_TLS_TIMEOUT_MS, else 10 000, as Docker). */
  tlsHandshakeTimeoutMs?: number;
  userAgent?: string;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body; the caller consumes or destroys it. */
  body: http.IncomingMessage;
  /** The URL that answered (after redirects). */
  url: URL;
}

/** A request body: bytes, or a function opening a fresh stream (called once per try). */
export type RequestBody = Buffer | (() => Promise<Readable> | Readable);

export interface SendOptions {
  method: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** A streamed body that cannot be re-opened: never retried. */
  once?: boolean;
  /** Do not retry at all (the caller handles failures, e.g. resumable uploads). */
  noRetry?: boolean;
}

/** The host part (without port) of `host[:port]` or `[v6]:port`. */
export function hostOnly(domain: string): string {
  if (domain.startsWith('[')) return domain.slice(1, domain.indexOf(']'));
  const i = domain.lastIndexOf(':');
  return i >= 0 ? domain.slice(0, i) : domain;
}

/** True for localhost, 127.0.0.0/8 and ::1 (with or without a port). */
export function isLoopback(domain: string): boolean {
  const h = hostOnly(domain).toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** `insecureRegistries` from MYBUILD_INSECURE_REGISTRIES (comma or space separated). */
export function insecureRegistriesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.MYBUILD_INSECURE_REGISTRIES ?? '').split(/[\s,]+/).filter(Boolean);
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
/** Methods a timeout may be retried with once the request was sent (RFC 9110 idempotent methods). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
/** A timeout is retried at most this often: a registry silent twice is not coming back soon. */
const TIMEOUT_RETRIES = 1;
const RETRY_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

/** The default certs.d folder: MYBUILD_CERTS_DIR, else Docker's /etc/docker/certs.d. */
export function defaultCertsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MYBUILD_CERTS_DIR || '/etc/docker/certs.d';
}

/** True when `domain` is listed (as host[:port], optionally with a scheme or path) in `list`. */
export function isListedInsecure(domain: string, list: string[] = []): boolean {
  return list.some((r) => r.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '') === domain);
}

/** TLS handshake failures that mean "the server speaks plain http" (OpenSSL's wrong version number etc.). */
function looksLikePlainHttp(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  if (code === 'ECONNRESET' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ERR_SSL_HTTP_REQUEST') return true;
  return code === 'EPROTO' && /wrong version number|packet length too long|http request/i.test(e.message ?? '');
}

/** Any TLS handshake failure (for listed insecure registries, which fall back on all of them). */
function isTlsFailure(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  return looksLikePlainHttp(err) || code === 'EPROTO' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_');
}

/**
 * One registry endpoint: scheme, base URL and agents. Create one per registry domain and reuse
 * it (it keeps connections alive and remembers the scheme it probed). `close()` releases the
 * sockets; idempotent.
 */
export class Transport {
  readonly domain: string;
  /** Listed with --insecure-registry: TLS is not verified, plain http is allowed. */
  readonly insecure: boolean;
  /** Loopback or insecure: https is probed first, plain http is the fallback. */
  readonly mayUseHttp: boolean;
  /** The certs.d folder consulted for this registry (`<certsDir>/<domain>`). */
  readonly certsPath: string;
  private scheme: 'https' | 'http';
  private decided: boolean;
  private probing?: Promise<void>;
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent: http.Agent;
  private readonly opts: Required<Pick<TransportOptions, 'retries' | 'retryBaseMs' | 'maxRetryAfterMs'>> & { userAgent: string };
  /** Connect, TLS handshake and idle timeouts (see timeouts.ts). */
  readonly timeouts: RegistryTimeouts;

  constructor(domain: string, opts: TransportOptions = {}) {
    this.domain = domain;
    this.insecure = isListedInsecure(domain, opts.insecureRegistries ?? insecureRegistriesFromEnv(opts.env ?? process.env));
    this.mayUseHttp = this.insecure || isLoopback(domain);
    this.scheme = 'https';
    this.decided = !this.mayUseHttp;
    this.opts = {
      retries: opts.retries ?? 4,
      retryBaseMs: opts.retryBaseMs ?? 200,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 10_000,
      userAgent: opts.userAgent ?? 'mybuild/0.1',
    };
    this.timeouts = resolveTimeouts({ connectMs: opts.connectTimeoutMs, tlsHandshakeMs: opts.tlsHandshakeTimeoutMs, idleMs: opts.timeoutMs }, opts.env ?? process.env);
    const tlsOpts: https.AgentOptions = { keepAlive: true, maxSockets: 8 };
    this.certsPath = path.join(opts.certsDir ?? defaultCertsDir(opts.env ?? process.env), domain);
    let cas: Buffer[] = [];
    if (existsSync(this.certsPath)) {
      cas = readdirSync(this.certsPath).filter((f) => f.endsWith('.crt')).sort().map((f) => readFileSync(path.join(this.certsPath, f)));
      const cert = path.join(this.certsPath, 'client.cert');
      const key = path.join(this.certsPath, 'client.key');
      if (existsSync(cert) && existsSync(key)) {
        tlsOpts.cert = readFileSync(cert);
        tlsOpts.key = readFileSync(key);
      } else if (existsSync(cert) !== existsSync(key)) {
        throw new RegistryError(`registry ${domain}: ${this.certsPath} has ${existsSync(cert) ? 'client.cert but no client.key' : 'client.key but no client.cert'}`, { hint: 'a client certificate needs both files (as Docker expects)' });
      }
    }
    // certs.d roots are added to the system pool, as Docker does.
    const ca = trustedCAs(cas, opts.env ?? process.env);
    if (ca) tlsOpts.ca = ca;
    if (this.insecure) tlsOpts.rejectUnauthorized = false;
    this.httpsAgent = new https.Agent(tlsOpts);
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  }

  /** The base URL (`https://domain` until a probe chose plain http). */
  get base(): URL {
    return new URL(`${this.scheme}://${this.domain}`);
  }

  /** True when calls go over TLS (after `resolveScheme`, the probed answer). */
  get secure(): boolean {
    return this.scheme === 'https';
  }

  /**
   * Decides the scheme (see the module comment): immediately for ordinary registries, by one
   * `GET /v2/` over https for loopback / insecure ones. Idempotent (the probe runs once; a
   * failed probe is retried by the next call). Throws RegistryError when the registry cannot be
   * reached at all, or (loopback, not insecure) its certificate is not trusted.
   */
  async resolveScheme(): Promise<'https' | 'http'> {
    if (this.decided) return this.scheme;
    this.probing ??= (async () => {
      const url = new URL(`https://${this.domain}/v2/`);
      try {
        const res = await this.sendOnce(url, 'GET', {}, undefined);
        res.body.resume();
        this.scheme = 'https';
      } catch (err) {
        if (!(this.insecure ? isTlsFailure(err) : looksLikePlainHttp(err))) throw this.networkError(url, err);
        this.scheme = 'http';
      }
      this.decided = true;
    })();
    try {
      await this.probing;
    } catch (err) {
      this.probing = undefined;
      throw err;
    }
    return this.scheme;
  }

  /** An absolute URL on this registry for `pathOrUrl` (a path like `/v2/` or a Location header). */
  url(pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.base);
  }

  /**
   * Sends a request with retries and redirects (see the module comment). Returns the final
   * answer whatever its status; throws RegistryError when no answer could be had.
   */
  async send(target: URL, o: SendOptions): Promise<HttpResponse> {
    await this.resolveScheme();
    if (target.host === this.base.host && target.protocol !== `${this.scheme}:`) {
      // Built before the probe chose plain http (or a Location with the other scheme).
      target = new URL(target.href.replace(/^https?:/, `${this.scheme}:`));
    }
    const replayable = !o.once && !o.noRetry;
    let attempt = 0;
    let timeouts = 0;
    for (;;) {
      let res: HttpResponse;
      try {
        res = await this.sendFollowing(target, o);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (err instanceof RequestTimeout) {
          if (replayable && timeouts++ < TIMEOUT_RETRIES && (err.beforeSending || IDEMPOTENT.has(o.method))) continue;
          throw this.networkError(target, err, o.method);
        }
        if (replayable && attempt < this.opts.retries && RETRY_CODES.has(code)) {
          await sleep(this.backoff(attempt++));
          continue;
        }
        throw this.networkError(target, err);
      }
      if (replayable && attempt < this.opts.retries && RETRY_STATUS.has(res.status)) {
        const wait = retryAfterMs(res.headers['retry-after']);
        res.body.resume();
        await sleep(wait !== undefined ? Math.min(wait, this.opts.maxRetryAfterMs) : this.backoff(attempt));
        attempt++;
        continue;
      }
      return res;
    }
  }

  /** Releases the keep-alive sockets. Idempotent. */
  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }

  private backoff(attempt: number): number {
    return this.opts.retryBaseMs * 2 ** attempt;
  }

  private async sendFollowing(target: URL, o: SendOptions): Promise<HttpResponse> {
    let url = target;
    let headers = { ...(o.headers ?? {}) };
    for (let hops = 0; ; hops++) {
      const res = await this.sendOnce(url, o.method, headers, o.body);
      if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location && hops < 5) {
        res.body.resume();
        const next = new URL(res.headers.location, url);
        if (next.host !== url.host) {
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
        }
        url = next;
        continue;
      }
      return res;
    }
  }

  private async sendOnce(url: URL, method: string, headers: Record<string, string>, body: RequestBody | undefined): Promise<HttpResponse> {
    const stream = typeof body === 'function' ? await body() : undefined;
    const lib = url.protocol === 'https:' ? https : http;
    const own = url.host === new URL(`https://${this.domain}`).host;
    const agent = own ? (url.protocol === 'https:' ? this.httpsAgent : this.httpAgent) : undefined;
    return await new Promise<HttpResponse>((resolve, reject) => {
      const h: Record<string, string> = { 'user-agent': this.opts.userAgent, ...headers };
      if (Buffer.isBuffer(body)) h['content-length'] = String(body.length);
      else if (body === undefined && method !== 'GET' && method !== 'HEAD' && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['content-length'] = '0';
      const req = lib.request(url, { method, headers: h, agent });
      let done = false;
      let response: http.IncomingMessage | undefined;
      const fail = (err: Error): void => {
        if (done) return;
        done = true;
        stream?.destroy();
        req.destroy();
        reject(err);
      };
      watchRequest(req, url.protocol === 'https:', this.timeouts, (e) => {
        if (!done) fail(e);
        // The answer's body stopped: its reader gets the error (it names the registry).
        else response?.destroy(this.networkError(url, e, method));
      });
      req.on('error', fail);
      req.on('response', (res) => {
        done = true;
        response = res;
        // The server answered before reading the whole body (e.g. 401 on an upload): stop sending.
        if (stream && !stream.readableEnded) stream.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
      });
      if (stream) {
        stream.on('error', fail);
        stream.pipe(req);
      } else {
        req.end(body);
      }
    });
  }

  private networkError(url: URL, err: unknown, method = 'GET'): RegistryError {
    if (isRegistryError(err)) return err;
    const e = err as NodeJS.ErrnoException;
    const code = e.code ?? '';
    const where = `${this.domain} (${url.protocol}//${url.host})`;
    if (err instanceof RequestTimeout) return this.timeoutError(where, url, method, err);
    switch (code) {
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new RegistryError(`cannot reach registry ${where}: host "${hostOnly(this.domain)}" not found (${code})`, { cause: err, hint: 'check the registry name in the image reference and your DNS' });
      case 'ECONNREFUSED':
        return new RegistryError(`cannot reach registry ${where}: connection refused`, { cause: err, hint: 'is the registry running and listening on that port?' });
      case 'ECONNRESET':
      case 'EPIPE':
        return new RegistryError(`registry ${where} closed the connection (${code})`, { cause: err, hint: 'the registry or a proxy dropped the connection; try again' });
      case 'ETIMEDOUT':
        return new RegistryError(`registry ${where} did not answer: ${e.message}`, { cause: err });
      case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      case 'SELF_SIGNED_CERT_IN_CHAIN':
      case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      case 'UNABLE_TO_GET_ISSUER_CERT':
      case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
        return new RegistryError(`registry ${where}: its TLS certificate is not trusted (${e.message}, ${code})`, {
          cause: err,
          hint: `put the CA certificate that signed it in ${path.join(this.certsPath, 'ca.crt')}, or mark the registry insecure: ${insecureHint(this.domain)}`,
        });
      case 'CERT_HAS_EXPIRED':
      case 'CERT_NOT_YET_VALID':
        return new RegistryError(`registry ${where}: its TLS certificate is not valid now (${e.message}, ${code})`, { cause: err, hint: `renew the registry's certificate (or check this machine's clock), or mark it insecure: ${insecureHint(this.domain)}` });
      case 'ERR_TLS_CERT_ALTNAME_INVALID':
        return new RegistryError(`registry ${where}: its TLS certificate is for another name (${e.message})`, { cause: err, hint: `the certificate must name "${hostOnly(this.domain)}" in its subjectAltName; or mark it insecure: ${insecureHint(this.domain)}` });
      case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
      case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
      case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
      case 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE':
        return new RegistryError(`registry ${where} refused the TLS handshake: it wants a client certificate it trusts (${code})`, {
          cause: err,
          hint: `put the client certificate and its key in ${path.join(this.certsPath, 'client.cert')} and ${path.join(this.certsPath, 'client.key')}`,
        });
      case 'EPROTO':
      case 'ERR_SSL_WRONG_VERSION_NUMBER':
        return new RegistryError(`TLS error talking to registry ${where}: ${e.message}`, { cause: err, hint: `if the registry serves plain http, mark it insecure: ${insecureHint(this.domain)}` });
      default:
        return new RegistryError(`request to registry ${where} failed: ${e.message ?? String(err)}${code ? ` (${code})` : ''}`, { cause: err });
    }
  }

  /** What timed out, in words, with the variable that sets that timeout. */
  private timeoutError(where: string, url: URL, method: string, t: RequestTimeout): RegistryError {
    const request = `${method} ${url.pathname}`;
    const env = (k: keyof RegistryTimeouts) => `${TIMEOUT_ENV[k]} (ms) sets this timeout`;
    switch (t.phase) {
      case 'connect':
        return new RegistryError(`cannot reach registry ${where}: connection timed out after ${t.ms} ms`, { cause: t, hint: `is the host up and the port open (no firewall dropping packets)? ${env('connectMs')}` });
      case 'tls':
        return new RegistryError(`registry ${where}: TLS handshake timed out after ${t.ms} ms (the server accepted the connection but did not answer the handshake)`, { cause: t, hint: `is it a TLS server? ${env('tlsHandshakeMs')}` });
      case 'response':
        return new RegistryError(`registry ${where} did not answer ${request} within ${t.ms} ms (timed out waiting for the response headers)`, { cause: t, hint: env('idleMs') });
      case 'body':
        return new RegistryError(`registry ${where} stopped sending the answer to ${request}: no data for ${t.ms} ms (timed out reading the body)`, { cause: t, hint: env('idleMs') });
    }
  }
}

/** Milliseconds to wait from a Retry-After header (seconds or an HTTP date), or undefined. */
export function retryAfterMs(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/** Reads a (small) body whole, refusing more than `max` bytes. Destroys the stream on overflow. */
export async function readBody(res: HttpResponse, max = 4 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > max) {
      res.body.destroy();
      throw new RegistryError(`registry ${res.url.host} sent more than ${max} bytes for ${res.url.pathname}`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** How to mark `domain` insecure everywhere: the variable every command reads, and the flag of pull, push and login. */
export function insecureHint(domain: string): string {
  return `MYBUILD_INSECURE_REGISTRIES=${domain} (or --insecure-registry ${domain} on pull, push and login)`;
}

/**
 * True when `err` means an answer's body broke off on the way (the connection closed or reset
 * mid-body, or the body stalled past the idle timeout): the request may be sent again, or the
 * rest asked for with a Range.
 */
export function isBodyInterrupted(err: unknown): boolean {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (isRegistryError(err)) return cause instanceof RequestTimeout && cause.phase === 'body';
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.code === 'EPIPE' || e?.message === 'aborted';
}
