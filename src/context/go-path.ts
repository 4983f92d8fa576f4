/**
 * Go's `path.Clean`, `path.Dir` and `path.Match` (slash-separated, as `path/filepath` behaves on
 * Linux), ported so that `.dockerignore` patterns and COPY wildcards behave exactly as in
 * Docker/BuildKit. Pure functions: no fs.
 *
 * Node's `path.posix.normalize` is not Go's Clean: it keeps a trailing slash and maps "" to ".",
 * and Go's Match has its own escape and character-class rules (`[^a-z]`, `\` escapes, `*` never
 * crosses `/`, a leading `.` is matched by `*`), hence these ports.
 */

/** Thrown (and caught by callers, who wrap it in a BuildError) for a malformed pattern. */
export class BadPatternError extends Error {
  constructor(readonly pattern: string) {
    super('syntax error in pattern');
    this.name = 'BadPatternError';
  }
}

/**
 * Go's `path.Clean`: the shortest equivalent path. "" → ".", trailing slashes removed, `.` and
 * `x/..` removed, leading `..` kept for relative paths, `/..` → `/`.
 */
export function goClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** Go's `path.Dir`: everything but the last element, cleaned ("file" → ".", "a/b/" → "a/b"). */
export function goDir(p: string): string {
  const i = p.lastIndexOf('/');
  return goClean(p.slice(0, i + 1));
}

/** True when `s` contains one of Go's Match metacharacters (`*`, `?`, `[`, `\`). */
export function hasMeta(s: string): boolean {
  return /[*?[\\]/.test(s);
}

interface Chunk {
  star: boolean;
  chunk: string[];
  rest: string[];
}

function scanChunk(pattern: string[]): Chunk {
  let i = 0;
  let star = false;
  while (i < pattern.length && pattern[i] === '*') {
    i++;
    star = true;
  }
  pattern = pattern.slice(i);
  let inrange = false;
  let j = 0;
  scan: for (; j < pattern.length; j++) {
    switch (pattern[j]) {
      case '\\':
        if (j + 1 < pattern.length) j++;
        break;
      case '[':
        inrange = true;
        break;
      case ']':
        inrange = false;
        break;
      case '*':
        if (!inrange) break scan;
        break;
    }
  }
  return { star, chunk: pattern.slice(0, j), rest: pattern.slice(j) };
}

function getEsc(chunk: string[], pattern: string): { r: string; rest: string[] } {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw new BadPatternError(pattern);
  if (chunk[0] === '\\') {
    chunk = chunk.slice(1);
    if (chunk.length === 0) throw new BadPatternError(pattern);
  }
  const r = chunk[0]!;
  const rest = chunk.slice(1);
  if (rest.length === 0) throw new BadPatternError(pattern);
  return { r, rest };
}

/** Matches one chunk at the start of `s`; returns the rest of `s`, or null when it does not match. */
function matchChunk(chunk: string[], s: string[], pattern: string): string[] | null {
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0]!;
    if (c === '[') {
      let r = '';
      if (!failed) {
        r = s[0]!;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk, pattern);
        chunk = lo.rest;
        let hi = lo.r;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1), pattern);
          hi = h.r;
          chunk = h.rest;
        }
        const cp = r.codePointAt(0) ?? -1;
        if (!failed && lo.r.codePointAt(0)! <= cp && cp <= hi.codePointAt(0)!) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      if (c === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) throw new BadPatternError(pattern);
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? null : s;
}

/**
 * Go's `path.Match(pattern, name)`: `*` is any run of non-`/` characters, `?` one non-`/`
 * character, `[...]` a class (`^` negates, `a-z` ranges, `\` escapes), `\x` the literal x.
 * The whole name must match. Throws BadPatternError for a malformed pattern (even when the
 * name does not match, as Go checks the rest of the pattern before returning false).
 */
export function goMatch(pattern: string, name: string): boolean {
  let pat = Array.from(pattern);
  let s = Array.from(name);
  outer: while (pat.length > 0) {
    const { star, chunk, rest } = scanChunk(pat);
    pat = rest;
    if (star && chunk.length === 0) {
      // A trailing * matches the rest of the name unless it has a /.
      return !s.includes('/');
    }
    const t = matchChunk(chunk, s, pattern);
    if (t !== null && (t.length === 0 || pat.length > 0)) {
      s = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < s.length && s[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, s.slice(i + 1), pattern);
        if (t2 !== null) {
          if (pat.length === 0 && t2.length > 0) continue;
          s = t2;
          continue outer;
        }
      }
    }
    // Before returning false, check that the rest of the pattern is well-formed.
    while (pat.length > 0) {
      const next = scanChunk(pat);
      pat = next.rest;
      matchChunk(next.chunk, [], pattern);
    }
    return false;
  }
  return s.length === 0;
}
