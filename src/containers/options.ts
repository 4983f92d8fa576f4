/**
 * Command-line forms shared by `mybuild run` and the daemon: `-v SRC:DST[:ro|rw]` and `-e K=V` /
 * `-e K`. Pure.
 */
import { BuildError } from '../errors.js';
import type { VolumeSpec } from './manager.js';

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
