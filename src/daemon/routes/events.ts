/**
 * `GET /events` (past events since `since`, then a stream until `until` or the client leaves;
 * filters type, event, container, image, label) and `GET /system/df` (images with their sizes
 * and container counts, containers, no volumes, no build cache records).
 */
import { BuildError } from '../../errors.js';
import { sendJson } from '../http.js';
import type { Route, RouteRequest } from '../server.js';
import { matches } from '../events.js';
import { parseFilters } from '../filters.js';
import { containerListEntry } from '../../api/containers.js';

function timeParam(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new BuildError('INVALID_ARGUMENT', `invalid time: ${v}`);
  return t;
}

async function events({ res, state, query }: RouteRequest): Promise<void> {
  const f = parseFilters(query.get('filters'), ['type', 'event', 'container', 'image', 'label', 'volume', 'network', 'daemon', 'plugin', 'scope']);
  const since = timeParam(query.get('since'));
  const until = timeParam(query.get('until'));
  res.writeHead(200, { 'Content-Type': 'application/json' });
  (res as unknown as { flushHeaders(): void }).flushHeaders();
  const inRange = (ms: number): boolean => (since === undefined || ms >= since) && (until === undefined || ms <= until);
  const send = (e: Parameters<typeof matches>[0]): void => {
    if (matches(e, f) && inRange(e.timeNano / 1e6)) res.write(`${JSON.stringify(e)}\n`);
  };
  if (since !== undefined) for (const e of state.events.history()) send(e);
  if (until !== undefined && until <= Date.now()) {
    res.end();
    return;
  }
  const off = state.events.subscribe(send);
  await new Promise<void>((resolve) => {
    res.on('close', resolve);
    if (until !== undefined) setTimeout(resolve, until - Date.now()).unref();
  });
  off();
  res.end();
}

async function systemDf({ res, state }: RouteRequest): Promise<void> {
  const { images, dangling } = await state.images.listImages();
  const mgr = await state.containers.manager();
  const cs = await mgr.list({ all: true });
  const byId = new Map<string, { tags: string[]; size: number; created: number; labels: Record<string, string> }>();
  for (const s of [...dangling.map((d) => ({ ...d, name: '' })), ...images]) {
    const e = byId.get(s.image.configDigest) ?? { tags: [], size: s.size, created: Math.floor((Date.parse(s.image.config.created ?? '') || 0) / 1000), labels: s.image.config.config?.Labels ?? {} };
    if (s.name) e.tags.push(s.name);
    byId.set(s.image.configDigest, e);
  }
  const layersSize = [...byId.values()].reduce((n, e) => n + e.size, 0);
  sendJson(res, 200, {
    LayersSize: layersSize,
    Images: [...byId.entries()].map(([id, e]) => ({ Id: id, ParentId: '', RepoTags: e.tags, RepoDigests: [], Created: e.created, Size: e.size, SharedSize: -1, VirtualSize: e.size, Labels: e.labels, Containers: cs.filter((c) => c.config.imageId === id).length })),
    Containers: await Promise.all(cs.map(async (c) => ({ ...containerListEntry(c), SizeRw: await mgr.rwSize(c.id).catch(() => 0) }))),
    Volumes: [],
    BuildCache: [],
  });
}

export const eventRoutes: Route[] = [
  { method: 'GET', pattern: /^\/events$/, handle: events },
  { method: 'GET', pattern: /^\/system\/df$/, handle: systemDf },
];
