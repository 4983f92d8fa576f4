/**
 * Image endpoints: `GET /images/json`, `GET /images/{name}/json`, `POST /images/{name}/tag`,
 * `DELETE /images/{name}`, `POST /images/create` (pull; import with fromSrc: image-ops.ts), `POST /images/{name}/push`,
 * `GET /images/get` (docker save tar) and `POST /images/load`.
 *
 * Names in paths may hold slashes and a registry port (`/images/127.0.0.1:5000/x/push`): the
 * patterns take everything up to the action suffix. Pull and push answer Docker's JSON
 * progress stream and take credentials from `X-Registry-Auth` (base64 JSON
 * `{username, password, identitytoken}`); without it the daemon's own config.json is used.
 * Inspect, tag, delete, pull, push, save and load run on the daemon's LocalEngine (the code
 * `mybuild` runs daemonless), the listing on the store.
 */
import { toBuildError, UsageError } from '../../errors.js';
import type { Reference } from '../../oci/reference.js';
import { parseReference, withTag } from '../../image/reference.js';
import { splitName } from '../../store/display.js';
import { LayerVariants } from '../../store/layer-variants.js';
import { imageContentSize, type PlatformSummary, type ResolvedImage } from '../../store/image-store.js';
import type { Descriptor } from '../../oci/types.js';
import type { ApiImageManifest } from '../../api/types.js';
import { credentialsFromHeader } from '../../api/auth.js';
import { boolParam, errorMessage, JsonLines, sendJson } from '../http.js';
import type { Route, RouteRequest } from '../server.js';
import { importImage } from './image-ops.js';
import { filterImages, filtersFromQuery, type FilterImage } from '../../api/filters.js';

/** `GET /images/json`: one entry per image ID with all its tags, newest first. */
async function listImages({ res, state, query }: RouteRequest): Promise<void> {
  const { images, dangling } = await state.images.listImages();
  const byId = new Map<string, { tags: string[]; digests: Set<string>; s: Omit<(typeof images)[number], 'name'> }>();
  // Untagged images: no tags, no repository digests (the docker CLI shows `<none>`).
  for (const s of dangling) byId.set(s.image.configDigest, { tags: [], digests: new Set(), s });
  // The digest each repository was pushed as (the registry's, not the uncompressed local manifest's).
  const variants = new LayerVariants(state.images.root);
  for (const s of images) {
    const e = byId.get(s.image.configDigest) ?? { tags: [], digests: new Set<string>(), s };
    const n = splitName(s.name);
    if (n.tag !== '<none>') e.tags.push(`${n.repository}:${n.tag}`);
    e.digests.add(`${n.repository}@${(await variants.pushedAs(s.image.descriptor.digest))[n.repository] ?? s.image.descriptor.digest}`);
    byId.set(s.image.configDigest, e);
  }
  // --filter (docker's JSON form): the shared filters of src/api/filters.ts, on one row per tag
  // (an untagged image is one row); an image stays with the tags that matched.
  const filters = filtersFromQuery(query.get('filters') ?? undefined);
  if (Object.keys(filters).length) {
    const rows = [...byId.values()].flatMap((e): Array<FilterImage & { tag?: string }> => {
      const base = { id: e.s.image.configDigest, created: e.s.image.config.created, labels: e.s.image.config.config?.Labels ?? {} };
      return e.tags.length ? e.tags.map((t) => ({ ...base, name: parseReference(t).toString(), tag: t })) : [base];
    });
    const kept = filterImages(rows, filters);
    for (const [id, e] of byId) {
      const mine = kept.filter((r) => r.id === id);
      if (!mine.length) byId.delete(id);
      else if (mine.some((r) => r.tag)) {
        // As dockerd: only the matching tags stay, and the digests of their repositories.
        e.tags = mine.flatMap((r) => (r.tag ? [r.tag] : []));
        const repos = new Set(e.tags.map((t) => t.slice(0, t.lastIndexOf(':'))));
        e.digests = new Set([...e.digests].filter((x) => repos.has(x.slice(0, x.indexOf('@')))));
      }
    }
  }
  const out = [...byId.values()]
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
      // ?manifests=1 (API 1.47): the image's descriptor and its entries as dockerd's
      // ImageManifestSummary (a single-platform image is its one entry).
      ...(boolParam(query, 'manifests') ? { Descriptor: descriptorOf(s.image.descriptor), Manifests: s.platforms ? s.platforms.map(manifestSummary) : [singleSummary(s.image, s.size)] } : {}),
    }))
    .sort((a, b) => b.Created - a.Created);
  sendJson(res, 200, out);
}

function descriptorOf(d: Descriptor): { mediaType: string; digest: string; size: number } {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** A single-platform image as its own ImageManifestSummary. */
function singleSummary(image: ResolvedImage, unpacked: number): ApiImageManifest {
  const c = image.config;
  const platform = { os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) };
  const content = imageContentSize(image);
  return { ID: image.manifestDescriptor.digest, Descriptor: { ...descriptorOf(image.manifestDescriptor), platform }, Available: true, Size: { Total: content, Content: content }, Kind: 'image', ImageData: { Platform: platform, Containers: [], Size: { Unpacked: unpacked } } };
}

