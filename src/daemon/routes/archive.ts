/**
 * The container's files: `GET/HEAD /containers/{id}/archive?path=` (a tar of the path, its stat
 * in `X-Docker-Container-Path-Stat`, for `docker cp` out), `PUT …/archive?path=` (a tar
 * extracted into a directory, for `docker cp` in), `GET …/export` (the whole filesystem),
 * `GET …/changes` (what changed against the image) and `GET /images/{name}/history`.
 *
 * A running container is read and written through the runtime's rootfs mount on the host
 * (its bundle's `rootfs`), a stopped one through its rootfs snapshot mounted for the request
 * under its container directory; paths under a bind mount go to the bind's host source, and
 * paths on a running container's tmpfs are refused (it lives only in the container's mount
 * namespace). Paths resolve with `secureJoin` (symlinks stay inside
 * the container), and extraction goes through `applyLayer`, which never writes outside its
 * destination.
 */
import { lstat, mkdtemp, readlink, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tarFs from 'tar-fs';
import { BuildError, NotFoundError } from '../../errors.js';
import { mountAll, unmountAll } from '../../runtime/mount.js';
import { secureJoin } from '../../runtime/secure-join.js';
import { applyLayer } from '../../runtime/extract.js';
import { sendJson, withStatus } from '../http.js';
import type { Route, RouteRequest } from '../server.js';

/** Where container path `p` is on the host: in a bind's source when under its target, else in `root`. */
type Locate = (p: string, write?: boolean) => string;

/** Runs `fn` with the container's root directory and a path locator (see the module comment). */
async function withRoot<T>(state: RouteRequest['state'], ref: string, fn: (root: string, locate: Locate) => Promise<T>): Promise<T> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(ref);
  const binds = [...c.config.volumes, ...(c.config.settings?.mounts ?? []).filter((m) => m.type === 'bind')].sort((a, b) => b.target.length - a.target.length);
  const tmpfs = (c.config.settings?.mounts ?? []).filter((m) => m.type === 'tmpfs');
  const under = (p: string, t: string): boolean => p === t || p.startsWith(t.endsWith('/') ? t : `${t}/`);
  const locateIn = (root: string, running: boolean): Locate => (p, write = false) => {
    const clean = path.posix.normalize(`/${p}`);
    const b = binds.find((v) => under(clean, v.target));
    if (b && write && b.readonly) throw withStatus(new BuildError('INVALID_ARGUMENT', `mounted volume is marked read-only: ${b.target}`), 403);
    if (b) return secureJoin(b.source, path.posix.relative(b.target, clean));
    if (write && c.config.settings?.readonlyRootfs) throw withStatus(new BuildError('INVALID_ARGUMENT', 'container rootfs is marked read-only'), 403);
    if (running && tmpfs.some((t) => under(clean, t.target))) throw new BuildError('INVALID_ARGUMENT', `${p} is on a tmpfs of the running container, which mybuild cannot reach from outside`);
    return secureJoin(root, clean);
  };
  if (c.state.status === 'running') {
    // The runtime's rootfs mount, on the host (the bundle's rootfs directory of the run).
    const h = await mgr.runtimeHandle(c.id);
    const rootfs = path.join(mgr.dir, c.id, 'runtime', 'bundles', h.runtimeId, 'rootfs');
    if (await lstat(rootfs).then((st) => st.isDirectory(), () => false)) return fn(rootfs, locateIn(rootfs, true));
  }
  const dir = await mkdtemp(path.join(mgr.dir, c.id, 'cp-'));
  try {
    await mountAll(await mgr.rootfsMountsOf(c.id), dir);
    return await fn(dir, locateIn(dir, false));
  } finally {
    await unmountAll(dir);
    await rmdir(dir).catch(() => undefined);
  }
}

function pathParam(q: URLSearchParams): string {
  const p = q.get('path');
  if (!p) throw new BuildError('INVALID_ARGUMENT', 'path is required');
  return p;
}

