/**
 * `--output` as docker buildx takes it (`type=…,key=value,…`, or a bare path for type=local),
 * with BuildKit's exporter keys (exporter/containerimage opts, exporter/local, exporter/oci):
 * every key a type accepts is either honoured (src/builder/outputs.ts) or refused here with an
 * error naming it. Pure.
 *
 * | type | keys |
 * | --- | --- |
 * | image, registry (= image,push=true) | name (comma list), push, push-by-digest, registry.insecure / insecure, store, encoding keys |
 * | oci, docker | dest, tar (oci), name, encoding keys |
 * | local, tar | dest, platform-split=false |
 * | cacheonly | none: no image, only the cache |
 *
 * Encoding keys: compression (uncompressed, gzip, zstd), compression-level, force-compression,
 * oci-mediatypes, rewrite-timestamp, source-date-epoch. Refused with a reason: estargz, unpack=true,
 * name-canonical, dangling-name-prefix, annotation*, oci-artifact, buildinfo*, platform-split=true.
 */
import { UsageError } from '../errors.js';
import type { Compression } from '../image/compression.js';
import { parseReference } from '../image/reference.js';

/** How an exported image's layers and manifest are written (absent: as the build wrote them). */
export interface ImageEncoding {
  compression?: Compression;
  compressionLevel?: number;
  /** Recompress every layer, base image layers included (BuildKit's force-compression). */
  forceCompression?: boolean;
  /** `oci-mediatypes=true|false`: OCI or Docker schema2 media types. */
  format?: 'oci' | 'docker';
  /** Clamp file timestamps in every layer to SOURCE_DATE_EPOCH. */
  rewriteTimestamp?: boolean;
  /**
   * `source-date-epoch=` of the exporter (BuildKit's exptypes.OptKeySourceDateEpoch): seconds
   * used for this export instead of the build's SOURCE_DATE_EPOCH (rewrite-timestamp, the
   * config's created and history times); null (empty value): this export has no epoch, so
   * rewrite-timestamp rewrites nothing. The build's own times are unchanged.
   */
  sourceDateEpoch?: number | null;
}

export type OutputSpec =
  | ({ type: 'image'; names?: string[]; push?: boolean; pushByDigest?: boolean; insecure?: boolean; store?: boolean } & ImageEncoding) // the local store and/or a registry
  | ({ type: 'oci'; dest: string; tar: boolean; names?: string[] } & ImageEncoding)
  | ({ type: 'docker'; dest: string; names?: string[] } & ImageEncoding)
  | { type: 'local'; dest: string; platformSplit?: false } // platformSplit: a multi-platform build's files merged at the top
  | { type: 'tar'; dest: string; platformSplit?: false }
  | { type: 'cacheonly' };

/** Splits a CSV option value (`type=oci,dest=out.tar`) as docker does; quotes allowed. */
export function parseCsv(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const ch of value) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quote) throw new UsageError(`unterminated quote in "${value}"`);
  out.push(cur);
  return out;
}

/** `key=value` fields; `name` may repeat (its values join), other keys keep the last. */
function fields(value: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of parseCsv(value)) {
    if (f === '') continue;
    const i = f.indexOf('=');
    if (i < 0) throw new UsageError(`invalid value for --output: "${f}" is not key=value`, { hint: 'e.g. --output type=local,dest=out' });
    const k = f.slice(0, i).trim().toLowerCase();
    const v = f.slice(i + 1);
    m.set(k, k === 'name' && m.has('name') ? `${m.get('name')},${v}` : v);
  }
  return m;
}

const TRUE = ['1', 't', 'T', 'true', 'TRUE', 'True'];
const FALSE = ['0', 'f', 'F', 'false', 'FALSE', 'False'];

/** Keys refused for every type, with the reason. */
const REFUSED: Record<string, string> = {
  'name-canonical': 'mybuild names images only by the names given',
  'dangling-name-prefix': 'untagged images are kept without a name (listed as <none>)',
  'oci-artifact': 'attestation artifacts are not produced',
  buildinfo: 'build info is not recorded (BuildKit deprecated it)',
  'buildinfo-attrs': 'build info is not recorded (BuildKit deprecated it)',
};

const ENCODING_KEYS = ['compression', 'compression-level', 'force-compression', 'oci-mediatypes', 'rewrite-timestamp', 'source-date-epoch'];
const KEYS: Record<string, string[]> = {
  image: ['name', 'push', 'push-by-digest', 'registry.insecure', 'insecure', 'store', 'unpack', ...ENCODING_KEYS],
  oci: ['dest', 'tar', 'name', ...ENCODING_KEYS],
  docker: ['dest', 'name', ...ENCODING_KEYS],
  local: ['dest', 'platform-split'],
  tar: ['dest', 'platform-split'],
  cacheonly: [],
};

