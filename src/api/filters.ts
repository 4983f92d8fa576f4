/**
 * docker's `--filter` (the Engine API's `filters` query): parsing `key=value` flags, the JSON
 * form sent to and read by the daemon (`{"label":{"a=b":true}}`), and the one implementation of
 * the image, container and prune filters that LocalEngine, RemoteEngine and the daemon's routes
 * share, with dockerd's semantics:
 *
 * - images: dangling=true|false, label=KEY[=VALUE] (all must match), reference=PATTERN (path
 *   globs on `name:tag` or `name`, any may match), before=IMAGE / since=IMAGE (created
 *   earlier / later than that image);
 * - containers: status=STATE (implies --all), name=REGEXP (on `/name`), id=REGEXP,
 *   label=KEY[=VALUE], ancestor=IMAGE (its image by name or ID), exited=CODE (implies --all),
 *   before=CONTAINER / since=CONTAINER (created earlier / later), volume=PATH (a bind's source
 *   or destination), network=MODE, publish=/expose=PORT[/PROTO], health=none, is-task=false;
 * - prune: until=TIMESTAMP|DURATION (created before), label=… and label!=….
 *
 * Several values of one key match when any does (label: when all do), keys combine with AND.
 */
import { BuildError, UsageError, NotFoundError } from '../errors.js';
import { familiarName } from '../oci/reference.js';
import { parseReference } from '../image/reference.js';

/** Filter key → its values (docker's filters.Args). */
export type Filters = Record<string, string[]>;

export const IMAGE_FILTERS = ['dangling', 'label', 'reference', 'before', 'since'] as const;
export const CONTAINER_FILTERS = ['status', 'name', 'id', 'label', 'ancestor', 'exited', 'before', 'since', 'volume', 'network', 'health', 'is-task', 'publish', 'expose'] as const;
export const PRUNE_FILTERS = ['until', 'label', 'label!'] as const;

const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** `--filter key=value` flags → Filters; docker's `bad format of filter (expected name=value)`. */
export function parseFilterFlags(flags: readonly string[] | undefined): Filters {
  const out: Filters = {};
  for (const f of flags ?? []) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new UsageError(`bad format of filter (expected name=value): ${f}`, { hint: 'e.g. --filter dangling=true, --filter label=com.example.k=v' });
    (out[f.slice(0, eq).trim().toLowerCase()] ??= []).push(f.slice(eq + 1));
  }
  return out;
}

/** The `filters` query value: `{"key":{"value":true}}` (undefined when there are none). */
export function filtersToQuery(f: Filters | undefined): string | undefined {
  if (!f || !Object.keys(f).length) return undefined;
  return JSON.stringify(Object.fromEntries(Object.entries(f).map(([k, vs]) => [k, Object.fromEntries(vs.map((v) => [v, true]))])));
}

/** A `filters` query value in either of docker's forms (`{"k":{"v":true}}` or the old `{"k":["v"]}`). */
export function filtersFromQuery(q: string | undefined): Filters {
  if (!q) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(q);
  } catch {
    throw new BuildError('INVALID_ARGUMENT', `invalid filters: ${q}`);
  }
  const out: Filters = {};
  for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.entries(v as Record<string, unknown>).filter(([, on]) => on === true).map(([x]) => x);
    else throw new BuildError('INVALID_ARGUMENT', `invalid filters: ${q}`);
  }
  return out;
}

/** dockerd's `invalid filter 'KEY'` for a key not in `allowed`. */
export function validateFilters(f: Filters, allowed: readonly string[]): void {
  for (const k of Object.keys(f)) {
    if (!allowed.includes(k)) throw new BuildError('INVALID_ARGUMENT', `invalid filter '${k}'`, { hint: `the filters here are: ${allowed.join(', ')}` });
  }
}

function invalidValue(k: string, v: string): BuildError {
  return new BuildError('INVALID_ARGUMENT', `invalid filter '${k}=${v}'`);
}

