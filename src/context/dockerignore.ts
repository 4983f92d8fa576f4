/**
 * `.dockerignore` with Docker's semantics (moby/patternmatcher and its `ignorefile` reader), which
 * are NOT gitignore's:
 *
 * - patterns are anchored at the context root: `foo` matches `./foo` only, never `a/foo`
 *   (gitignore matches a slash-less name at any depth, which is why the `ignore` package, a
 *   gitignore implementation, cannot be used);
 * - each pattern is cleaned like Go's `filepath.Clean` and a leading `/` is dropped;
 * - `*` and `?` never cross `/`, `**` matches any number of directories (also none);
 * - `!pattern` re-includes; the last matching pattern wins;
 * - a pattern matching a directory matches everything below it;
 * - `#` lines are comments, blank lines are skipped, surrounding whitespace is trimmed,
 *   `\` escapes the next character.
 *
 * Each pattern compiles to an exact/prefix/suffix test or a RegExp, as patternmatcher does.
 */
import { BuildError, type SourceLocation } from '../errors.js';
import { BadPatternError, goClean, goDir, goMatch } from './go-path.js';

/**
 * Parses the text of an ignore file into patterns, like moby's `ignorefile.ReadAll`: strips a
 * UTF-8 BOM, skips `#` comment lines and blank lines, trims whitespace, cleans each pattern and
 * removes a leading `/` (keeping a leading `!`). Pure; never throws.
 */
export function parseIgnoreFile(text: string): string[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    // Comments are recognised before trimming, as ReadAll does.
    if (raw.startsWith('#')) continue;
    let pattern = raw.trim();
    if (pattern === '') continue;
    const invert = pattern[0] === '!';
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = goClean(pattern);
      if (pattern.length > 1 && pattern[0] === '/') pattern = pattern.slice(1);
    }
    out.push(invert ? '!' + pattern : pattern);
  }
  return out;
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

/** Characters that are special in a RegExp but not in Go's filepath.Match. */
const REGEXP_ONLY = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** One compiled pattern. */
export class Pattern {
  readonly exclusion: boolean;
  /** The cleaned pattern, without its `!`. */
  readonly cleaned: string;
  private readonly type: MatchType;
  private readonly regexp?: RegExp;

  /** Throws BadPatternError for a malformed pattern. */
  constructor(pattern: string) {
    let p = goClean(pattern.trim());
    this.exclusion = p[0] === '!';
    if (this.exclusion) {
      if (p.length === 1) throw new BadPatternError(pattern);
      p = p.slice(1);
    }
    // Syntax check as patternmatcher.New does: filepath.Match reports malformed patterns.
    goMatch(p, '.');
    this.cleaned = p;
    const { type, source } = compile(p);
    this.type = type;
    if (type === 'regexp') {
      try {
        this.regexp = new RegExp(source);
      } catch {
        throw new BadPatternError(pattern);
      }
    }
  }

  /** Whether the (slash-separated, context-relative) path matches this pattern itself. */
  match(path: string): boolean {
    switch (this.type) {
      case 'exact':
        return path === this.cleaned;
      case 'prefix':
        return path.startsWith(this.cleaned.slice(0, -2));
      case 'suffix': {
        const suffix = this.cleaned.slice(2);
        if (path.endsWith(suffix)) return true;
        // `**/foo` matches `foo`.
        return suffix[0] === '/' && path === suffix.slice(1);
      }
      case 'regexp':
        return this.regexp!.test(path);
    }
  }
}

