/**
 * A client for one registry (the distribution / OCI distribution-spec HTTP API v2). It pings
 * `/v2/` once to learn how the registry authenticates, then attaches Basic credentials or a
 * Bearer token (fetched per scope, cached until it expires, refreshed on a 401) to each call.
 *
 * Credentials come from `opts.credentials`, or Docker's config.json / credential helpers when
 * it is undefined (`null` forces anonymous access; anonymous Bearer tokens are fetched too).
 *
 * Errors: every non-success answer becomes a RegistryError naming the registry and what it
 * answered (`manifest unknown (404)`, `unauthorized: authentication required (401)`); callers
 * prefix it with the operation (`pull 127.0.0.1:5000/x:nope: …`). Network failures are
 * RegistryErrors with hints (see transport.ts).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { DigestMismatchError, hasCode, isRegistryError, RegistryError } from '../errors.js';
import { MediaTypes, type Digest } from '../oci/types.js';
import { basicAuth, loadCredentials, parseWwwAuthenticate, TokenCache, type Challenge, type Credentials } from './auth.js';
import { isBodyInterrupted, readBody, Transport, type HttpResponse, type RequestBody, type TransportOptions } from './transport.js';

export interface ClientOptions extends TransportOptions {
  /** Explicit credentials; `null` = anonymous; undefined = from config.json / helpers. */
  credentials?: Credentials | null;
  /** Environment for config.json lookup and helpers (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** config.json path (default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`). */
  configFile?: string;
}

/** The manifest media types a pull accepts, most preferred first. */
export const MANIFEST_ACCEPT = [
  MediaTypes.OCI_INDEX,
  MediaTypes.DOCKER_MANIFEST_LIST,
  MediaTypes.OCI_MANIFEST,
  MediaTypes.DOCKER_MANIFEST,
  MediaTypes.DOCKER_SCHEMA1_SIGNED,
  MediaTypes.DOCKER_SCHEMA1_MANIFEST,
];

export interface RequestOptions {
  /** Token scopes, e.g. `repository:a/b:pull`. */
  scopes?: string[];
  headers?: Record<string, string>;
  body?: RequestBody;
  /** The body is a stream that cannot be re-opened: no retry, no 401 replay. */
  once?: boolean;
  noRetry?: boolean;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/** Tries of a manifest download whose body broke off or did not match its digest. */
const MANIFEST_TRIES = 5;

const sha256 = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** `repository:<path>:<actions>` */
export function repoScope(path: string, actions: string[]): string {
  return `repository:${path}:${actions.join(',')}`;
}

/**
 * One registry. Reuse it for many calls (connections are kept alive, tokens cached); call
 * `close()` when done (idempotent).
 */
export class RegistryClient {
  readonly domain: string;
  readonly transport: Transport;
  private readonly opts: ClientOptions;
  private credsPromise?: Promise<Credentials | undefined>;
  private pingPromise?: Promise<Challenge | null>;
  private readonly tokens = new TokenCache();

  constructor(domain: string, opts: ClientOptions = {}) {
    this.domain = domain;
    this.opts = opts;
    this.transport = new Transport(domain, opts);
  }

  close(): void {
    this.transport.close();
  }

  private credentials(): Promise<Credentials | undefined> {
    if (this.opts.credentials === null) return Promise.resolve(undefined);
    if (this.opts.credentials) return Promise.resolve(this.opts.credentials);
    this.credsPromise ??= loadCredentials(this.domain, this.opts.env ?? process.env, this.opts.configFile);
    return this.credsPromise;
  }

  /**
   * `GET /v2/`: resolves the auth challenge (Bearer/Basic) or null when the registry needs
   * none. Cached. Throws RegistryError when the registry answers anything but 200 or 401.
   */
  ping(): Promise<Challenge | null> {
    this.pingPromise ??= (async () => {
      const res = await this.transport.send(this.transport.url('/v2/'), { method: 'GET' });
      if (res.status === 200) {
        res.body.resume();
        return null;
      }
      if (res.status === 401) {
        res.body.resume();
        const cs = parseWwwAuthenticate(res.headers['www-authenticate']);
        const c = cs.find((x) => x.scheme === 'bearer') ?? cs.find((x) => x.scheme === 'basic');
        if (!c) throw new RegistryError(`registry ${this.domain} asks for authentication with an unsupported scheme: ${String(res.headers['www-authenticate'] ?? '(no WWW-Authenticate header)')}`);
        return c;
      }
      throw await this.answerError(res, `registry ${this.domain} is not a v2 registry (GET /v2/)`);
    })();
    this.pingPromise.catch(() => (this.pingPromise = undefined));
    return this.pingPromise;
  }

