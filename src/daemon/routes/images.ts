/**
 * Image endpoints: `GET /images/json`, `GET /images/{name}/json`, `POST /images/{name}/tag`,
 * `DELETE /images/{name}`, `POST /images/create` (pull), `POST /images/{name}/push`,
 * `GET /images/get` (docker save tar) and `POST /images/load`.
 *
 * Names in paths may hold slashes and a registry port (`/images/127.0.0.1:5000/x/push`): the
 * patterns take everything up to the action suffix. Pull and push answer Docker's JSON
 * progress stream and take credentials from `X-Registry-Auth` (base64 JSON
 * `{username, password, identitytoken}`); without it the daemon's own config.json is used.
 */
import { BuildError, UsageError } from '../../errors.js';
import { exportDockerArchive, type DockerArchiveImage } from '../../image/formats/docker-archive.js';
import { importArchive } from '../../image/formats/import.js';
import { parseReference, withTag, type Reference } from '../../image/reference.js';
import type { Credentials } from '../../registry/auth.js';
import { BlobSources } from '../../registry/blob-sources.js';
import type { ClientOptions } from '../../registry/client.js';
import { pull, type TransferProgress } from '../../registry/pull.js';
import { push } from '../../registry/push.js';
import { insecureRegistriesFromEnv } from '../../registry/transport.js';
import { splitName } from '../../store/display.js';
import { credentialsFromHeader } from '../../api/auth.js';
import { boolParam, JsonLines, sendJson } from '../http.js';
import type { DaemonState, Route, RouteRequest } from '../server.js';
import path from 'node:path';

const short = (d: string): string => d.slice('sha256:'.length, 'sha256:'.length + 12);

function clientOptions(state: DaemonState, creds: Credentials | undefined): ClientOptions {
  return { insecureRegistries: insecureRegistriesFromEnv(), ...(creds ? { credentials: creds } : {}) };
}

function sources(state: DaemonState): BlobSources {
  return new BlobSources(path.join(state.root, 'registry-sources.json'));
}

/** `GET /images/json`: one entry per image ID with all its tags, newest first. */
async function listImages({ res, state, query }: RouteRequest): Promise<void> {
  const { images, dangling } = await state.images.listImages();
  const byId = new Map<string, { tags: string[]; digests: Set<string>; s: Omit<(typeof images)[number], 'name'> }>();
  // Untagged images: no tags, no repository digests (the docker CLI shows `<none>`).
  for (const s of dangling) byId.set(s.image.configDigest, { tags: [], digests: new Set(), s });
  for (const s of images) {
    const e = byId.get(s.image.configDigest) ?? { tags: [], digests: new Set<string>(), s };
    const n = splitName(s.name);
    if (n.tag !== '<none>') e.tags.push(`${n.repository}:${n.tag}`);
    e.digests.add(`${n.repository}@${s.image.descriptor.digest}`);
    byId.set(s.image.configDigest, e);
  }
  const filterRef = (() => {
    const f = query.get('filters');
    if (!f) return undefined;
    try {
      const parsed = JSON.parse(f) as Record<string, string[] | Record<string, boolean>>;
      const r = parsed.reference;
      return r ? (Array.isArray(r) ? r : Object.keys(r)) : undefined;
    } catch {
      throw new BuildError('INVALID_ARGUMENT', `invalid filters: ${f}`);
    }
  })();
  const out = [...byId.values()]
    .filter((e) => !filterRef || e.tags.some((t) => filterRef.some((r) => t === r || t.startsWith(`${r}:`) || t === `${r}:latest`)))
    .map(({ tags, digests, s }) => ({
      Id: s.image.configDigest,
      ParentId: '',
      RepoTags: tags,
      RepoDigests: [...digests],
      Created: Math.floor((Date.parse(s.image.config.created ?? '') || 0) / 1000),
      Size: s.size,
      SharedSize: -1,
      VirtualSize: s.size,
      Labels: s.image.config.config?.Labels ?? {},
      Containers: -1,
    }))
    .sort((a, b) => b.Created - a.Created);
  sendJson(res, 200, out);
}

async function inspectImage({ res, state, params }: RouteRequest): Promise<void> {
  sendJson(res, 200, await state.engine.images.inspect(params[0]));
}

async function tagImage({ res, state, params, query }: RouteRequest): Promise<void> {
  const repo = query.get('repo');
  if (!repo) throw new UsageError('tag: the repo parameter is required');
  let ref: Reference = parseReference(repo);
  const tag = query.get('tag');
  if (tag) ref = withTag(ref, tag);
  if (ref.digest) throw new UsageError(`refusing to create a tag with a digest reference: ${repo}`);
  await state.engine.images.tag(params[0], ref.toString());
  res.writeHead(201, { 'Content-Length': 0 });
  res.end();
}

/** `DELETE /images/{name}`: untags (a name: that tag; an ID: every tag, needing force when several). */
async function deleteImage({ res, state, params, query }: RouteRequest): Promise<void> {
  sendJson(res, 200, await state.engine.images.remove(params[0], { force: boolParam(query, 'force') }));
}

/** Docker's pull progress lines from our transfer events. */
function pullProgress(out: JsonLines): (e: TransferProgress) => void {
  const seen = new Set<string>();
  return (e) => {
    if (e.kind !== 'layer') return;
    const id = short(e.digest);
    if (!seen.has(id) && e.status !== 'exists') {
      seen.add(id);
      out.write({ status: 'Pulling fs layer', progressDetail: {}, id });
    }
    if (e.status === 'exists') out.write({ status: 'Already exists', progressDetail: {}, id });
    else if (e.status === 'downloading') out.write({ status: 'Downloading', progressDetail: { current: e.current, total: e.total }, id });
    else if (e.status === 'retrying') out.write({ status: 'Retrying', progressDetail: {}, id });
    else if (e.status === 'done') out.write({ status: 'Pull complete', progressDetail: {}, id });
  };
}