/** Translates a cleaned pattern to patternmatcher's match type and RegExp source. */
function compile(pattern: string): { type: MatchType; source: string } {
  let re = '^';
  let type: MatchType = 'exact';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    const start = i;
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        // Treat `**/` as `**`.
        if (chars[i + 1] === '/') i++;
        if (i + 1 >= chars.length) {
          // `**` at the end accepts everything, as .gitignore does.
          if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          re += '(.*/)?';
          type = 'regexp';
        }
        // A leading `**` makes it a suffix test (later tokens may still turn it into a RegExp).
        if (start === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (REGEXP_ONLY.has(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      if (i + 1 < chars.length) {
        re += '\\' + chars[++i];
        type = 'regexp';
      } else {
        re += '\\\\';
      }
    } else if (ch === '[' || ch === ']') {
      re += ch;
      type = 'regexp';
    } else {
      re += ch;
    }
  }
  return { type, source: type === 'regexp' ? re + '$' : '' };
}

/**
 * Parent-match state carried down a directory walk (patternmatcher's MatchInfo): which patterns
 * matched the parent directory. The empty array means "unknown".
 */
export type MatchInfo = readonly boolean[];

/**
 * A list of patterns evaluated in order, the last match winning. Construct with `compile`.
 * Methods are pure and safe to call repeatedly.
 */
export class PatternMatcher {
  readonly patterns: readonly Pattern[];

  constructor(patterns: Pattern[]) {
    this.patterns = patterns;
  }

  /**
   * Compiles patterns (blank ones are skipped). A malformed pattern throws a BuildError
   * (code CONTEXT) naming it; `file` (e.g. ".dockerignore") goes into the message.
   */
  static compile(patterns: readonly string[], opts: { file?: string; source?: SourceLocation } = {}): PatternMatcher {
    const out: Pattern[] = [];
    for (const p of patterns) {
      if (p.trim() === '') continue;
      try {
        out.push(new Pattern(p));
      } catch (err) {
        if (!(err instanceof BadPatternError)) throw err;
        const where = opts.file ? ` in ${opts.file}` : '';
        const msg = p.trim() === '!' ? `illegal exclusion pattern: "!"${where}` : `syntax error in pattern ${JSON.stringify(p)}${where}`;
        throw new BuildError('CONTEXT', msg, {
          source: opts.source,
          hint: 'patterns use Go filepath.Match syntax: *, ?, [a-z], [^a-z], \\ escapes, and ** for any number of directories',
          cause: err,
        });
      }
    }
    return new PatternMatcher(out);
  }

  /** Whether any pattern starts with `!`. */
  get hasExclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether `path` itself matches, without looking at its parents (MatchesExact). */
  matchesExact(path: string): boolean {
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      if (p.match(path)) matched = !p.exclusion;
    }
    return matched;
  }

  /** Whether `path` or one of its parent directories matches (MatchesOrParentMatches). */
  matchesOrParentMatches(path: string): boolean {
    let matched = false;
    const parent = goDir(path);
    const parentDirs = parent.split('/');
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let m = p.match(path);
      if (!m && parent !== '.') {
        for (let i = 0; i < parentDirs.length && !m; i++) m = p.match(parentDirs.slice(0, i + 1).join('/'));
      }
      if (m) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * MatchesUsingParentResults: like matchesOrParentMatches, but reuses the per-pattern results of
   * the parent directory (from the previous call up the walk). Pass `[]` at the top level.
   */
  matchesUsingParentResults(path: string, parent: MatchInfo): { matched: boolean; info: MatchInfo } {
    if (parent.length !== 0 && parent.length !== this.patterns.length) {
      throw new Error('wrong number of values in parent match info');
    }
    let matched = false;
    const info: boolean[] = new Array<boolean>(this.patterns.length).fill(false);
    this.patterns.forEach((p, i) => {
      let m = parent.length !== 0 ? parent[i]! : false;
      if (!m) {
        if (p.exclusion !== matched) return;
        m = p.match(path);
        if (!m && parent.length === 0) {
          const dir = goDir(path);
          if (dir !== '.') {
            const dirs = dir.split('/');
            for (let j = 0; j < dirs.length && !m; j++) m = p.match(dirs.slice(0, j + 1).join('/'));
          }
        }
      }
      info[i] = m;
      if (m) matched = !p.exclusion;
    });
    return { matched, info };
  }
}

/**
 * Docker's package-level `MatchesOrParentMatches(file, patterns)`: compiles, cleans the path,
 * never matches "." (the context itself cannot be excluded). Throws a BuildError for a bad pattern.
 */
export function matchesPatterns(file: string, patterns: readonly string[]): boolean {
  const pm = PatternMatcher.compile(patterns);
  const f = goClean(file);
  if (f === '.') return false;
  return pm.matchesOrParentMatches(f);
}
