/**
 * Registry authentication: `WWW-Authenticate` challenges, credentials from Docker's
 * config.json (and credential helpers), and the Bearer token flow of the distribution token
 * spec (docs/spec/auth/token.md), with tokens cached per scope until they expire.
 *
 * config.json is `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`:
 *
 *     { "auths": { "localhost:5000": { "auth": base64("user:pass"), "identitytoken": "…" } },
 *       "credsStore": "pass", "credHelpers": { "reg.example": "ecr-login" } }
 *
 * A helper is the program `docker-credential-<name>` on PATH, spoken to as Docker does:
 * `get` with the server URL on stdin answers `{"ServerURL","Username","Secret"}` (Username
 * `<token>` means Secret is an identity token); `store` takes that JSON; `erase` the URL.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BuildError, RegistryError } from '../errors.js';
import { DOCKER_HUB_CONFIG_KEY, DOCKER_HUB_DOMAIN } from '../oci/reference.js';
import { normalizeRegistry } from '../image/reference.js';

/** One auth challenge from a `WWW-Authenticate` header. */
export interface Challenge {
  /** Lowercased scheme: `bearer` or `basic` (others are kept but unsupported). */
  scheme: string;
  /** Parameters, keys lowercased: realm, service, scope, error… */
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235): one or more challenges, each a scheme and
 * comma-separated `key=value` / `key="quoted \" value"` parameters. Never throws; junk yields [].
 */
export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /[\s,]/.test(text[i])) i++;
  };
  const token = (): string => {
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(text.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  while (i < text.length) {
    ws();
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const c: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(c);
    for (;;) {
      while (i < text.length && /[\s]/.test(text[i])) i++;
      const save = i;
      if (text[i] === ',') i++;
      while (i < text.length && /\s/.test(text[i])) i++;
      const key = token();
      while (i < text.length && /\s/.test(text[i])) i++;
      if (!key || text[i] !== '=') {
        i = save;
        break;
      }
      i++;
      while (i < text.length && /\s/.test(text[i])) i++;
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++;
          value += text[i++];
        }
        i++;
      } else {
        value = token();
      }
      c.params[key.toLowerCase()] = value;
    }
  }
  return out;
}

/** Credentials for one registry. `identityToken` is an OAuth2 refresh token (from `login` on token registries). */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; [k: string]: unknown }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

/** Where config.json lives: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/** The key Docker uses in `auths` / helpers for a registry domain. */
export function configKey(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_CONFIG_KEY : domain;
}

async function readConfig(file: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new BuildError('IO', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as DockerConfigFile;
  } catch (err) {
    throw new BuildError('INVALID_ARGUMENT', `${file} is not valid JSON: ${(err as Error).message}`, { cause: err, hint: 'fix or remove the file' });
  }
}

