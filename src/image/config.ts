/**
 * Image configs: building them from a base, appending layers and history, and serialising them
 * deterministically.
 *
 * Key order follows what BuildKit writes: the top level sorted by key (BuildKit's exporter
 * round-trips the config through a Go map), the `config` object in Go struct order of the OCI
 * `ImageConfig` followed by Docker's extensions (Healthcheck, OnBuild, Shell), history entries
 * and `rootfs` in OCI struct order. `created` is only set from a date or SOURCE_DATE_EPOCH the
 * caller gives: never from the wall clock unless the caller passes `new Date()`.
 *
 * All helpers are pure: they return new objects and never modify their arguments.
 */
import { BuildError } from '../errors.js';
import { goJson, ordered, rfc3339, sortedKeys } from './json.js';
import type { ContainerConfig, Digest, HealthConfig, HistoryEntry, ImageConfig, Platform } from '../oci/types.js';

/** The history comment BuildKit's Dockerfile frontend writes. */
export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

const CONTAINER_CONFIG_ORDER = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell'] as const;
const HEALTH_ORDER = ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const;
const HISTORY_ORDER = ['created', 'created_by', 'author', 'comment', 'empty_layer'] as const;

/** When a time is wanted: an explicit date wins over SOURCE_DATE_EPOCH (seconds); neither means no time. */
export interface TimeOptions {
  created?: Date | string;
  sourceDateEpoch?: number;
}

/** The RFC 3339 time for `opts`, or undefined when neither a date nor an epoch is given. */
export function createdTime(opts: TimeOptions = {}): string | undefined {
  if (opts.created !== undefined) return rfc3339(opts.created);
  if (opts.sourceDateEpoch !== undefined) return rfc3339(opts.sourceDateEpoch);
  return undefined;
}

/** A config for `FROM scratch` on `platform`: no layers, no history, an empty `config`. */
export function emptyConfig(platform: Platform, opts: TimeOptions = {}): ImageConfig {
  if (!platform.os || !platform.architecture) {
    throw new BuildError('INVALID_ARGUMENT', `invalid platform ${JSON.stringify(platform)}: os and architecture are required`);
  }
  return normalizeConfig({
    created: createdTime(opts),
    architecture: platform.architecture,
    os: platform.os,
    variant: platform.variant,
    'os.version': platform['os.version'],
    'os.features': platform['os.features'],
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  } as ImageConfig);
}

/** The platform an image config describes. */
export function configPlatform(config: ImageConfig): Platform {
  const c = config as ImageConfig & { 'os.version'?: string; 'os.features'?: string[] };
  return ordered({ architecture: c.architecture, os: c.os, 'os.version': c['os.version'], 'os.features': c['os.features'], variant: c.variant }, ['architecture', 'os', 'os.version', 'os.features', 'variant']);
}

function historyEntry(h: HistoryEntry, emptyLayer: boolean): HistoryEntry {
  return ordered({ comment: HISTORY_COMMENT, ...h, empty_layer: emptyLayer ? true : undefined }, HISTORY_ORDER);
}

/**
 * Adds a layer (its diffId) and its history entry. `history.comment` defaults to
 * {@link HISTORY_COMMENT}; `history.created` and the config's `created` are set from `opts`
 * when given.
 */
export function appendLayer(config: ImageConfig, layer: { diffId: Digest }, history: Omit<HistoryEntry, 'empty_layer'>, opts: TimeOptions = {}): ImageConfig {
  const created = createdTime(opts);
  return normalizeConfig({
    ...config,
    created: created ?? config.created,
    rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids, layer.diffId] },
    history: [...(config.history ?? []), historyEntry({ created, ...history }, false)],
  });
}

/** Adds a history entry with `empty_layer: true` (ENV, CMD, …): no layer. */
export function appendHistory(config: ImageConfig, history: Omit<HistoryEntry, 'empty_layer'>, opts: TimeOptions = {}): ImageConfig {
  const created = createdTime(opts);
  return normalizeConfig({
    ...config,
    created: created ?? config.created,
    history: [...(config.history ?? []), historyEntry({ created, ...history }, true)],
  });
}

/** Replaces fields of the container config (`config.config`); `undefined` values remove a field. */
export function withContainerConfig(config: ImageConfig, patch: Partial<ContainerConfig>): ImageConfig {
  const next: Record<string, unknown> = { ...(config.config ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete next[k];
    else next[k] = v;
  }
  return normalizeConfig({ ...config, config: next as ContainerConfig });
}

function normalizeContainerConfig(c: ContainerConfig): ContainerConfig {
  const out = ordered(c, CONTAINER_CONFIG_ORDER);
  if (out.ExposedPorts) out.ExposedPorts = sortedKeys(out.ExposedPorts);
  if (out.Volumes) out.Volumes = sortedKeys(out.Volumes);
  if (out.Labels) out.Labels = sortedKeys(out.Labels);
  if (out.Healthcheck) out.Healthcheck = ordered(out.Healthcheck, HEALTH_ORDER) as HealthConfig;
  return out;
}

/** The config with every object's keys in the canonical order (see the module comment). */
export function normalizeConfig(config: ImageConfig): ImageConfig {
  const out = sortedKeys({ ...config });
  if (out.config) out.config = normalizeContainerConfig(out.config);
  out.rootfs = ordered({ ...out.rootfs, diff_ids: [...(out.rootfs?.diff_ids ?? [])] }, ['type', 'diff_ids']);
  if (out.history) out.history = out.history.map((h) => ordered(h, HISTORY_ORDER));
  return out;
}

/** The config's bytes: canonical key order, Go-style escaping, no trailing newline. */
export function serializeConfig(config: ImageConfig): Buffer {
  return Buffer.from(goJson(normalizeConfig(config)), 'utf8');
}