/** label=KEY or label=KEY=VALUE against `labels`. */
export function labelMatches(labels: Record<string, string> | undefined, term: string): boolean {
  const eq = term.indexOf('=');
  const [k, v] = eq < 0 ? [term, undefined] : [term.slice(0, eq), term.slice(eq + 1)];
  if (!labels || !Object.hasOwn(labels, k)) return false;
  return v === undefined || labels[k] === v;
}

/** Go's path.Match: `*` any run of non-`/`, `?` one non-`/`, `[...]` a class, `\` escapes. */
export function pathMatch(pattern: string, name: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) return false;
      re += `[${pattern.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`).test(name);
  } catch {
    return false;
  }
}

/** docker's filters.Match: any of the terms, as a regular expression, matches `source`. */
function regexpMatch(terms: string[], source: string): boolean {
  return terms.some((t) => {
    try {
      return new RegExp(t).test(source);
    } catch {
      return false;
    }
  });
}

/** An image row as the filters see it (the Engine's ImageRow). */
export interface FilterImage {
  name?: string;
  id: string;
  created?: string;
  labels?: Record<string, string>;
}

/** The image `ref` names among `images` (a name, or an ID or its prefix). */
function findImage<T extends FilterImage>(images: readonly T[], ref: string): T | undefined {
  const hex = ref.replace(/^sha256:/, '');
  if (/^[0-9a-f]{4,64}$/.test(hex)) {
    const byId = images.find((i) => i.id.replace(/^sha256:/, '').startsWith(hex));
    if (byId) return byId;
  }
  let full: string;
  try {
    full = parseReference(ref).toString();
  } catch {
    return undefined;
  }
  return images.find((i) => i.name === full);
}

/** Keeps the image rows `f` selects (validated against IMAGE_FILTERS). */
export function filterImages<T extends FilterImage>(images: readonly T[], f: Filters): T[] {
  validateFilters(f, IMAGE_FILTERS);
  const dangling = f.dangling?.map((v) => {
    const b = v.toLowerCase();
    if (b !== 'true' && b !== 'false' && b !== '1' && b !== '0') throw invalidValue('dangling', v);
    return b === 'true' || b === '1';
  });
  const time = (key: 'before' | 'since'): number | undefined => {
    const vs = f[key];
    if (!vs?.length) return undefined;
    const img = findImage(images, vs[vs.length - 1]);
    if (!img) throw new NotFoundError(`No such image: ${vs[vs.length - 1]}`);
    return Date.parse(img.created ?? '');
  };
  const before = time('before');
  const since = time('since');
  return images.filter((img) => {
    if (dangling && !dangling.some((d) => d === (img.name === undefined))) return false;
    if (f.label && !f.label.every((l) => labelMatches(img.labels, l))) return false;
    if (f.reference) {
      if (img.name === undefined) return false;
      let names: string[];
      try {
        const ref = parseReference(img.name);
        names = [ref.familiar(), familiarName(ref.name)];
      } catch {
        names = [img.name];
      }
      if (!f.reference.some((p) => names.some((n) => pathMatch(p, n)))) return false;
    }
    const t = Date.parse(img.created ?? '');
    if (before !== undefined && !(t < before)) return false;
    if (since !== undefined && !(t > since)) return false;
    return true;
  });
}

/** A container as the filters see it (the API's ContainerSummary). */
export interface FilterContainer {
  id: string;
  name: string;
  image: string;
  imageId?: string;
  state: string;
  exitCode?: number;
  labels?: Record<string, string>;
  /** RFC 3339 creation time (before=/since=). */
  created?: string;
  /** Sources and destinations of its bind mounts (volume=). */
  volumePaths?: string[];
  /** Its network mode as Docker names it (network=). */
  network?: string;
  /** `80/tcp`-style ports it exposes or publishes (publish=, expose=). */
  portKeys?: string[];
}

/** Whether `f` makes `ps` list stopped containers too (a status or exited filter, as dockerd's). */
export function filtersImplyAll(f: Filters): boolean {
  return (f.status?.length ?? 0) > 0 || (f.exited?.length ?? 0) > 0;
}

