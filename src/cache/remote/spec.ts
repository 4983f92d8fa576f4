/**
 * `--cache-to` / `--cache-from` values, parsed as docker buildx takes them (CSV `key=value`
 * fields; a bare value for --cache-from is a registry ref). Pure; throws UsageError.
 */
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';

/** Where a build's cache goes. */
export type CacheExportSpec =
  | { type: 'registry'; ref: string; mode: 'min' | 'max'; compression?: 'gzip' | 'zstd' }
  | { type: 'local'; dest: string; tag: string; mode: 'min' | 'max'; compression?: 'gzip' | 'zstd' }
  | { type: 'inline' };

/** Where a build's cache comes from (registry: a cache artifact or an image with an inline cache). */
export type CacheImportSpec = { type: 'registry'; ref: string } | { type: 'local'; src: string; tag: string };

function fields(flag: string, value: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of value.split(',')) {
    if (f.trim() === '') continue;
    const i = f.indexOf('=');
    if (i < 0) throw new UsageError(`invalid value for ${flag}: "${f}" is not key=value`, { hint: `e.g. ${flag} type=registry,ref=registry.example.com/app:buildcache` });
    m.set(f.slice(0, i).trim().toLowerCase(), f.slice(i + 1).trim());
  }
  return m;
}

function checkRef(flag: string, ref: string | undefined): string {
  if (!ref) throw new UsageError(`${flag} type=registry needs ref=REGISTRY/REPOSITORY[:TAG]`);
  try {
    return parseReference(ref).toString();
  } catch (err) {
    throw new UsageError(`${flag}: invalid ref "${ref}": ${(err as Error).message}`, { cause: err });
  }
}

function checkUnknown(flag: string, f: Map<string, string>, known: string[]): void {
  for (const k of f.keys()) {
    if (!known.includes(k)) throw new UsageError(`${flag}: unknown field "${k}"`, { hint: `fields: ${known.join(', ')}` });
  }
}

/** `--cache-to` (relative `dest` resolved against `cwd`). */
export function parseCacheTo(value: string, cwd = process.cwd()): CacheExportSpec {
  const flag = '--cache-to';
  if (!value.includes('=')) throw new UsageError(`${flag} needs type=registry,ref=…, type=local,dest=… or type=inline, got "${value}"`);
  const f = fields(flag, value);
  const type = f.get('type') ?? 'registry';
  const mode = f.get('mode') ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw new UsageError(`${flag}: mode must be min or max, got "${mode}"`);
  const compression = f.get('compression');
  if (compression !== undefined && compression !== 'gzip' && compression !== 'zstd') throw new UsageError(`${flag}: compression must be gzip or zstd, got "${compression}"`);
  const comp = compression ? { compression: compression as 'gzip' | 'zstd' } : {};
  switch (type) {
    case 'registry':
      checkUnknown(flag, f, ['type', 'ref', 'mode', 'compression']);
      return { type: 'registry', ref: checkRef(flag, f.get('ref')), mode, ...comp };
    case 'local': {
      checkUnknown(flag, f, ['type', 'dest', 'tag', 'mode', 'compression']);
      const dest = f.get('dest');
      if (!dest) throw new UsageError(`${flag} type=local needs dest=DIR`);
      return { type: 'local', dest: path.resolve(cwd, dest), tag: f.get('tag') || 'latest', mode, ...comp };
    }
    case 'inline':
      checkUnknown(flag, f, ['type', 'mode']);
      return { type: 'inline' };
    default:
      throw new UsageError(`${flag}: unknown type "${type}"`, { hint: 'types: registry, local, inline' });
  }
}

/** `--cache-from` (a bare value is `type=registry,ref=VALUE`; relative `src` resolved against `cwd`). */
export function parseCacheFrom(value: string, cwd = process.cwd()): CacheImportSpec {
  const flag = '--cache-from';
  if (!value.includes('=')) return { type: 'registry', ref: checkRef(flag, value) };
  const f = fields(flag, value);
  const type = f.get('type') ?? 'registry';
  switch (type) {
    case 'registry':
      checkUnknown(flag, f, ['type', 'ref']);
      return { type: 'registry', ref: checkRef(flag, f.get('ref')) };
    case 'local': {
      checkUnknown(flag, f, ['type', 'src', 'tag']);
      const src = f.get('src');
      if (!src) throw new UsageError(`${flag} type=local needs src=DIR`);
      return { type: 'local', src: path.resolve(cwd, src), tag: f.get('tag') || 'latest' };
    }
    default:
      throw new UsageError(`${flag}: unknown type "${type}"`, { hint: 'types: registry, local' });
  }
}

/** How a source or destination is named in events and `--explain` (`registry:REF`, `local:DIR`). */
export function specName(s: CacheImportSpec | CacheExportSpec): string {
  if (s.type === 'registry') return `registry:${s.ref}`;
  if (s.type === 'local') return `local:${'src' in s ? s.src : s.dest}`;
  return 'inline';
}
