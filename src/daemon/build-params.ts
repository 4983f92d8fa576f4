/**
 * The legacy POST /build query parameters mybuild does not map to a BuildOptions field: each is
 * accepted when its value is the default (or has no effect on mybuild: `rm`, `forcerm` — no
 * intermediate containers are kept), otherwise refused with a 400 naming it, so no parameter a
 * client sends is silently ignored. `networkmode` is mapped (default, none, host).
 */
import { UsageError } from '../errors.js';

/** Parameters the route maps itself (see routes/build.ts). */
const MAPPED = new Set(['t', 'dockerfile', 'buildargs', 'labels', 'target', 'nocache', 'pull', 'platform', 'q', 'remote', 'networkmode', 'shmsize', 'extrahosts']);
/** Accepted with any value: no intermediate containers exist to keep or remove. */
const NO_EFFECT = new Set(['rm', 'forcerm']);
/** Their default values (what the docker CLI and docker-py send when unset). */
const DEFAULTS: Record<string, string[]> = {
  version: ['', '1'],
  cachefrom: ['', '[]', 'null'],
  memory: ['', '0'],
  memswap: ['', '0'],
  cpushares: ['', '0'],
  cpusetcpus: [''],
  cpusetmems: [''],
  cpuperiod: ['', '0'],
  cpuquota: ['', '0'],
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