/** `POST /images/create?fromImage=NAME&tag=TAG|DIGEST[&platform=]`: pull. */
async function createImage({ req, res, state, query }: RouteRequest): Promise<void> {
  if (query.get('fromSrc')) throw new UsageError('importing with fromSrc is not supported by the mybuild daemon', { hint: 'use "mybuild import" daemonless' });
  const from = query.get('fromImage');
  if (!from) throw new UsageError('images/create: the fromImage parameter is required');
  const tag = query.get('tag');
  let input = from;
  if (tag) input = tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`;
  const ref = parseReference(input);
  const creds = credentialsFromHeader(req.headers['x-registry-auth']);
  const out = new JsonLines(res);
  try {
    const before = await state.images.resolve(ref.toString()).catch(() => null);
    out.write({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest }); // as Docker: reference.Path
    const r = await pull(ref, state.images.content, state.images, {
      platform: query.get('platform') || undefined,
      onProgress: pullProgress(out),
      clientOptions: clientOptions(state, creds),
      sources: sources(state),
    });
    out.write({ status: `Digest: ${r.index?.digest ?? r.descriptor.digest}` });
    const same = before && before.descriptor.digest === r.descriptor.digest;
    out.write({ status: same ? `Status: Image is up to date for ${ref.familiar()}` : `Status: Downloaded newer image for ${ref.familiar()}` });
  } catch (err) {
    out.fail(err);
  }
  out.end();
}

function familiarRepo(ref: Reference): string {
  return ref.familiar().replace(/@.*$/, '').replace(/:[^:/]*$/, '');
}

/** `POST /images/{name}/push?tag=`: push with Docker's progress and the final `aux`. */
async function pushImage({ req, res, state, params, query }: RouteRequest): Promise<void> {
  const tag = query.get('tag');
  const ref = parseReference(tag ? `${params[0]}:${tag}` : params[0]);
  const image = await state.images.resolve(ref.toString());
  const creds = credentialsFromHeader(req.headers['x-registry-auth']);
  const out = new JsonLines(res);
  try {
    out.write({ status: `The push refers to repository [${familiarRepo(ref)}]` });
    const onProgress = (e: TransferProgress): void => {
      if (e.kind !== 'layer') return;
      const id = short(e.digest);
      if (e.status === 'exists') out.write({ status: 'Layer already exists', progressDetail: {}, id });
      else if (e.status === 'mounted') out.write({ status: 'Mounted from another repository', progressDetail: {}, id });
      else if (e.status === 'uploading') out.write({ status: 'Pushing', progressDetail: { current: e.current, total: e.total }, id });
      else if (e.status === 'done') out.write({ status: 'Pushed', progressDetail: {}, id });
    };
    const r = await push(ref, state.images.content, image.descriptor, { onProgress, clientOptions: clientOptions(state, creds), sources: sources(state) });
    const t = ref.tag ?? ref.digest ?? 'latest';
    out.write({ status: `${t}: digest: ${r.digest} size: ${r.size}` });
    out.write({ progressDetail: {}, aux: { Tag: t, Digest: r.digest, Size: r.size } });
  } catch (err) {
    out.fail(err);
  }
  out.end();
}

/** `GET /images/get?names=…`: a docker save tar of the named images. */
async function getImages({ res, state, query }: RouteRequest): Promise<void> {
  const names = query.getAll('names').flatMap((n) => n.split(',')).filter(Boolean);
  if (!names.length) throw new UsageError('images/get: give at least one names= parameter');
  const wanted: DockerArchiveImage[] = [];
  for (const n of names) {
    const image = await state.images.resolve(n);
    const isId = /^(sha256:)?[0-9a-f]{4,64}$/.test(n) && image.name === undefined;
    wanted.push({ names: isId || !image.name ? [] : [splitName(image.name).familiar], descriptor: image.descriptor });
  }
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await exportDockerArchive(state.images.content, wanted, res);
  } catch (err) {
    res.destroy(err as Error);
    return;
  }
  if (!res.writableEnded) res.end();
}

/** `POST /images/load`: imports a docker save / OCI layout tar from the body, names its images. */
async function loadImages({ req, res, state, query }: RouteRequest): Promise<void> {
  const { images } = await importArchive(state.images.content, req);
  const out = new JsonLines(res);
  const quiet = boolParam(query, 'quiet');
  for (const img of images) {
    if (img.names.length === 0) {
      if (!quiet) out.stream(`Loaded image ID: ${img.configDigest}\n`);
      continue;
    }
    for (const name of img.names) {
      const ref = parseReference(name);
      await state.images.setRef(ref.toString(), img.manifestDescriptor);
      out.stream(`Loaded image: ${ref.familiar()}\n`);
    }
  }
  out.end();
}

export const imageRoutes: Route[] = [
  { method: 'GET', pattern: /^\/images\/json$/, handle: listImages },
  { method: 'POST', pattern: /^\/images\/create$/, handle: createImage },
  { method: 'GET', pattern: /^\/images\/get$/, handle: getImages },
  { method: 'POST', pattern: /^\/images\/load$/, handle: loadImages },
  { method: 'GET', pattern: /^\/images\/(.+)\/json$/, handle: inspectImage },
  { method: 'POST', pattern: /^\/images\/(.+)\/tag$/, handle: tagImage },
  { method: 'POST', pattern: /^\/images\/(.+)\/push$/, handle: pushImage },
  { method: 'DELETE', pattern: /^\/images\/(.+)$/, handle: deleteImage },
];