async function pathStat(locate: Locate, p: string): Promise<{ abs: string; header: string }> {
  const abs = locate(p.endsWith('/.') ? p.slice(0, -2) || '/' : p);
  const st = await lstat(abs).catch(() => {
    throw new NotFoundError(`Could not find the file ${p} in container`);
  });
  // Go's fs.FileMode bits: ModeDir 1<<31, ModeSymlink 1<<27 (added: JS bit operators are 32-bit signed).
  const mode = (st.mode & 0o7777) + (st.isDirectory() ? 2 ** 31 : 0) + (st.isSymbolicLink() ? 2 ** 27 : 0);
  const doc = { name: path.posix.basename(p) || '/', size: st.size, mode, mtime: st.mtime.toISOString(), linkTarget: st.isSymbolicLink() ? await readlink(abs) : '' };
  return { abs, header: Buffer.from(JSON.stringify(doc)).toString('base64') };
}

async function getArchive({ req, res, state, params, query }: RouteRequest): Promise<void> {
  const p = pathParam(query);
  await withRoot(state, params[0], async (_root, locate) => {
    const { abs, header } = await pathStat(locate, p);
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'X-Docker-Container-Path-Stat': header, 'Content-Type': 'application/x-tar' });
      res.end();
      return;
    }
    res.writeHead(200, { 'X-Docker-Container-Path-Stat': header, 'Content-Type': 'application/x-tar' });
    // `dir/.` copies the directory's content; otherwise the entry keeps its base name.
    const content = p.endsWith('/.');
    const pack = content ? tarFs.pack(abs) : tarFs.pack(path.dirname(abs), { entries: [path.basename(abs)] });
    await pipeline(pack, res);
  });
}

async function putArchive({ req, res, state, params, query }: RouteRequest): Promise<void> {
  const p = pathParam(query);
  await withRoot(state, params[0], async (_root, locate) => {
    const dest = locate(p, true);
    const st = await lstat(dest).catch(() => undefined);
    if (!st) throw new NotFoundError(`Could not find the file ${p} in container`);
    if (!st.isDirectory()) throw withStatus(new BuildError('INVALID_ARGUMENT', `extraction point is not a directory: ${p}`), 400);
    await applyLayer(req, dest);
  });
  res.writeHead(200, { 'Content-Length': 0 });
  res.end();
}

async function exportContainer({ res, state, params }: RouteRequest): Promise<void> {
  await withRoot(state, params[0], async (root) => {
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(tarFs.pack(root), res);
  });
}

async function changes({ res, state, params }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const list = await mgr.changes(params[0]);
  sendJson(res, 200, list.length ? list.map((c) => ({ Path: c.path, Kind: c.kind })) : null);
}

async function history({ res, state, params }: RouteRequest): Promise<void> {
  const img = await state.images.resolve(params[0]);
  const hist = img.config.history ?? [];
  const layers = img.manifest.layers;
  let li = layers.length - 1;
  const out = [];
  for (let i = hist.length - 1; i >= 0; i--) {
    const h = hist[i];
    const size = h.empty_layer ? 0 : (layers[li--]?.size ?? 0);
    out.push({ Id: i === hist.length - 1 ? img.configDigest : '<missing>', Created: Math.floor((Date.parse(h.created ?? '') || 0) / 1000), CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' });
  }
  sendJson(res, 200, out);
}

const ID = '([^/]+)';
export const archiveRoutes: Route[] = [
  { method: 'GET', pattern: new RegExp(`^/containers/${ID}/archive$`), handle: getArchive },
  { method: 'PUT', pattern: new RegExp(`^/containers/${ID}/archive$`), handle: putArchive },
  { method: 'GET', pattern: new RegExp(`^/containers/${ID}/export$`), handle: exportContainer },
  { method: 'GET', pattern: new RegExp(`^/containers/${ID}/changes$`), handle: changes },
  { method: 'GET', pattern: /^\/images\/(.+)\/history$/, handle: history },
];