/** The container `ref` names among `containers` (a name, `/name`, or an ID prefix). */
function findContainer<T extends FilterContainer>(containers: readonly T[], ref: string): T {
  const name = ref.replace(/^\//, '');
  const c = containers.find((x) => x.name === name) ?? containers.find((x) => x.id.startsWith(ref));
  if (!c) throw new NotFoundError(`No such container: ${ref}`);
  return c;
}

/**
 * Keeps the containers `f` selects; `images` resolves ancestor=IMAGE. Given every container with
 * `opts.all` false, it also drops the stopped ones (unless a filter implies --all), so before=/since=
 * can name a stopped container.
 */
export function filterContainers<T extends FilterContainer>(containers: readonly T[], f: Filters, images: readonly FilterImage[] = [], opts: { all?: boolean } = {}): T[] {
  validateFilters(f, CONTAINER_FILTERS);
  for (const s of f.status ?? []) if (!STATES.includes(s)) throw invalidValue('status', s);
  const exited = f.exited?.map((v) => {
    if (!/^-?\d+$/.test(v)) throw invalidValue('exited', v);
    return Number(v);
  });
  const ancestors = (f.ancestor ?? []).map((a) => findImage(images, a)?.id ?? a);
  const before = f.before?.length ? Date.parse(findContainer(containers, f.before[f.before.length - 1]).created ?? '') : undefined;
  const since = f.since?.length ? Date.parse(findContainer(containers, f.since[f.since.length - 1]).created ?? '') : undefined;
  const ports = [...(f.publish ?? []), ...(f.expose ?? [])].map((p) => (p.includes('/') ? p : `${p}/tcp`));
  return containers.filter((c) => {
    if (opts.all === false && !filtersImplyAll(f) && c.state !== 'running' && c.state !== 'paused') return false;
    if (f.status && !f.status.includes(c.state)) return false;
    if (f.name && !regexpMatch(f.name, `/${c.name}`)) return false;
    if (f.id && !regexpMatch(f.id, c.id)) return false;
    if (f.label && !f.label.every((l) => labelMatches(c.labels, l))) return false;
    if (exited && !(c.state === 'exited' && exited.includes(c.exitCode ?? 0))) return false;
    if (f.ancestor && !ancestors.some((a) => a === c.imageId || a === c.image)) return false;
    const created = Date.parse(c.created ?? '');
    if (before !== undefined && !(created < before)) return false;
    if (since !== undefined && !(created > since)) return false;
    if (f.volume && !f.volume.some((v) => (c.volumePaths ?? []).includes(v))) return false;
    if (f.network && !f.network.includes(c.network ?? '')) return false;
    if (f.health && !f.health.includes('none')) return false;
    if (f['is-task'] && f['is-task'].includes('true')) return false;
    if (ports.length && !ports.some((p) => (c.portKeys ?? []).includes(p))) return false;
    return true;
  });
}

/** Go's time.ParseDuration subset docker's `until` takes: `10m`, `1h30m`, `2.5h`, `90s`. */
function goDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    ms += Number(m[1]) * unit[m[2]];
    i = re.lastIndex;
  }
  return i > 0 ? ms : undefined;
}

/** `until`: a Go duration before `now`, unix seconds, or an RFC 3339 / date time; ms since the epoch. */
export function untilTime(v: string, now = Date.now()): number {
  const d = goDuration(v);
  if (d !== undefined) return now - d;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t)) throw new BuildError('INVALID_ARGUMENT', `invalid filter 'until=${v}': give a duration (24h), a Unix timestamp or an RFC 3339 time`);
  return t;
}

/** The prune filters' test of one candidate (until, label, label!). */
export function pruneFilter(f: Filters, now = Date.now()): (item: { created?: string; labels?: Record<string, string> }) => boolean {
  validateFilters(f, PRUNE_FILTERS);
  const until = f.until?.length ? Math.min(...f.until.map((u) => untilTime(u, now))) : undefined;
  return (item) => {
    if (until !== undefined && !(Date.parse(item.created ?? '') < until)) return false;
    if (f.label && !f.label.every((l) => labelMatches(item.labels, l))) return false;
    if (f['label!'] && f['label!'].some((l) => labelMatches(item.labels, l))) return false;
    return true;
  };
}
