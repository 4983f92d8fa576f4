/**
 * Registry credentials between client and daemon, as the docker CLI sends them: the client
 * reads its own docker config (login stays client-side) and sends `X-Registry-Auth` (one
 * registry, pull/push) or `X-Registry-Config` (every registry, build); the daemon decodes them
 * (base64url or base64 JSON). Without a header the daemon uses its own config.
 */
import { readFile } from 'node:fs/promises';
import { BuildError } from '../errors.js';
import { normalizeRegistry } from '../image/reference.js';
import { dockerConfigPath, loadCredentials, type Credentials } from '../registry/auth.js';

// ---- client side

/**
 * The `X-Registry-Auth` header for `domain` from the client's docker config (login stays
 * client-side, as with docker): base64url JSON `{username, password}` or `{identitytoken}`;
 * undefined when the client has no credentials for it (the daemon then uses its own).
 */
export async function registryAuthHeader(domain: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const c = await loadCredentials(domain, env);
  if (!c) return undefined;
  const body = c.identityToken ? { username: c.username, identitytoken: c.identityToken, serveraddress: domain } : { username: c.username, password: c.password, serveraddress: domain };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/**
 * The `X-Registry-Config` header of a build: every registry the client's docker config has
 * credentials for (auths, credHelpers; through the helpers), as the docker CLI sends it, so
 * that FROM pulls in the daemon use the client's login. Undefined when there are none.
 */
export async function registryConfigHeader(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  let cfg: { auths?: Record<string, unknown>; credHelpers?: Record<string, unknown> };
  try {
    cfg = JSON.parse(await readFile(dockerConfigPath(env), 'utf8')) as typeof cfg;
  } catch {
    return undefined; // no (readable) config: the daemon's own credentials apply
  }
  const out: Record<string, { username?: string; password?: string; identitytoken?: string; serveraddress: string }> = {};
  for (const key of new Set([...Object.keys(cfg.auths ?? {}), ...Object.keys(cfg.credHelpers ?? {})])) {
    let domain: string;
    try {
      domain = normalizeRegistry(key);
    } catch {
      continue;
    }
    const c = await loadCredentials(domain, env);
    if (c) out[key] = { username: c.username, ...(c.identityToken ? { identitytoken: c.identityToken } : { password: c.password }), serveraddress: key };
  }
  return Object.keys(out).length ? Buffer.from(JSON.stringify(out)).toString('base64url') : undefined;
}

// ---- daemon side

/** Decodes an `X-Registry-Auth`/`X-Registry-Config` header (base64url or base64 JSON). Undefined when absent or empty. */
export function decodeAuthHeader(v: string | string[] | undefined): unknown {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  const text = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BuildError('INVALID_ARGUMENT', 'the registry auth header is not base64-encoded JSON', { cause: err });
  }
}

/** Credentials from an `X-Registry-Auth` header; undefined (use the daemon's config) when absent or empty. */
export function credentialsFromHeader(v: string | string[] | undefined): Credentials | undefined {
  return credentialsFromEntry(decodeAuthHeader(v));
}

/** Credentials from one Docker auth object (`{username, password}`, `{auth}` = base64 user:password, or `{identitytoken}`); undefined when it has none. */
export function credentialsFromEntry(entry: unknown): Credentials | undefined {
  const a = entry as { username?: string; password?: string; identitytoken?: string; auth?: string } | undefined;
  if (!a || typeof a !== 'object') return undefined;
  let { username, password } = a;
  if (!username && a.auth) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) [username, password] = [plain.slice(0, i), plain.slice(i + 1)];
  }
  if (a.identitytoken) return { username, identityToken: a.identitytoken };
  if (username || password) return { username, password };
  return undefined;
}

/**
 * The `X-Registry-Config` header (base64 JSON `{ "<registry>": {username, password | auth |
 * identitytoken} }`, as the docker CLI sends it) as credentials by normalised registry domain;
 * undefined when absent or empty. Entries with an invalid registry name are skipped. Throws
 * BuildError INVALID_ARGUMENT when the header is not base64 JSON.
 */
export function registryAuthFromHeader(v: string | string[] | undefined): Record<string, Credentials> | undefined {
  const cfg = decodeAuthHeader(v);
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) return undefined;
  const out: Record<string, Credentials> = {};
  for (const [key, entry] of Object.entries(cfg as Record<string, unknown>)) {
    let domain: string;
    try {
      domain = normalizeRegistry(key);
    } catch {
      continue;
    }
    const c = credentialsFromEntry(entry);
    if (c) out[domain] = c;
  }
  return Object.keys(out).length ? out : undefined;
}
