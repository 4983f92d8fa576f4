/**
 * Docker image references, parsed and normalised as distribution/reference does
 * (reference/normalize.go, reference/regexp.go):
 *
 *     reference  := name [ ":" tag ] [ "@" digest ]
 *     name       := [domain "/"] path-component ["/" path-component]*
 *     domain     := domain-component ["." domain-component]* [":" port-number]   (or [ipv6]:port)
 *     path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := [_.] | "__" | "-"+
 *     tag        := [\w][\w.-]{0,127}
 *     digest     := algorithm ":" hex (sha256: 64 hex digits)
 *
 * The first path component is a domain when it contains "." or ":", or is "localhost", or has
 * an uppercase letter; otherwise the domain is docker.io and single-component names get the
 * "library/" prefix. A reference without tag or digest gets the tag "latest".
 *
 * Pure: no I/O, no project imports, no exceptions. Invalid input gives an `Invalid` saying what
 * was wrong; `src/image/reference.ts` makes that the user error INVALID_ARGUMENT for callers that
 * want the throwing form (src/oci sits below errors.ts; platform.ts's parse works the same way).
 */
import { isSha256Hex, type Digest } from './digest.js';

/** The domain Docker Hub references normalise to. */
export const DOCKER_HUB_DOMAIN = 'docker.io';
/** The host that actually serves Docker Hub's registry API. */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';
/** Docker's config.json key for Docker Hub credentials. */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';
const LEGACY_DOCKER_HUB_DOMAINS = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_DOMAIN = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** A parsed, normalised reference. `name` is `domain/path`. */
export interface Reference {
  /** Registry domain, e.g. `docker.io`, `localhost:5000`, `127.0.0.1:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/alpine`. */
  readonly path: string;
  /** The tag; `latest` when neither tag nor digest was given, undefined for digest-only references. */
  readonly tag?: string;
  readonly digest?: Digest;
  /** `domain/path` */
  readonly name: string;
  /** The full normalised form: `docker.io/library/alpine:latest`, `name@sha256:…`, `name:tag@sha256:…`. */
  toString(): string;
  /** The short form Docker displays: `alpine:latest`, `user/app:1`, `localhost:5000/x:t`. */
  familiar(): string;
  /** `tag` when there is one, else the digest (what the registry's /manifests/<x> takes). */
  readonly identifier: string;
}

/** Why a string is not a reference, a registry or a tag: the message (and hint) of its error. */
export interface Invalid {
  readonly invalid: string;
  readonly hint?: string;
}

/** True when a `readReference`/`readRegistry`/`retag` result is the reason it failed. */
export function isInvalid(r: unknown): r is Invalid {
  return typeof r === 'object' && r !== null && typeof (r as Invalid).invalid === 'string';
}

function invalid(input: string, why: string, hint?: string): Invalid {
  const invalid = `invalid reference format "${input}": ${why}`;
  return hint ? { invalid, hint } : { invalid };
}

function isDomain(s: string): boolean {
  let host = s;
  let port: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return false;
    host = s.slice(0, close + 1);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return false;
      port = rest.slice(1);
    }
    if (!IPV6_DOMAIN.test(host)) return false;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon >= 0) {
      host = s.slice(0, colon);
      port = s.slice(colon + 1);
    }
    if (!host.split('.').every((c) => DOMAIN_COMPONENT.test(c))) return false;
  }
  return port === undefined || PORT.test(port);
}

class ParsedReference implements Reference {
  constructor(
    readonly domain: string,
    readonly path: string,
    readonly tag: string | undefined,
    readonly digest: Digest | undefined,
  ) {}
  get name(): string {
    return `${this.domain}/${this.path}`;
  }
  get identifier(): string {
    return this.tag ?? (this.digest as string);
  }
  toString(): string {
    return this.name + (this.tag ? `:${this.tag}` : '') + (this.digest ? `@${this.digest}` : '');
  }
  familiar(): string {
    return familiarName(this.name) + (this.tag ? `:${this.tag}` : '') + (this.digest ? `@${this.digest}` : '');
  }
}

/**
 * Parses and normalises `input` (see the module comment). Gives an `Invalid` for an empty
 * string, uppercase repository names ("repository name must be lowercase"), a bad tag, a bad
 * digest, a bad domain or a name over 255 characters.
 */
