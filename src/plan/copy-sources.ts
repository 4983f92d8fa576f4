/**
 * What COPY and ADD accept as sources and as `--checksum`, with BuildKit's messages
 * (dockerfile2llb/convert_copy.go): a URL is an ADD source only ("source can't be a URL for
 * COPY", likewise a git repository, which ADD clones), and a checksum is a digest go-digest can verify (sha256, sha384 or sha512; its
 * errors "invalid checksum digest format", "unsupported digest algorithm", "invalid checksum
 * digest length"). Pure: the plan checks literal values, the builder the expanded ones.
 */

/** An http(s) URL source (BuildKit's isHTTPSource: git URLs are not). */
export function isUrlSource(src: string): boolean {
  return /^https?:\/\//.test(src) && !isGitSource(src);
}

/**
 * A git repository source, as BuildKit's dfgitutil.ParseGitRef tells one from a local path: a
 * `git://` or `ssh://` URL, an http(s) URL whose path ends in `.git`, or an scp-like
 * `user@host:path` (`github.com/…` without a scheme stays a local path).
 */
export function isGitSource(src: string): boolean {
  const proto = /^([a-zA-Z0-9]+):\/\//.exec(src)?.[1]?.toLowerCase();
  if (proto === 'git' || proto === 'ssh') return true;
  if (proto === 'http' || proto === 'https') {
    try {
      return new URL(src).pathname.endsWith('.git');
    } catch {
      return false;
    }
  }
  return proto === undefined && /^[a-zA-Z0-9-_]+@[a-zA-Z0-9-.]+:/.test(src);
}

/** BuildKit's error for a URL among COPY's sources. */
export const COPY_URL_ERROR = "source can't be a URL for COPY";

/** BuildKit's error for a git repository among COPY's sources. */
export const COPY_GIT_ERROR = "source can't be a git ref for COPY";

/** Algorithms whose digests ADD --checksum verifies (go-digest's, with hex lengths). */
export const CHECKSUM_ALGORITHMS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/** go-digest's DigestRegexpAnchored: the shape of any `algorithm:encoded` digest. */
const DIGEST_SHAPE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A checked `--checksum` value. */
export interface Checksum {
  algorithm: string;
  hex: string;
}

/**
 * Parses an ADD `--checksum` value as go-digest's `digest.Parse` does; returns its error text
 * (BuildKit's wording) instead of throwing.
 */
export function parseChecksum(value: string): Checksum | { error: string } {
  const i = value.indexOf(':');
  if (i <= 0 || i + 1 === value.length) return { error: 'invalid checksum digest format' };
  const algorithm = value.slice(0, i);
  const hex = value.slice(i + 1);
  const size = CHECKSUM_ALGORITHMS[algorithm];
  if (size === undefined) return { error: DIGEST_SHAPE.test(value) ? 'unsupported digest algorithm' : 'invalid checksum digest format' };
  if (hex.length !== size) return { error: 'invalid checksum digest length' };
  if (!/^[a-f0-9]+$/.test(hex)) return { error: 'invalid checksum digest format' };
  return { algorithm, hex };
}

/** The hint that goes with a checksum error. */
export const CHECKSUM_HINT = 'write --checksum=sha256:<64 hex digits> (sha384 and sha512 digests are verified too)';
