/**
 * `docker commit`: a new image from a container's filesystem changes (one layer on top of the
 * container's image) and its config, as dockerd makes it: the container's Cmd, Entrypoint,
 * Env, WorkingDir, User, Labels, ExposedPorts, Volumes and StopSignal, overridden by the
 * request's config, then by the Dockerfile-style `changes`; `author`, `comment`; the legacy
 * `parent`, `container` and `container_config` fields dockerd writes. A running container is
 * frozen (cgroup freezer) while its changes are read unless `pause` is false.
 */
import { writeLayer } from '../image/layer-writer.js';
import { appendLayer } from '../image/config.js';
import { applyChanges } from '../image/changes.js';
import { writeImage, type WrittenImage } from '../image/manifest.js';
import type { ContainerConfig, ImageConfig } from '../oci/types.js';
import { isFrozen, setFrozen } from './cgroups.js';
import type { ContainerManager } from './manager.js';

export interface CommitOptions {
  /** Engine-API Config fields that replace the container's (non-empty ones only). */
  config?: ContainerConfig;
  changes?: string[];
  comment?: string;
  author?: string;
  /** Freeze a running container while reading its changes (default true, as dockerd). */
  pause?: boolean;
}

const OVERRIDABLE = ['Cmd', 'Entrypoint', 'Env', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell'] as const;

const empty = (v: unknown): boolean => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

/** Writes the image of container `ref` (blobs and manifest; naming it is the caller's). */
export async function commitContainer(mgr: ContainerManager, ref: string, opts: CommitOptions = {}): Promise<WrittenImage> {
  const c = await mgr.inspect(ref);
  const base = await mgr.images.resolve(c.config.imageId);
  const st = c.config.settings ?? {};
  // The container's config as dockerd keeps it: its own values over the image's.
  const own: ContainerConfig = {
    ...(base.config.config ?? {}),
    Env: c.config.env,
    ...(c.config.cmd ? { Cmd: c.config.cmd } : {}),
    ...(c.config.entrypoint ? { Entrypoint: c.config.entrypoint.length ? c.config.entrypoint : undefined } : {}),
    WorkingDir: c.config.workdir === '/' && !base.config.config?.WorkingDir ? '' : c.config.workdir,
    User: c.config.user,
    ...(st.labels ? { Labels: { ...(base.config.config?.Labels ?? {}), ...st.labels } } : {}),
    ...(st.exposedPorts ? { ExposedPorts: st.exposedPorts as ContainerConfig['ExposedPorts'] } : {}),
    ...(c.config.stopSignal ? { StopSignal: c.config.stopSignal } : {}),
  };
  const merged: ContainerConfig = { ...own };
  for (const k of OVERRIDABLE) {
    const v = opts.config?.[k];
    if (!empty(v)) (merged as Record<string, unknown>)[k] = v;
  }
  const running = c.state.status === 'running';
  const freeze = running && opts.pause !== false && !(await isFrozen(c.id));
  if (freeze) await setFrozen(c.id, true);
  let layer;
  try {
    layer = await writeLayer(await mgr.diffEntries(c.id), mgr.images.content, { compression: 'gzip' });
  } finally {
    if (freeze) await setFrozen(c.id, false);
  }
  let config: ImageConfig = { ...base.config, config: merged };
  if (opts.changes?.length) config = applyChanges(config, opts.changes);
  config = appendLayer(config, layer, { created_by: '', ...(opts.comment ? { comment: opts.comment } : {}) }, { created: new Date() });
  config = {
    ...config,
    ...(opts.author ? { author: opts.author } : {}),
    parent: base.configDigest,
    container: c.id,
    container_config: { ...own, Image: c.config.image, Hostname: c.config.hostname } as ContainerConfig,
  };
  return writeImage(mgr.images.content, config, [...base.manifest.layers, layer.descriptor], { format: 'docker' });
}