/** Parses one `--output` value. Throws UsageError naming the key for anything not honoured. */
export function parseOutput(value: string): OutputSpec {
  if (!value.includes('=')) {
    if (value === '-') throw new UsageError('--output -: writing a tar to stdout is not supported; give type=tar,dest=FILE');
    return { type: 'local', dest: value };
  }
  const f = fields(value);
  const given = f.get('type') ?? 'local';
  f.delete('type');
  const type = given === 'registry' ? 'image' : given;
  if (!(type in KEYS)) throw new UsageError(`--output: unknown type "${given}"`, { hint: 'types: image, registry, oci, docker, local, tar, cacheonly' });
  const err = (key: string, why: string) => new UsageError(`--output type=${given}: ${key}: ${why}`, { hint: `the keys of type=${given}: ${KEYS[type].filter((k) => k !== 'unpack').join(', ') || 'none'}` });
  for (const key of f.keys()) {
    if (key in REFUSED) throw err(key, `not supported: ${REFUSED[key]}`);
    if (key.startsWith('annotation')) throw err(key, 'not supported: image annotations from --output are not written yet');
    if (!KEYS[type].includes(key)) throw err(key, 'unknown key');
  }
  const bool = (key: string, dflt: boolean): boolean => {
    const v = f.get(key);
    if (v === undefined) return dflt;
    if (TRUE.includes(v)) return true;
    if (FALSE.includes(v)) return false;
    throw err(key, `must be true or false, got "${v}"`);
  };
  const dest = (): string => {
    const d = f.get('dest');
    if (!d) throw new UsageError(`--output type=${given} needs dest=PATH`);
    if (d === '-') throw err('dest', 'writing to stdout is not supported; give a file or directory');
    return d;
  };
  const names = (): { names?: string[] } => {
    const v = f.get('name');
    if (v === undefined) return {};
    const list = v.split(',').map((s) => s.trim()).filter(Boolean);
    if (!list.length) throw err('name', 'empty');
    for (const n of list) {
      try {
        parseReference(n);
      } catch (e) {
        throw err('name', `invalid reference "${n}": ${(e as Error).message}`);
      }
    }
    return { names: list };
  };
  const encoding = (): ImageEncoding => {
    const out: ImageEncoding = {};
    const c = f.get('compression');
    if (c !== undefined) {
      if (c === 'estargz') throw err('compression', 'estargz is not supported (uncompressed, gzip or zstd)');
      if (c !== 'gzip' && c !== 'zstd' && c !== 'uncompressed') throw err('compression', `must be uncompressed, gzip or zstd, got "${c}"`);
      out.compression = c === 'uncompressed' ? 'none' : c;
    }
    const l = f.get('compression-level');
    if (l !== undefined) {
      const kind = out.compression ?? 'gzip';
      const [lo, hi] = kind === 'zstd' ? [1, 19] : [0, 9];
      if (kind === 'none') throw err('compression-level', 'uncompressed layers have no level');
      if (!/^\d+$/.test(l) || Number(l) < lo || Number(l) > hi) throw err('compression-level', `must be ${lo}..${hi} for ${kind}, got "${l}"`);
      out.compressionLevel = Number(l);
    }
    if (f.has('force-compression')) out.forceCompression = bool('force-compression', false);
    if (f.has('oci-mediatypes')) out.format = bool('oci-mediatypes', true) ? 'oci' : 'docker';
    if (f.has('rewrite-timestamp')) out.rewriteTimestamp = bool('rewrite-timestamp', false);
    const epoch = f.get('source-date-epoch');
    if (epoch !== undefined) {
      if (epoch !== '' && !/^\d+$/.test(epoch)) throw err('source-date-epoch', `invalid SOURCE_DATE_EPOCH: ${epoch} (a number of seconds, or empty for none)`);
      out.sourceDateEpoch = epoch === '' ? null : Number(epoch);
    }
    return out;
  };
  if ((type === 'local' || type === 'tar') && f.has('platform-split') && bool('platform-split', false)) throw err('platform-split', 'true is not supported for a single-platform build (its files are written at the top); a multi-platform build splits by default');
  const split = (type === 'local' || type === 'tar') && f.has('platform-split') ? { platformSplit: false as const } : {};
  switch (type) {
    case 'image': {
      if (bool('unpack', false)) throw err('unpack', 'true is not supported: the store keeps images packed; "mybuild run" unpacks on demand');
      const push = bool('push', given === 'registry');
      const out: OutputSpec = { type: 'image', ...names(), ...encoding() };
      if (push) out.push = true;
      if (f.has('push-by-digest')) out.pushByDigest = bool('push-by-digest', false);
      if (f.has('registry.insecure') || f.has('insecure')) out.insecure = bool(f.has('registry.insecure') ? 'registry.insecure' : 'insecure', false);
      if (f.has('store')) out.store = bool('store', true);
      return out;
    }
    case 'oci': {
      const tar = f.get('tar');
      if (tar !== undefined && tar !== 'true' && tar !== 'false') throw new UsageError(`--output: tar must be true or false, got "${tar}"`);
      return { type: 'oci', dest: dest(), tar: tar !== 'false', ...names(), ...encoding() };
    }
    case 'docker':
      return { type: 'docker', dest: dest(), ...names(), ...encoding() };
    case 'local':
      return { type: 'local', dest: dest(), ...split };
    case 'tar':
      return { type: 'tar', dest: dest(), ...split };
    default:
      return { type: 'cacheonly' };
  }
}