/** An index entry as Docker API 1.47's ImageManifestSummary. */
function manifestSummary(p: PlatformSummary): ApiImageManifest {
  const d = p.descriptor;
  return {
    ID: d.digest,
    Descriptor: { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}) },
    Available: p.available,
    Size: { Total: p.contentSize, Content: p.contentSize },
    Kind: d.platform ? 'image' : 'unknown',
    ...(d.platform ? { ImageData: { Platform: d.platform, Containers: [], Size: { Unpacked: p.size } } } : {}),
  };
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

/** `POST /images/create?fromImage=NAME&tag=TAG|DIGEST[&platform=]`: pull. */
async function createImage(r: RouteRequest): Promise<void> {
  const { req, res, state, query } = r;
  if (query.get('fromSrc')) return importImage(r);
  const from = query.get('fromImage');
  if (!from) throw new UsageError('images/create: the fromImage parameter is required');
  const tag = query.get('tag');
  let input = from;
  if (tag) input = tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`;
  const ref = parseReference(input);
  const creds = credentialsFromHeader(req.headers['x-registry-auth']);
  const out = new JsonLines(res);
  try {
    out.write({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest }); // as Docker: reference.Path
    const r = await state.engine.images.pull(ref, { platform: query.get('platform') || undefined, onProgress: (m) => out.write(m), ...(creds ? { credentials: creds } : {}) });
    out.write({ status: `Digest: ${r.digest}` });
    out.write({ status: r.upToDate ? `Status: Image is up to date for ${ref.familiar()}` : `Status: Downloaded newer image for ${ref.familiar()}` });
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
  await state.images.resolve(ref.toString()); // 404 before the stream starts
  const creds = credentialsFromHeader(req.headers['x-registry-auth']);
  const out = new JsonLines(res);
  try {
    out.write({ status: `The push refers to repository [${familiarRepo(ref)}]` });
    const r = await state.engine.images.push(ref, { onProgress: (m) => out.write(m), ...(creds ? { credentials: creds } : {}) });
    const t = ref.tag ?? ref.digest ?? 'latest';
    out.write({ status: `${t}: digest: ${r.digest} size: ${r.size}` });
    out.write({ progressDetail: {}, aux: { Tag: t, Digest: r.digest, Size: r.size } });
  } catch (err) {
    out.fail(err);
  }
  out.end();
}

/** `GET /images/get?names=…`: a docker save tar of the named images. */
async function getImages({ res, state, query, params }: RouteRequest): Promise<void> {
  // GET /images/{name}/get saves one image; GET /images/get?names=… several.
  const names = params[0] ? [params[0]] : query.getAll('names').flatMap((n) => n.split(',')).filter(Boolean);
  if (!names.length) throw new UsageError('images/get: give at least one names= parameter');
  res.setHeader('Content-Type', 'application/x-tar');
  try {
    await state.engine.images.save(names, { format: 'docker', dest: res });
  } catch (err) {
    if (!res.headersSent) throw err; // nothing written yet (a name not found): an error answer
    res.destroy(err as Error);
    return;
  }
  if (!res.writableEnded) res.end();
}

/** `POST /images/load`: imports a docker save / OCI layout tar from the body, names its images. */
async function loadImages({ req, res, state, query }: RouteRequest): Promise<void> {
  const out = new JsonLines(res);
  let lines: string[];
  try {
    lines = await state.engine.images.load(req);
  } catch (err) {
    // As dockerd: a 200 stream whose message is the error (clients read it as a load error).
    const msg = errorMessage(err);
    const e = toBuildError(err);
    out.write({ errorDetail: { message: msg }, error: msg, errorCode: e.code, ...(e.hint ? { errorHint: e.hint } : {}) });
    out.end();
    return;
  }
  const quiet = boolParam(query, 'quiet');
  for (const l of lines) if (!quiet || !l.startsWith('Loaded image ID:')) out.stream(`${l}\n`);
  out.end();
}

export const imageRoutes: Route[] = [
  { method: 'GET', pattern: /^\/images\/json$/, handle: listImages },
  { method: 'POST', pattern: /^\/images\/create$/, handle: createImage },
  { method: 'GET', pattern: /^\/images\/get$/, handle: getImages },
  { method: 'POST', pattern: /^\/images\/load$/, handle: loadImages },
  { method: 'GET', pattern: /^\/images\/(.+)\/get$/, handle: getImages },
  { method: 'GET', pattern: /^\/images\/(.+)\/json$/, handle: inspectImage },
  { method: 'POST', pattern: /^\/images\/(.+)\/tag$/, handle: tagImage },
  { method: 'POST', pattern: /^\/images\/(.+)\/push$/, handle: pushImage },
  { method: 'DELETE', pattern: /^\/images\/(.+)$/, handle: deleteImage },
];

