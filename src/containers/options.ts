/**
 * Command-line forms shared by `mybuild run` and the daemon: `-v SRC:DST[:ro|rw]`, `-e K=V` /
 * `-e K`, `-p [IP:]HOST:CONTAINER[/PROTO]` and `--network`. Pure.
 */
import { BuildError } from '../errors.js';
import type { VolumeSpec } from './manager.js';
import { isIP } from 'node:net';
import type { NetworkMode } from '../runtime/spec.js';
import type { PublishedPort } from '../runtime/usernet.js';

/**
 * Parses `SRC:DST[:MODE]` (MODE `ro` or `rw`; SRC an absolute host path). Throws BuildError
 * INVALID_ARGUMENT naming what was wrong (the existence of SRC is checked by `create`).
 */
export function parseVolume(spec: string): VolumeSpec {
  const parts = spec.split(':');
  const bad = (why: string): BuildError =>
    new BuildError('INVALID_ARGUMENT', `invalid volume specification "${spec}": ${why}`, { hint: 'expected -v /abs/host/path:/path/in/container[:ro|rw]' });
  if (parts.length < 2 || parts.length > 3) throw bad(parts.length < 2 ? 'expected SRC:DST (anonymous volumes are not supported)' : 'too many ":"');
  const [source, target, mode = 'rw'] = parts;
  if (source === '' || target === '') throw bad('empty source or destination');
  if (!source.startsWith('/')) throw bad(`the source "${source}" is not an absolute host path (named volumes are not supported)`);
  if (!target.startsWith('/')) throw bad(`the destination "${target}" is not an absolute path`);
  if (mode !== 'ro' && mode !== 'rw') throw bad(`unknown mode "${mode}" (expected ro or rw)`);
  return { source, target, readonly: mode === 'ro' };
}

/**
 * Docker's `-e`: `K=V` as is; `K` takes K's value from `hostEnv`, and is dropped when K is not
 * set there. Throws BuildError INVALID_ARGUMENT for an empty name.
 */
export function parseEnvFlags(flags: string[], hostEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const f of flags) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (key === '') throw new BuildError('INVALID_ARGUMENT', `invalid environment variable "${f}": the name is empty`, { hint: 'use -e KEY=value or -e KEY' });
    if (eq >= 0) out.push(f);
    else if (hostEnv[key] !== undefined) out.push(`${key}=${hostEnv[key]}`);
  }
  return out;
}

/**
 * Parses `-p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]` (IPv6 host addresses in brackets).
 * Throws BuildError INVALID_ARGUMENT for anything else, naming what is not supported (a port
 * without a host port, port ranges).
 */
export function parsePublish(spec: string): PublishedPort {
  const bad = (why: string): BuildError => new BuildError('INVALID_ARGUMENT', `invalid publish "${spec}": ${why}`, { hint: 'use -p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp], e.g. -p 127.0.0.1:8080:80' });
  const slash = spec.lastIndexOf('/');
  const proto = slash >= 0 ? spec.slice(slash + 1) : 'tcp';
  if (proto !== 'tcp' && proto !== 'udp') throw bad(`protocol "${proto}" is not tcp or udp`);
  const rest = slash >= 0 ? spec.slice(0, slash) : spec;
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]*):)?([^:]*):([^:]+)$/.exec(rest);
  if (!m) throw bad(rest.includes(':') ? 'expected HOST_PORT:CONTAINER_PORT' : 'a host port is required (mybuild does not pick one)');
  const port = (s: string, what: string): number => {
    if (/-/.test(s)) throw bad('port ranges are not supported');
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw bad(`${what} "${s}" is not a port number (1-65535)`);
    return Number(s);
  };
  if (m[2] === '') throw bad('a host port is required (mybuild does not pick one)');
  const hostIp = m[1] ? m[1].replace(/^\[|\]$/g, '') : undefined;
  if (hostIp !== undefined && hostIp !== '' && !isIP(hostIp)) throw bad(`host address "${hostIp}" is not an IP address`);
  return {
    ...(hostIp ? { hostIp } : {}),
    hostPort: port(m[2]!, 'host port'),
    containerPort: port(m[3]!, 'container port'),
    protocol: proto,
  };
}

/**
 * `--network` of `mybuild run`: `default` (also Docker's `bridge`, or `slirp4netns`) is the
 * user-mode sandbox network; `none`; `host`. Throws BuildError INVALID_ARGUMENT otherwise.
 */
export function parseNetworkFlag(v: string): NetworkMode {
  if (v === 'default' || v === 'bridge' || v === 'slirp4netns') return 'sandbox';
  if (v === 'none' || v === 'host') return v;
  throw new BuildError('INVALID_ARGUMENT', `network "${v}" is not supported: expected "default", "none" or "host"`, { hint: 'mybuild creates no bridges: the default network is user-mode (slirp4netns); --network host shares the host network' });
}