function sameRegistry(key: string, domain: string): boolean {
  try {
    return normalizeRegistry(key) === domain;
  } catch {
    return false;
  }
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin; resolves stdout, or null when it says "not found". */
async function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  const prog = `docker-credential-${helper}`;
  return await new Promise<string | null>((resolve, reject) => {
    const child = spawn(prog, [action], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    child.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      reject(new RegistryError(`credential helper ${prog} could not be run: ${code === 'ENOENT' ? 'not found on PATH' : err.message}`, { cause: err, hint: `install ${prog}, or remove it from ${'credsStore/credHelpers'} in config.json` }));
    });
    child.on('close', (code) => {
      if (code === 0) return resolve(out);
      const msg = (out + errText).trim();
      if (action === 'get' && /credentials not found/i.test(msg)) return resolve(null);
      reject(new RegistryError(`credential helper ${prog} ${action} failed (exit ${code}): ${msg || 'no output'}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/**
 * The credentials for `domain` (a normalised registry domain such as `localhost:5000` or
 * `docker.io`), from the credential helper named for it, else the `credsStore`, else `auths`.
 * Returns undefined when there are none. Throws RegistryError when a helper fails, BuildError
 * INVALID_ARGUMENT when config.json is not JSON.
 */
export async function loadCredentials(domain: string, env: NodeJS.ProcessEnv = process.env, configFile = dockerConfigPath(env)): Promise<Credentials | undefined> {
  const cfg = await readConfig(configFile);
  const helperKey = Object.keys(cfg.credHelpers ?? {}).find((k) => sameRegistry(k, domain));
  const helper = helperKey ? cfg.credHelpers![helperKey] : cfg.credsStore;
  if (helper) {
    const out = await runHelper(helper, 'get', configKey(domain), env);
    if (out !== null) {
      let v: { Username?: string; Secret?: string };
      try {
        v = JSON.parse(out) as typeof v;
      } catch {
        throw new RegistryError(`credential helper docker-credential-${helper} answered with invalid JSON: ${out.slice(0, 200)}`);
      }
      if (v.Username === '<token>') return { identityToken: v.Secret };
      if (v.Username || v.Secret) return { username: v.Username, password: v.Secret };
    }
    if (helperKey) return undefined;
  }
  const key = Object.keys(cfg.auths ?? {}).find((k) => sameRegistry(k, domain));
  if (!key) return undefined;
  const entry = cfg.auths![key];
  const creds: Credentials = {};
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new BuildError('INVALID_ARGUMENT', `${configFile}: auths["${key}"].auth is not base64 of "user:password"`);
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1);
  } else if (entry.username !== undefined) {
    creds.username = entry.username;
    creds.password = entry.password;
  }
  if (entry.identitytoken) creds.identityToken = entry.identitytoken;
  return creds.username !== undefined || creds.identityToken ? creds : undefined;
}

async function writeConfig(file: string, cfg: DockerConfigFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(cfg, null, '\t')}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/**
 * Saves credentials for `domain` as `docker login` does: through the helper for it or the
 * `credsStore` when one is configured, else as `auths[key].auth` (base64 user:password) in
 * config.json, written atomically with mode 0600. Other keys of the file are kept.
 */
export async function storeCredentials(domain: string, creds: { username: string; password: string }, env: NodeJS.ProcessEnv = process.env, configFile = dockerConfigPath(env)): Promise<string> {
  const cfg = await readConfig(configFile);
  const key = configKey(domain);
  const helperKey = Object.keys(cfg.credHelpers ?? {}).find((k) => sameRegistry(k, domain));
  const helper = helperKey ? cfg.credHelpers![helperKey] : cfg.credsStore;
  cfg.auths ??= {};
  for (const k of Object.keys(cfg.auths)) if (sameRegistry(k, domain)) delete cfg.auths[k];
  if (helper) {
    await runHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }), env);
    cfg.auths[key] = {};
  } else {
    cfg.auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  }
  await writeConfig(configFile, cfg);
  return configFile;
}

/**
 * Removes the credentials for `domain` (from `auths` and, when configured, the helper).
 * Returns false when there were none. Idempotent.
 */
export async function eraseCredentials(domain: string, env: NodeJS.ProcessEnv = process.env, configFile = dockerConfigPath(env)): Promise<boolean> {
  const cfg = await readConfig(configFile);
  const keys = Object.keys(cfg.auths ?? {}).filter((k) => sameRegistry(k, domain));
  const helperKey = Object.keys(cfg.credHelpers ?? {}).find((k) => sameRegistry(k, domain));
  const helper = helperKey ? cfg.credHelpers![helperKey] : cfg.credsStore;
  if (helper && keys.length) {
    try {
      await runHelper(helper, 'erase', configKey(domain), env);
    } catch {
      // Docker ignores helper erase failures too: the auths entry is removed regardless.
    }
  }
  if (!keys.length) return false;
  for (const k of keys) delete cfg.auths![k];
  await writeConfig(configFile, cfg);
  return true;
}

/** The `Authorization: Basic` value for user:password. */
export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
}

/** A cached bearer token. */
export interface CachedToken {
  token: string;
  /** Epoch ms after which the token must not be used. */
  expiresAt: number;
}

/**
 * Bearer tokens per scope key (realm + service + sorted scopes). `get` returns a token still
 * valid for at least 10 s; expired entries are dropped.
 */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  constructor(private readonly now: () => number = Date.now) {}
  static key(realm: string, service: string | undefined, scopes: string[]): string {
    return `${realm}|${service ?? ''}|${[...scopes].sort().join(' ')}`;
  }
  get(key: string): string | undefined {
    const t = this.tokens.get(key);
    if (!t) return undefined;
    if (t.expiresAt - 10_000 <= this.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return t.token;
  }
  set(key: string, token: string, expiresInSec: number | undefined, issuedAt?: string): void {
    // The token spec: expires_in defaults to 60 s; issued_at, when given, is the start.
    const start = issuedAt && !Number.isNaN(Date.parse(issuedAt)) ? Math.min(Date.parse(issuedAt), this.now()) : this.now();
    this.tokens.set(key, { token, expiresAt: start + (expiresInSec && expiresInSec > 0 ? expiresInSec : 60) * 1000 });
  }
  delete(key: string): void {
    this.tokens.delete(key);
  }
}
