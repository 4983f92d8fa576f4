/**
 * Container endpoints beyond the lifecycle of containers.ts: restart, rename, pause/unpause
 * (the cgroup freezer), top (`ps` over the container's cgroup PIDs, as dockerd), stats (one-shot
 * and streamed, from the cgroup counters), update (resources: recorded, and applied to a running
 * container through `runc update`; the restart policy), and the prune endpoints of containers and images.
 */
import { BuildError, isNotFound } from '../../errors.js';
import { execCapture } from '../../runtime/exec.js';
import { cgroupPids, cgroupStats, isFrozen, setFrozen } from '../../containers/cgroups.js';
import { boolParam, readJson, sendJson, withStatus } from '../http.js';
import type { Route, RouteRequest } from '../server.js';
import { createOptions, isZero, parseRestartPolicy, unsupported } from '../create-request.js';
import { filtersFromQuery, pruneFilter, PRUNE_FILTERS, validateFilters } from '../../api/filters.js';

async function restart({ res, state, params, query }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  if (c.state.status === 'running') {
    if (await isFrozen(c.id)) await setFrozen(c.id, false);
    const t = query.get('t');
    state.containers.markStopped(c.id);
    await mgr.stop(c.id, t ? { timeoutSec: Number(t) } : {});
    await state.containers.settle(c.id);
  }
  await state.containers.start(await mgr.inspect(c.id));
  state.events.container('restart', await mgr.inspect(c.id));
  res.writeHead(204);
  res.end();
}

async function rename({ res, state, params, query }: RouteRequest): Promise<void> {
  const name = query.get('name');
  if (!name) throw new BuildError('INVALID_ARGUMENT', 'rename: the name parameter is required');
  const mgr = await state.containers.manager();
  await mgr.rename(params[0], name);
  state.events.container('rename', await mgr.inspect(name));
  res.writeHead(204);
  res.end();
}

async function running(state: RouteRequest['state'], ref: string) {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(ref);
  if (c.state.status !== 'running') throw withStatus(new BuildError('INVALID_ARGUMENT', `Container ${c.id} is not running`), 409);
  return c;
}

function pauseRoute(frozen: boolean) {
  return async ({ res, state, params }: RouteRequest): Promise<void> => {
    const c = await running(state, params[0]);
    if ((await isFrozen(c.id)) === frozen) throw withStatus(new BuildError('INVALID_ARGUMENT', frozen ? `Container ${c.id} is already paused` : `Container ${c.id} is not paused`), 409);
    await setFrozen(c.id, frozen);
    state.events.container(frozen ? 'pause' : 'unpause', c);
    res.writeHead(204);
    res.end();
  };
}