export function readReference(input: string): Reference | Invalid {
  const s = input.trim();
  if (s === '') return invalid(input, 'the reference is empty', 'give an image name such as "alpine" or "registry.example:5000/app:1"');
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(d)) return invalid(input, `"${d}" is not a valid digest (expected algorithm:hex, e.g. sha256:<64 hex digits>)`);
    const [algo, hex] = d.split(':', 2);
    if (algo !== 'sha256') return invalid(input, `unsupported digest algorithm "${algo}" (only sha256 is supported)`);
    if (!isSha256Hex(hex)) return invalid(input, `"${d}" is not a valid sha256 digest (expected 64 lowercase hex digits)`);
    digest = d as Digest;
  }
  // A tag is after the last ':' that follows the last '/'.
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      return invalid(input, `"${tag}" is not a valid tag (expected up to 128 letters, digits, "_", "." or "-", not starting with "." or "-")`);
    }
  }
  if (rest === '') return invalid(input, 'the repository name is empty');
  // Split off the domain (distribution/reference splitDockerDomain).
  let domain: string;
  let path: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DOCKER_HUB_DOMAIN;
    path = rest;
  } else {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (!isDomain(domain)) return invalid(input, `"${domain}" is not a valid registry host (expected host[:port])`);
  if (LEGACY_DOCKER_HUB_DOMAINS.has(domain)) domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  const components = path.split('/');
  for (const c of components) {
    if (PATH_COMPONENT.test(c)) continue;
    if (PATH_COMPONENT.test(c.toLowerCase())) {
      return invalid(input, 'repository name must be lowercase', `use "${parseReferenceSafeLower(s)}"`);
    }
    if (c === '') return invalid(input, 'the repository name has an empty path component (check for "//" or a trailing "/")');
    return invalid(input, `"${c}" is not a valid repository name component (expected lowercase letters and digits, separated by ".", "_", "__" or "-")`);
  }
  const name = `${domain}/${path}`;
  if (name.length > NAME_TOTAL_LENGTH_MAX) return invalid(input, `repository name is ${name.length} characters long (at most ${NAME_TOTAL_LENGTH_MAX})`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return new ParsedReference(domain, path, tag, digest);
}

function parseReferenceSafeLower(s: string): string {
  // Only the repository part is lowercased; the tag keeps its case.
  const at = s.indexOf('@');
  const base = at >= 0 ? s.slice(0, at) : s;
  const lastSlash = base.lastIndexOf('/');
  const colon = base.indexOf(':', lastSlash + 1);
  const repo = colon >= 0 ? base.slice(0, colon) : base;
  return repo.toLowerCase() + s.slice(repo.length);
}

/**
 * The short display name of a normalised repository name (no tag): `docker.io/library/alpine`
 * → `alpine`, `docker.io/user/app` → `user/app`; other domains are kept. A full reference
 * (with tag/digest) is accepted too and keeps its suffix.
 */
export function familiarName(name: string): string {
  const prefix = `${DOCKER_HUB_DOMAIN}/`;
  if (!name.startsWith(prefix)) return name;
  let rest = name.slice(prefix.length);
  if (rest.startsWith(OFFICIAL_REPO_PREFIX) && !rest.slice(OFFICIAL_REPO_PREFIX.length).includes('/')) {
    rest = rest.slice(OFFICIAL_REPO_PREFIX.length);
  }
  return rest;
}

/** The host to talk to for a reference's domain: `docker.io` → `registry-1.docker.io`, others as they are. */
export function registryHost(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_REGISTRY : domain;
}

/**
 * Normalises a registry name given on the command line (`docker.io`, `https://index.docker.io/v1/`,
 * `localhost:5000`, `http://127.0.0.1:5000/`) to the domain used by references
 * (`docker.io`, `localhost:5000`). Gives an `Invalid` for a bad host.
 */
export function readRegistry(input: string): string | Invalid {
  let s = input.trim().replace(/^[a-z]+:\/\//i, '');
  s = s.replace(/\/.*$/, '');
  if (s === '' || !isDomain(s)) {
    return { invalid: `invalid registry "${input}": expected host[:port] (e.g. "localhost:5000" or "docker.io")` };
  }
  if (LEGACY_DOCKER_HUB_DOMAINS.has(s)) return DOCKER_HUB_DOMAIN;
  return s;
}

/** A copy of `ref` with another tag (and no digest), or an `Invalid` for a bad tag. */
export function retag(ref: Reference, tag: string): Reference | Invalid {
  if (!TAG.test(tag)) return invalid(tag, `"${tag}" is not a valid tag`);
  return new ParsedReference(ref.domain, ref.path, tag, undefined);
}
