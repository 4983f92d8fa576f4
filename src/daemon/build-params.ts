/**
 * The legacy POST /build query parameters mybuild does not map to a BuildOptions field: each is
 * accepted when its value is the default (or has no effect on mybuild: `rm`, `forcerm` — no
 * intermediate containers are kept), otherwise refused with a 400 naming it, so no parameter a
 * client sends is silently ignored. `networkmode` is mapped (default, none, host).
 */
import { UsageError } from '../errors.js';
import type { ContainerResources } from '../runtime/spec.js';

/** The RUN steps' cgroup limits (docker build -m, --memory-swap, --cpu-*): see buildResources. */
const RESOURCE_PARAMS = ['memory', 'memswap', 'cpushares', 'cpusetcpus', 'cpusetmems', 'cpuperiod', 'cpuquota'];
/** Parameters the route maps itself (see routes/build.ts). */
const MAPPED = new Set(['t', 'dockerfile', 'buildargs', 'labels', 'target', 'nocache', 'pull', 'platform', 'q', 'remote', 'networkmode', 'shmsize', 'extrahosts', ...RESOURCE_PARAMS]);
/** Accepted with any value: no intermediate containers exist to keep or remove. */
const NO_EFFECT = new Set(['rm', 'forcerm']);
/** Their default values (what the docker CLI and docker-py send when unset). */
const DEFAULTS: Record<string, string[]> = {
  version: ['', '1'],
  cachefrom: ['', '[]', 'null'],
  squash: ['', '0', 'false'],
  ulimits: ['', '[]', 'null'],
  isolation: ['', 'default'],
  outputs: ['', '[]', 'null'],
  session: [''],
  buildid: [''],
  securityopt: ['', '[]', 'null'],
  cgroupparent: [''],
};

/** Throws UsageError (400) for the first parameter with a value mybuild would otherwise ignore. */
export function refuseUnmappedBuildParams(query: URLSearchParams): void {
  for (const [k, v] of query) {
    if (MAPPED.has(k) || NO_EFFECT.has(k)) continue;
    if (DEFAULTS[k]?.includes(v)) continue;
    throw new UsageError(`build parameter ${k}=${v.slice(0, 80)} is not supported by mybuild`, { hint: k === 'version' ? 'the daemon serves the legacy builder API (version 1)' : 'build without it, or daemonless (without -H)' });
  }
}

/** The build's RUN network from `networkmode` (default, bridge → default; none; host). */
export function buildNetwork(v: string | null): 'default' | 'none' | 'host' {
  if (!v || v === 'default' || v === 'bridge') return 'default';
  if (v === 'none' || v === 'host') return v;
  throw new UsageError(`build parameter networkmode=${v} is not supported by mybuild`, { hint: 'use default, none or host' });
}

/**
 * The RUN steps' cgroup limits from `memory`, `memswap` (memory plus swap, -1 unlimited),
 * `cpushares`, `cpuperiod`, `cpuquota`, `cpusetcpus`, `cpusetmems` (0 or empty: unset, as the
 * docker CLI sends them), or undefined when none is set. Throws UsageError (400) naming a bad one.
 */
export function buildResources(query: URLSearchParams): ContainerResources | undefined {
  const int = (k: string, min: number): number | undefined => {
    const v = query.get(k);
    if (v === null || v === '' || v === '0') return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min) throw new UsageError(`build parameter ${k}=${v.slice(0, 80)} is invalid: ${min < 0 ? 'must be -1 (unlimited) or > 0' : 'must be > 0'}`);
    return Number(v);
  };
  const set = (k: string): string | undefined => {
    const v = query.get(k);
    if (!v) return undefined;
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v)) throw new UsageError(`build parameter ${k}=${v.slice(0, 80)} is invalid: expected a list such as 0-3,5`);
    return v;
  };
  const memory = { limit: int('memory', 1), swap: int('memswap', -1) };
  if (memory.swap !== undefined && memory.limit === undefined) throw new UsageError('build parameter memswap needs memory: it is the limit of memory plus swap');
  const cpu = { shares: int('cpushares', 1), period: int('cpuperiod', 1), quota: int('cpuquota', 1), cpus: set('cpusetcpus'), mems: set('cpusetmems') };
  const defined = <T extends object>(o: T): T | undefined => {
    const out = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
    return Object.keys(out).length ? out : undefined;
  };
  const r = { memory: defined(memory), cpu: defined(cpu) };
  return r.memory || r.cpu ? (defined(r) as ContainerResources) : undefined;
}