async function top({ res, state, params, query }: RouteRequest): Promise<void> {
  const c = await running(state, params[0]);
  const args = (query.get('ps_args') || '-ef').split(/\s+/).filter(Boolean);
  const r = await execCapture('ps', args);
  if (r.code !== 0) throw new BuildError('INVALID_ARGUMENT', `ps: ${r.stderr.trim()}`);
  const lines = r.stdout.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  const titles = lines[0].trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw new BuildError('INVALID_ARGUMENT', `Couldn't find PID field in ps output`);
  const pids = new Set(await cgroupPids(c.id));
  const processes = lines.slice(1).map((l) => {
    const f = l.trim().split(/\s+/);
    return [...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')];
  }).filter((f) => pids.has(Number(f[pidCol])));
  sendJson(res, 200, { Titles: titles, Processes: processes });
}

async function stats({ res, state, params, query }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  const stream = query.get('stream') === null ? true : boolParam(query, 'stream');
  if (!stream || boolParam(query, 'one-shot')) {
    sendJson(res, 200, await cgroupStats(c.id, c.name));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let prev: Record<string, unknown> | undefined;
  while (!res.destroyed) {
    const cur = await mgr.inspect(c.id).catch(() => undefined);
    if (!cur || cur.state.status !== 'running') break;
    const s = await cgroupStats(c.id, c.name);
    if (prev) Object.assign(s, { preread: prev.read, precpu_stats: prev.cpu_stats });
    res.write(`${JSON.stringify(s)}\n`);
    prev = s;
    await new Promise((r) => setTimeout(r, 1000));
  }
  res.end();
}

/** POST /containers/{id}/update: the resources of the create body's HostConfig (RestartPolicy "no" only). */
async function update({ req, res, state, params }: RouteRequest): Promise<void> {
  const body = await readJson<Record<string, unknown>>(req, {});
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  const allowed = new Set(['Memory', 'MemoryReservation', 'MemorySwap', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'RestartPolicy']);
  for (const [k, v] of Object.entries(body)) if (!allowed.has(k) && !isZero(v)) throw unsupported(`update: ${k}`);
  const restartPolicy = body.RestartPolicy === undefined ? c.config.settings?.restartPolicy : parseRestartPolicy(body.RestartPolicy);
  // The resources as create maps them, over the recorded ones (a zero value keeps the old one).
  const old = c.config.settings?.resources ?? {};
  const mapped = (await createOptions({ Image: c.config.image, HostConfig: body }, undefined)).settings?.resources ?? {};
  const resources = { ...old, ...(mapped.memory ? { memory: { ...old.memory, ...mapped.memory } } : {}), ...(mapped.cpu ? { cpu: { ...old.cpu, ...mapped.cpu } } : {}), ...(mapped.pids ? { pids: mapped.pids } : {}) };
  const settings = { ...(c.config.settings ?? {}), resources };
  delete settings.restartPolicy;
  await mgr.updateSettings(c.id, { ...settings, ...(restartPolicy ? { restartPolicy } : {}) });
  if (c.state.status === 'running') {
    const h = await mgr.runtimeHandle(c.id);
    const r = await execCapture(h.bin, ['--root', h.stateRoot, 'update', '-r', '-', h.runtimeId], { input: JSON.stringify(resources) });
    if (r.code !== 0) throw new BuildError('RUNTIME', `cannot update container ${c.name}: ${r.stderr.trim()}`);
  }
  sendJson(res, 200, { Warnings: [] });
}

/** POST /containers/prune: removes the stopped containers the filters (label, until) select. */
async function pruneContainers({ res, state, query }: RouteRequest): Promise<void> {
  // The prune filters LocalEngine's prune uses (src/api/filters.ts): until, label, label!.
  const keep = pruneFilter(filtersFromQuery(query.get('filters') ?? undefined));
  const mgr = await state.containers.manager();
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const c of await mgr.list({ all: true })) {
    if (c.state.status === 'running') continue;
    if (!keep({ created: c.config.created, labels: c.config.settings?.labels ?? {} })) continue;
    const size = await mgr.rwSize(c.id).catch(() => 0);
    await mgr.remove(c.id).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    state.events.container('destroy', c);
    deleted.push(c.id);
    reclaimed += size;
  }
  sendJson(res, 200, { ContainersDeleted: deleted, SpaceReclaimed: reclaimed });
}

/** POST /images/prune: dangling images (default), or every image no container uses with dangling=false. */
async function pruneImages({ res, state, query }: RouteRequest): Promise<void> {
  // dangling=, then the shared prune filters (until, label, label!) of src/api/filters.ts.
  const { dangling: danglingValues, ...rest } = filtersFromQuery(query.get('filters') ?? undefined);
  validateFilters({ ...rest, ...(danglingValues ? { dangling: danglingValues } : {}) }, ['dangling', ...PRUNE_FILTERS]);
  const keep = pruneFilter(rest);
  const danglingOnly = !danglingValues?.length || /^(1|true)$/i.test(danglingValues.at(-1) ?? '');
  const { images, dangling } = await state.images.listImages();
  const mgr = await state.containers.manager();
  const used = new Set((await mgr.list({ all: true })).map((c) => c.config.imageId as string));
  const deleted: Record<string, string>[] = [];
  let reclaimed = 0;
  const candidates = [...dangling.map((x) => ({ ref: x.image.configDigest as string, img: x.image, size: x.size })), ...(danglingOnly ? [] : images.map((x) => ({ ref: x.name, img: x.image, size: x.size })))];
  const seen = new Set<string>();
  for (const cand of candidates) {
    if (used.has(cand.img.configDigest)) continue;
    if (!keep({ created: cand.img.config.created ?? new Date(0).toISOString(), labels: cand.img.config.config?.Labels ?? {} })) continue;
    const items = await state.engine.images.remove(cand.ref, { force: true }).catch(() => []);
    for (const it of items) deleted.push(it.Deleted ? { Deleted: it.Deleted } : { Untagged: it.Untagged! });
    if (!seen.has(cand.img.configDigest) && items.some((i) => i.Deleted)) {
      seen.add(cand.img.configDigest);
      reclaimed += cand.size;
    }
  }
  sendJson(res, 200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
}

const ID = '([^/]+)';
export const containerOpRoutes: Route[] = [
  { method: 'POST', pattern: /^\/containers\/prune$/, handle: pruneContainers },
  { method: 'POST', pattern: /^\/images\/prune$/, handle: pruneImages },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/restart$`), handle: restart },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/rename$`), handle: rename },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/pause$`), handle: pauseRoute(true) },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/unpause$`), handle: pauseRoute(false) },
  { method: 'GET', pattern: new RegExp(`^/containers/${ID}/top$`), handle: top },
  { method: 'GET', pattern: new RegExp(`^/containers/${ID}/stats$`), handle: stats },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/update$`), handle: update },
];
