/**
 * Image endpoints beyond images.ts: `POST /commit` (src/containers/commit.ts), import
 * (`POST /images/create?fromSrc=-|URL`, the request body or a downloaded tarball, through the
 * daemonless `import`'s importRootfs), `GET /distribution/{name}/json` (the registry's
 * descriptor and platforms of a reference) and `POST /auth` (credentials checked against the
 * registry, as `docker login` through the daemon).
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BuildError, NotFoundError, UsageError } from '../../errors.js';
import { commitContainer } from '../../containers/commit.js';
import { importRootfs } from '../../image/formats/import.js';
import { parseReference, withTag } from '../../image/reference.js';
import { hostPlatform } from '../../oci/platform.js';
import { RegistryClient } from '../../registry/client.js';
import { insecureRegistriesFromEnv } from '../../registry/transport.js';
import { credentialsFromHeader } from '../../api/auth.js';
import { boolParam, JsonLines, readJson, sendJson, withStatus } from '../http.js';
import type { Route, RouteRequest } from '../server.js';
import type { ContainerConfig, Index, Manifest } from '../../oci/types.js';

/** The full name `repo[:tag]` of the query's repo/tag (undefined without repo). */
function targetName(query: URLSearchParams): string | undefined {
  const repo = query.get('repo');
  if (!repo) return undefined;
  const tag = query.get('tag');
  const ref = tag ? withTag(parseReference(repo), tag) : parseReference(repo);
  if (ref.digest) throw new UsageError(`refusing to create a tag with a digest reference: ${repo}`);
  return ref.toString();
}

async function commit({ req, res, state, query }: RouteRequest): Promise<void> {
  const container = query.get('container');
  if (!container) throw new UsageError('commit: the container parameter is required');
  const config = await readJson<ContainerConfig | null>(req, null);
  const name = targetName(query);
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(container);
  const img = await commitContainer(mgr, c.id, {
    ...(config ? { config } : {}),
    changes: query.getAll('changes').filter(Boolean),
    ...(query.get('comment') ? { comment: query.get('comment')! } : {}),
    ...(query.get('author') ? { author: query.get('author')! } : {}),
    pause: query.get('pause') === null ? true : boolParam(query, 'pause'),
  });
  if (name) await state.images.setRef(name, img.manifestDescriptor);
  else await state.images.addDangling(img.manifestDescriptor);
  state.events.container('commit', c, { comment: query.get('comment') ?? '' });
  sendJson(res, 201, { Id: img.configDescriptor.digest });
}

/** `POST /images/create?fromSrc=…[&repo=&tag=&changes=&message=&platform=]`: dockerd's import. */
export async function importImage({ req, res, state, query }: RouteRequest): Promise<void> {
  const src = query.get('fromSrc')!;
  const name = targetName(query);
  let input: Readable;
  if (src === '-') input = req;
  else if (/^https?:\/\//.test(src)) {
    const r = await fetch(src).catch((err: unknown) => {
      throw new BuildError('INVALID_ARGUMENT', `import: cannot download ${src}: ${(err as Error).message}`);
    });
    if (!r.ok || !r.body) throw new BuildError('INVALID_ARGUMENT', `import: downloading ${src}: HTTP ${r.status}`);
    input = Readable.fromWeb(r.body as unknown as WebReadableStream);
  } else throw new UsageError(`import: fromSrc "${src}" is neither "-" (the request body) nor an http(s) URL`);
  const p = query.get('platform');
  const platform = p ? { os: p.split('/')[0], architecture: p.split('/')[1] ?? '', ...(p.split('/')[2] ? { variant: p.split('/')[2] } : {}) } : hostPlatform();
  const out = new JsonLines(res);
  try {
    const img = await importRootfs(state.images.content, input, { platform, changes: query.getAll('changes').filter(Boolean), ...(query.get('message') ? { message: query.get('message')! } : {}), created: new Date() });
    if (name) await state.images.setRef(name, img.manifestDescriptor);
    else await state.images.addDangling(img.manifestDescriptor);
    state.events.image('import', img.configDescriptor.digest, name ?? '');
    out.write({ status: img.configDescriptor.digest });
  } catch (err) {
    out.fail(err);
  }
  out.end();
}

function clientFor(state: RouteRequest['state'], domain: string, credentials?: { username: string; password: string }): RegistryClient {
  return new RegistryClient(domain, { insecureRegistries: insecureRegistriesFromEnv(process.env), env: process.env, ...(credentials ? { credentials } : {}) });
}

async function distribution({ req, res, state, params }: RouteRequest): Promise<void> {
  const ref = parseReference(params[0]);
  const creds = credentialsFromHeader(req.headers['x-registry-auth']);
  const client = clientFor(state, ref.domain, creds ? { username: creds.username ?? '', password: creds.password ?? '' } : undefined);
  try {
    const m = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? 'latest');
    const doc = JSON.parse(m.bytes.toString('utf8')) as Manifest & Index;
    let platforms: Record<string, unknown>[];
    if (Array.isArray(doc.manifests)) platforms = doc.manifests.flatMap((d) => (d.platform ? [d.platform as unknown as Record<string, unknown>] : []));
    else {
      const cfg = await client.blobStream(ref.path, doc.config.digest);
      const chunks: Buffer[] = [];
      for await (const b of cfg.body) chunks.push(b as Buffer);
      const c = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { os: string; architecture: string; variant?: string };
      platforms = [{ architecture: c.architecture, os: c.os, ...(c.variant ? { variant: c.variant } : {}) }];
    }
    sendJson(res, 200, { Descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length }, Platforms: platforms });
  } catch (err) {
    // dockerd answers 401/404 from the registry as such; anything else as a 500.
    const msg = (err as Error).message;
    if (/\(404\)|manifest unknown|not found/i.test(msg)) throw withStatus(new NotFoundError(msg), 404);
    if (/\(401\)|unauthorized|authentication/i.test(msg)) throw withStatus(new BuildError('INVALID_ARGUMENT', msg), 401);
    throw err;
  } finally {
    client.close();
  }
}

async function auth({ req, res, state }: RouteRequest): Promise<void> {
  const body = await readJson<{ username?: string; password?: string; serveraddress?: string; identitytoken?: string }>(req, {});
  if (body.identitytoken) throw new UsageError('auth: identity tokens are not supported by mybuild', { hint: 'log in with a username and password' });
  const server = (body.serveraddress ?? '').replace(/^https?:\/\//, '').replace(/\/.*$/, '') || 'docker.io';
  const domain = ['index.docker.io', 'registry-1.docker.io'].includes(server) ? 'docker.io' : server;
  const client = clientFor(state, domain, { username: body.username ?? '', password: body.password ?? '' });
  try {
    await client.checkLogin();
  } catch (err) {
    throw withStatus(new BuildError('INVALID_ARGUMENT', (err as Error).message), /\(401\)|incorrect|unauthorized/i.test((err as Error).message) ? 401 : 500);
  } finally {
    client.close();
  }
  sendJson(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
}

export const imageOpRoutes: Route[] = [
  { method: 'POST', pattern: /^\/commit$/, handle: commit },
  { method: 'GET', pattern: /^\/distribution\/(.+)\/json$/, handle: distribution },
  { method: 'POST', pattern: /^\/auth$/, handle: auth },
];