  /**
   * Checks that the configured credentials are accepted (what `login` does): with Basic auth,
   * `GET /v2/` with them; with Bearer, a token request with them. Throws RegistryError
   * ("… incorrect username or password (401)") when they are refused.
   */
  async checkLogin(): Promise<void> {
    const challenge = await this.ping();
    if (!challenge) return;
    const creds = await this.credentials();
    if (challenge.scheme === 'basic') {
      const res = await this.transport.send(this.transport.url('/v2/'), { method: 'GET', headers: creds ? { authorization: basicAuth(creds) } : {} });
      if (res.status === 200) {
        res.body.resume();
        return;
      }
      throw await this.answerError(res, `login to ${this.domain}`);
    }
    await this.fetchToken(challenge, [], true);
  }

  private async fetchToken(challenge: Challenge, scopes: string[], force = false): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`registry ${this.domain} sent a Bearer challenge without a realm`);
    const service = challenge.params.service;
    const key = TokenCache.key(realm, service, scopes);
    const cached = force ? undefined : this.tokens.get(key);
    if (cached) return cached;
    const creds = await this.credentials();
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`registry ${this.domain} sent an invalid token realm "${realm}"`);
    }
    let res: HttpResponse;
    if (creds?.identityToken) {
      // OAuth2 refresh-token grant (distribution docs/spec/auth/oauth.md).
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'mybuild', ...(service ? { service } : {}) });
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.transport.send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (creds?.username !== undefined) url.searchParams.set('account', creds.username);
      res = await this.transport.send(url, { method: 'GET', headers: creds?.username !== undefined ? { authorization: basicAuth(creds) } : {} });
    }
    if (res.status !== 200) {
      throw await this.answerError(res, `token request to ${url.host}${url.pathname} for ${this.domain}`);
    }
    const body = await readBody(res, 1 << 20);
    let v: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      v = JSON.parse(body.toString('utf8')) as typeof v;
    } catch {
      throw new RegistryError(`token server ${url.host} for ${this.domain} answered with invalid JSON`);
    }
    const token = v.token ?? v.access_token;
    if (!token) throw new RegistryError(`token server ${url.host} for ${this.domain} answered without a token`);
    this.tokens.set(key, token, v.expires_in, v.issued_at);
    return token;
  }

  private async authHeader(scopes: string[], force = false): Promise<string | undefined> {
    const challenge = await this.ping();
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const creds = await this.credentials();
      return creds?.username !== undefined ? basicAuth(creds) : undefined;
    }
    return `Bearer ${await this.fetchToken(challenge, scopes, force)}`;
  }

  /**
   * One authenticated call. Returns the answer whatever its status (the caller owns the body).
   * On a 401 a replayable request is sent once more with a fresh token.
   */
  async request(method: string, pathOrUrl: string, o: RequestOptions = {}): Promise<HttpResponse> {
    const scopes = o.scopes ?? [];
    const url = this.transport.url(pathOrUrl);
    const send = async (force: boolean): Promise<HttpResponse> => {
      const auth = await this.authHeader(scopes, force);
      return await this.transport.send(url, { method, headers: { ...(o.headers ?? {}), ...(auth ? { authorization: auth } : {}) }, body: o.body, once: o.once, noRetry: o.noRetry });
    };
    const res = await send(false);
    if (res.status === 401 && !o.once && (await this.ping())?.scheme === 'bearer') {
      res.body.resume();
      return await send(true);
    }
    return res;
  }

  /**
   * A RegistryError for a non-success answer: `<context>: <registry's messages> (<status>)`,
   * with a hint for 401/403. Consumes the body.
   */
  async answerError(res: HttpResponse, context: string): Promise<RegistryError> {
    let text = '';
    try {
      text = (await readBody(res, 64 << 10)).toString('utf8');
    } catch {
      // a broken error body: the status alone will do
    }
    let detail = '';
    try {
      const v = JSON.parse(text) as { errors?: { code?: string; message?: string }[]; details?: string; error?: string };
      if (Array.isArray(v.errors) && v.errors.length) detail = v.errors.map((e) => e.message || e.code || '').filter(Boolean).join('; ');
      else if (typeof v.details === 'string') detail = v.details;
      else if (typeof v.error === 'string') detail = v.error;
    } catch {
      detail = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
    }
    if (!detail) detail = (http.STATUS_CODES[res.status] ?? 'unexpected answer').toLowerCase();
    const message = `${context}: ${detail} (${res.status})`;
    if (res.status === 401) {
      const creds = await this.credentials().catch(() => undefined);
      return new RegistryError(message, { hint: creds ? `the registry refused the credentials for ${this.domain}; check them with "mybuild login ${this.domain}"` : `log in first: mybuild login ${this.domain}` });
    }
    if (res.status === 403) return new RegistryError(message, { hint: `your account has no access to this repository on ${this.domain}` });
    if (res.status === 429) return new RegistryError(message, { hint: 'the registry rate-limits requests; wait and try again' });
    return new RegistryError(message);
  }

  /**
   * `GET /v2/<repo>/manifests/<reference>` with the given Accept types. Checks the bytes against
   * `reference` when it is a digest, and against `Docker-Content-Digest` when sent; refuses
   * more than 4 MiB. A body that breaks off or does not match is fetched again (5 tries). Throws RegistryError (`manifest unknown (404)`, …) or DigestMismatchError.
   */
  async getManifest(repo: string, reference: string, accept: string[] = MANIFEST_ACCEPT, context = `${this.domain}/${repo}:${reference}`): Promise<FetchedManifest> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.getManifestOnce(repo, reference, accept, context);
      } catch (err) {
        // A body that broke off or came mangled: fetch it again (a GET), a few times.
        if (attempt >= MANIFEST_TRIES || !(isBodyInterrupted(err) || hasCode(err, 'DIGEST_MISMATCH'))) {
          throw isBodyInterrupted(err) && !isRegistryError(err) ? new RegistryError(`${context}: the manifest download broke off (${(err as Error).message})`, { cause: err, hint: 'the connection broke; try again' }) : err;
        }
      }
    }
  }

  private async getManifestOnce(repo: string, reference: string, accept: string[], context: string): Promise<FetchedManifest> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${reference}`, { scopes: [repoScope(repo, ['pull'])], headers: { accept: accept.join(', ') } });
    if (res.status !== 200) throw await this.answerError(res, context);
    const bytes = await readBody(res, 4 << 20);
    const digest = sha256(bytes);
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new DigestMismatchError(`${context}: the manifest the registry sent has digest ${digest}`, { hint: 'the registry or a proxy altered the manifest' });
    }
    const header = res.headers['docker-content-digest'];
    if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest) {
      throw new DigestMismatchError(`${context}: the manifest hashes to ${digest} but the registry says ${header}`);
    }
    let mediaType = String(res.headers['content-type'] ?? '').split(';')[0].trim();
    try {
      const v = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
      if (typeof v.mediaType === 'string' && v.mediaType) mediaType = v.mediaType;
    } catch {
      // parsed (and reported) by the caller
    }
    return { bytes, mediaType, digest };
  }

  /** `HEAD /v2/<repo>/blobs/<digest>`: the blob's size, or null when the registry lacks it. */
  async blobSize(repo: string, digest: Digest, scopes = [repoScope(repo, ['pull'])], context = `${this.domain}/${repo}: blob ${digest}`): Promise<number | null> {
    const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, { scopes });
    res.body.resume();
    if (res.status === 200) return Number(res.headers['content-length'] ?? -1);
    if (res.status === 404) return null;
    throw await this.answerError(res, context);
  }

  /** `HEAD /v2/<repo>/manifests/<ref>`: the digest, or null when unknown. */
  async manifestDigest(repo: string, reference: string, accept: string[] = MANIFEST_ACCEPT, scopes = [repoScope(repo, ['pull'])]): Promise<Digest | null> {
    const res = await this.request('HEAD', `/v2/${repo}/manifests/${reference}`, { scopes, headers: { accept: accept.join(', ') } });
    res.body.resume();
    if (res.status === 200) return (res.headers['docker-content-digest'] as Digest | undefined) ?? null;
    if (res.status === 404) return null;
    throw await this.answerError(res, `${this.domain}: HEAD manifest ${reference}`);
  }

  /**
   * `GET /v2/<repo>/blobs/<digest>`: the body stream (the caller consumes or destroys it and
   * verifies the digest, e.g. through ContentStore.write). With `from` > 0 it asks for the rest
   * of the blob (`Range: bytes=<from>-`): `offset` is then where the body starts, `from` when
   * the registry honoured the range (206) or 0 when it sent the whole blob (200; the caller
   * skips what it has). Throws RegistryError on any other answer, or a 206 for another range.
   */
  async blobStream(repo: string, digest: Digest, context = `${this.domain}/${repo}: blob ${digest}`, from = 0): Promise<{ body: Readable; size: number | undefined; offset: number }> {
    const headers: Record<string, string> = from > 0 ? { range: `bytes=${from}-` } : {};
    const res = await this.request('GET', `/v2/${repo}/blobs/${digest}`, { scopes: [repoScope(repo, ['pull'])], headers });
    const len = res.headers['content-length'];
    const size = len !== undefined ? Number(len) : undefined;
    if (res.status === 200) return { body: res.body, size, offset: 0 };
    if (res.status === 206 && from > 0) {
      const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== from) {
        res.body.destroy();
        throw new RegistryError(`${context}: asked for bytes ${from}- and the registry answered Content-Range "${String(res.headers['content-range'] ?? '')}"`);
      }
      return { body: res.body, size, offset: from };
    }
    throw await this.answerError(res, context);
  }

  /** `PUT /v2/<repo>/manifests/<reference>` with the exact bytes and media type; returns the digest the registry reports (or ours). */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string, context = `${this.domain}/${repo}:${reference}`): Promise<Digest> {
    const res = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, { scopes: [repoScope(repo, ['pull', 'push'])], headers: { 'content-type': mediaType }, body: bytes });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await this.answerError(res, `${context}: manifest`);
    res.body.resume();
    const d = sha256(bytes);
    const header = res.headers['docker-content-digest'];
    if (typeof header === 'string' && header !== d) throw new DigestMismatchError(`${context}: the pushed manifest hashes to ${d} but the registry says ${header}`);
    return d;
  }
}
