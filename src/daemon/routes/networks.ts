/**
 * Network endpoints over NetworkService (src/containers/networks): list (filters name, id,
 * label, driver, type, dangling, scope), inspect, create, remove, connect, disconnect, prune;
 * and POST /swarm/leave, which answers dockerd's "not part of a swarm" (503, as a daemon outside
 * a swarm does: clients such as docker-py call it to clean up).
 */
import { BuildError, NotFoundError, toBuildError } from '../../errors.js';
import { ForbiddenError, type CreateNetworkRequest, type EndpointRequest } from '../../containers/networks/service.js';
import { PREDEFINED, type NetworkRecord } from '../../containers/networks/records.js';
import { filtersFromQuery, labelMatches, pruneFilter, validateFilters } from '../../api/filters.js';
import { readJson, sendJson, withStatus } from '../http.js';
import type { Route, RouteRequest } from '../server.js';

const LIST_FILTERS = ['name', 'id', 'label', 'driver', 'type', 'dangling', 'scope'] as const;

/** Runs `fn`, answering a ForbiddenError with 403 as dockerd does. */
async function forbidding<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ForbiddenError) throw withStatus(err, 403);
    throw err;
  }
}

async function document(state: RouteRequest['state'], n: NetworkRecord): Promise<Record<string, unknown>> {
  return { ...n, Containers: await state.networks.containersOf(n) };
}

async function list({ res, state, query }: RouteRequest): Promise<void> {
  const f = filtersFromQuery(query.get('filters') ?? undefined);
  validateFilters(f, LIST_FILTERS);
  for (const t of f.type ?? []) if (t !== 'custom' && t !== 'builtin') throw new BuildError('INVALID_ARGUMENT', `invalid filter: 'type'='${t}'`);
  for (const d of f.dangling ?? []) if (!['true', 'false', '1', '0'].includes(d)) throw new BuildError('INVALID_ARGUMENT', `invalid filter 'dangling=${d}'`);
  const out = [];
  for (const n of await state.networks.list()) {
    const builtin = (PREDEFINED as readonly string[]).includes(n.Name);
    if (f.name && !f.name.some((x) => n.Name.includes(x))) continue;
    if (f.id && !f.id.some((x) => n.Id.includes(x))) continue;
    if (f.label && !f.label.every((l) => labelMatches(n.Labels, l))) continue;
    if (f.driver && !f.driver.includes(n.Driver)) continue;
    if (f.scope && !f.scope.includes(n.Scope)) continue;
    if (f.type && !f.type.includes(builtin ? 'builtin' : 'custom')) continue;
    if (f.dangling) {
      const dangling = !builtin && (await state.networks.members(n.Id)).length === 0;
      if (!f.dangling.some((d) => (d === 'true' || d === '1') === dangling)) continue;
    }
    out.push(await document(state, n));
  }
  sendJson(res, 200, out);
}

async function inspect({ res, state, params, query }: RouteRequest): Promise<void> {
  const n = await state.networks.find(params[0]);
  const scope = query.get('scope');
  if (scope && scope !== n.Scope) throw new NotFoundError(`network ${params[0]} not found`);
  sendJson(res, 200, await document(state, n));
}

async function create({ req, res, state }: RouteRequest): Promise<void> {
  const body = await readJson<CreateNetworkRequest>(req, {});
  const n = await forbidding(() => state.networks.create(body));
  state.events.emit({ Type: 'network', Action: 'create', Actor: { ID: n.Id, Attributes: { name: n.Name, type: n.Driver } } });
  sendJson(res, 201, { Id: n.Id, Warning: '' });
}

async function remove({ res, state, params }: RouteRequest): Promise<void> {
  const n = await state.networks.find(params[0]);
  await forbidding(() => state.networks.remove(n.Id));
  state.events.emit({ Type: 'network', Action: 'destroy', Actor: { ID: n.Id, Attributes: { name: n.Name, type: n.Driver } } });
  res.writeHead(204);
  res.end();
}

async function connect({ req, res, state, params }: RouteRequest): Promise<void> {
  const body = await readJson<{ Container?: string; EndpointConfig?: EndpointRequest | null }>(req, {});
  if (!body.Container) throw new BuildError('INVALID_ARGUMENT', 'connect: Container is required');
  const n = await state.networks.find(params[0]);
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(body.Container);
  await forbidding(() => state.networks.connect(n.Id, c, body.EndpointConfig ?? {}));
  state.events.emit({ Type: 'network', Action: 'connect', Actor: { ID: n.Id, Attributes: { container: c.id, name: n.Name, type: n.Driver } } });
  sendJson(res, 200, null);
}

async function disconnect({ req, res, state, params }: RouteRequest): Promise<void> {
  const body = await readJson<{ Container?: string; Force?: boolean }>(req, {});
  if (!body.Container) throw new BuildError('INVALID_ARGUMENT', 'disconnect: Container is required');
  const n = await state.networks.find(params[0]);
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(body.Container);
  await forbidding(() => state.networks.disconnect(n.Id, c));
  state.events.emit({ Type: 'network', Action: 'disconnect', Actor: { ID: n.Id, Attributes: { container: c.id, name: n.Name, type: n.Driver } } });
  sendJson(res, 200, null);
}

async function prune({ res, state, query }: RouteRequest): Promise<void> {
  const keep = pruneFilter(filtersFromQuery(query.get('filters') ?? undefined));
  const deleted: string[] = [];
  for (const n of await state.networks.list()) {
    if ((PREDEFINED as readonly string[]).includes(n.Name) || !keep({ created: n.Created, labels: n.Labels })) continue;
    if ((await state.networks.members(n.Id)).length > 0) continue;
    try {
      await state.networks.remove(n.Id);
      deleted.push(n.Name);
      state.events.emit({ Type: 'network', Action: 'destroy', Actor: { ID: n.Id, Attributes: { name: n.Name, type: n.Driver } } });
    } catch (err) {
      if (!(err instanceof ForbiddenError) && toBuildError(err).code !== 'NOT_FOUND') throw err;
    }
  }
  sendJson(res, 200, { NetworksDeleted: deleted });
}

async function swarmLeave({ res }: RouteRequest): Promise<void> {
  sendJson(res, 503, { message: 'This node is not part of a swarm' });
}

const ID = '([^/]+)';
export const networkRoutes: Route[] = [
  { method: 'GET', pattern: /^\/networks\/?$/, handle: list },
  { method: 'POST', pattern: /^\/networks\/create$/, handle: create },
  { method: 'POST', pattern: /^\/networks\/prune$/, handle: prune },
  { method: 'GET', pattern: new RegExp(`^/networks/${ID}$`), handle: inspect },
  { method: 'DELETE', pattern: new RegExp(`^/networks/${ID}$`), handle: remove },
  { method: 'POST', pattern: new RegExp(`^/networks/${ID}/connect$`), handle: connect },
  { method: 'POST', pattern: new RegExp(`^/networks/${ID}/disconnect$`), handle: disconnect },
  { method: 'POST', pattern: /^\/swarm\/leave$/, handle: swarmLeave },
];
