/**
 * Volumes: `GET /volumes` (filters name, label, driver, dangling), `POST /volumes/create`,
 * `GET /volumes/{name}`, `DELETE /volumes/{name}` (409 while a container uses it; `force`
 * turns "no such volume" into success, as dockerd) and `POST /volumes/prune` (volumes no
 * container uses: from API 1.42 on only anonymous ones unless `all=true`, as dockerd). The store
 * is src/containers/volumes.ts; which containers use a volume is read from their records.
 */
import { BuildError, hasCode } from '../../errors.js';
import type { VolumeRecord } from '../../containers/volumes.js';
import { ANONYMOUS_LABEL, volumeInUse } from '../../containers/volumes.js';
import { labelMatches } from '../../api/filters.js';
import { boolParam, readJson, sendJson } from '../http.js';
import { parseFilters } from '../filters.js';
import type { Route, RouteRequest } from '../server.js';
import { hasKeys, isZero, unsupported } from '../create-request.js';

/** dockerd's volume document. */
export function volumeDoc(v: VolumeRecord, mountpoint: string): Record<string, unknown> {
  return { CreatedAt: v.createdAt, Driver: v.driver, Labels: v.labels, Mountpoint: mountpoint, Name: v.name, Options: v.options, Scope: 'local' };
}

function volumeEvent(state: RouteRequest['state'], action: string, name: string): void {
  state.events.emit({ Type: 'volume', Action: action, Actor: { ID: name, Attributes: { driver: 'local' } } });
}

/** Whether API version `v` is at least `min` (both `1.NN`). */
function atLeast(v: string, min: string): boolean {
  const [a, b] = v.split('.').map(Number);
  const [c, d] = min.split('.').map(Number);
  return a > c || (a === c && b >= d);
}

async function store(state: RouteRequest['state']) {
  return (await state.containers.manager()).volumes();
}

async function create({ req, res, state }: RouteRequest): Promise<void> {
  const body = await readJson<Record<string, unknown>>(req, {});
  for (const [k, v] of Object.entries(body)) if (!['Name', 'Driver', 'DriverOpts', 'Labels'].includes(k) && !isZero(v)) throw unsupported(`volume create: ${k}`);
  const vs = await store(state);
  const v = await vs.create({
    ...(body.Name ? { name: String(body.Name) } : {}),
    ...(body.Driver ? { driver: String(body.Driver) } : {}),
    ...(!hasKeys(body.Labels) ? {} : { labels: body.Labels as Record<string, string> }),
    ...(!hasKeys(body.DriverOpts) ? {} : { options: body.DriverOpts as Record<string, string> }),
  });
  volumeEvent(state, 'create', v.name);
  sendJson(res, 201, volumeDoc(v, vs.dataPath(v.name)));
}

async function usedNames(state: RouteRequest['state']): Promise<Set<string>> {
  const mgr = await state.containers.manager();
  return new Set((await mgr.list({ all: true })).flatMap((c) => c.config.volumes.flatMap((v) => (v.volume ? [v.volume] : []))));
}

async function list({ res, state, query }: RouteRequest): Promise<void> {
  const f = parseFilters(query.get('filters'), ['name', 'label', 'driver', 'dangling']);
  const vs = await store(state);
  const used = f.has('dangling') ? await usedNames(state) : new Set<string>();
  const dangling = f.get('dangling')?.map((d) => d === 'true' || d === '1');
  const out = (await vs.list()).filter(
    (v) =>
      (!f.has('name') || f.get('name')!.some((n) => v.name.includes(n))) &&
      (!f.has('driver') || f.get('driver')!.includes(v.driver)) &&
      (!f.has('label') || f.get('label')!.every((l) => labelMatches(v.labels ?? {}, l))) &&
      (!dangling || dangling.includes(!used.has(v.name))),
  );
  sendJson(res, 200, { Volumes: out.map((v) => volumeDoc(v, vs.dataPath(v.name))), Warnings: null });
}

async function inspect({ res, state, params }: RouteRequest): Promise<void> {
  const vs = await store(state);
  const v = await vs.get(params[0]);
  sendJson(res, 200, volumeDoc(v, vs.dataPath(v.name)));
}

async function remove({ res, state, params, query }: RouteRequest): Promise<void> {
  const vs = await store(state);
  const mgr = await state.containers.manager();
  try {
    await vs.get(params[0]);
  } catch (err) {
    if (hasCode(err, 'NOT_FOUND') && boolParam(query, 'force')) {
      res.writeHead(204);
      res.end();
      return;
    }
    throw err;
  }
  const users = await mgr.volumeUsers(params[0]);
  if (users.length) throw volumeInUse(params[0], users);
  await vs.remove(params[0]);
  volumeEvent(state, 'destroy', params[0]);
  res.writeHead(204);
  res.end();
}

async function prune({ res, state, query, version }: RouteRequest): Promise<void> {
  const f = parseFilters(query.get('filters'), ['label', 'label!', 'all']);
  const all = (f.get('all') ?? []).some((v) => v === 'true' || v === '1');
  if (f.has('all') && !atLeast(version, '1.42')) throw new BuildError('INVALID_ARGUMENT', `invalid filter 'all'`);
  const onlyAnonymous = !all && atLeast(version, '1.42');
  const vs = await store(state);
  const used = await usedNames(state);
  const deleted: string[] = [];
  let space = 0;
  for (const v of await vs.list()) {
    const labels = v.labels ?? {};
    if (used.has(v.name)) continue;
    if (onlyAnonymous && !(ANONYMOUS_LABEL in labels)) continue;
    if (!(f.get('label') ?? []).every((l) => labelMatches(labels, l))) continue;
    if ((f.get('label!') ?? []).some((l) => labelMatches(labels, l))) continue;
    const size = await vs.size(v.name).catch(() => 0);
    await vs.remove(v.name);
    volumeEvent(state, 'destroy', v.name);
    deleted.push(v.name);
    space += size;
  }
  sendJson(res, 200, { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: space });
}

const NAME = '([^/]+)';
export const volumeRoutes: Route[] = [
  { method: 'GET', pattern: /^\/volumes$/, handle: list },
  { method: 'POST', pattern: /^\/volumes\/create$/, handle: create },
  { method: 'POST', pattern: /^\/volumes\/prune$/, handle: prune },
  { method: 'GET', pattern: new RegExp(`^/volumes/${NAME}$`), handle: inspect },
  { method: 'DELETE', pattern: new RegExp(`^/volumes/${NAME}$`), handle: remove },
];
