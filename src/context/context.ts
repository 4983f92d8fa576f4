/**
 * The build context: a local directory seen through its `.dockerignore`.
 *
 * - Paths are context-relative, slash-separated, without a leading `/` (the root is "").
 * - An absolute path is taken relative to the context root (`COPY /a b` means context/a).
 * - `..` may never leave the root; symlinks are followed only by `resolve(..., { followFinal })`
 *   and intermediate components, and only while they stay inside the root (BuildKit copies
 *   a top-level symlink source by following it, and nested symlinks as symlinks).
 * - Excluded paths do not exist: walk() skips them, resolve() reports them not found. An
 *   excluded directory that holds a re-included (`!`) path is present, holding only that path.
 * - The Dockerfile and the ignore file are always sent to a daemon (`walk('', { forTransfer:
 *   true })`, as the docker CLI sends them), but COPY/ADD see them only when the patterns keep
 *   them: BuildKit loads the Dockerfile apart from the context.
 *
 * A BuildContext is immutable after open(); it does not cache the file tree, so every walk()
 * sees the directory as it is at that moment.
 */
import fs, { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { BuildError, type SourceLocation } from '../errors.js';
import { parseIgnoreFile, PatternMatcher, type MatchInfo } from './dockerignore.js';
import { goClean } from './go-path.js';
import { walkInRoot } from './walk-root.js';
import { readBuildFileAt } from './build-files.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

/** One path of the context as walk() reports it. */
export interface ContextEntry {
  /** Context-relative, slash-separated ("a/b.txt"). */
  path: string;
  type: EntryType;
  /** lstat of the entry (bigint, for nanosecond times). */
  stat: BigIntStats;
  /** The link's target as stored, for symlinks. */
  linkTarget?: string;
}

export interface WalkOptions {
  /** Keep the Dockerfile and the ignore file even when the patterns exclude them (what a client sends to a daemon). */
  forTransfer?: boolean;
}

export interface OpenOptions {
  /**
   * The Dockerfile's path, relative to the context (or absolute). Its `<name>.dockerignore`
   * beside it takes precedence over the context's `.dockerignore`, and it is never excluded.
   */
  dockerfilePath?: string;
  /** An explicit ignore file (absolute, or relative to the context); overrides both others. `false`: none. */
  ignoreFile?: string | false;
  /** Extra patterns appended after the ignore file's (e.g. from a daemon request). */
  extraExcludes?: string[];
}

export interface ResolveOptions {
  /** Follow the last component if it is a symlink (COPY's top-level source). Default false. */
  followFinal?: boolean;
  /** The instruction to blame in errors. */
  source?: SourceLocation;
  /** Allow a path that does not exist (returns `exists: false`) instead of throwing. */
  allowMissing?: boolean;
}

export interface ResolvedPath {
  /** Context-relative path after following symlinks ("" is the root). */
  path: string;
  /** Absolute host path. */
  abs: string;
  exists: boolean;
  stat?: BigIntStats;
  type?: EntryType;
}

/**
 * lstat of `paths`, in order. Blocking calls: a directory's children are nearly always in the
 * dentry cache, where a sync lstat costs a few microseconds and an async one a thread-pool trip
 * (warm no-op build of the 20 000-file bench context: 0.45 s -> 0.42 s, 5 interleaved runs).
 * A failing lstat (a file removed mid-walk) throws its error.
 */
function lstatAll(paths: string[]): BigIntStats[] {
  return paths.map((p) => fs.lstatSync(p, { bigint: true }));
}

function typeOf(st: BigIntStats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function contextError(message: string, source?: SourceLocation, hint?: string, cause?: unknown): BuildError {
  return new BuildError('CONTEXT', message, { source, hint, cause });
}

/** The "not found" error BuildKit reports for a missing COPY source. */
export function notFoundError(requested: string, source?: SourceLocation): BuildError {
  const shown = requested.startsWith('/') ? requested : '/' + requested;
  return contextError(`failed to compute cache key: ${JSON.stringify(shown)}: not found`, source, 'check that the path exists in the build context and is not excluded by .dockerignore');
}

/**
 * Normalises a user path to a context-relative one: absolute paths are relative to the root,
 * `.` and empty segments vanish, and `..` that would leave the root throws a CONTEXT error.
 */
export function normalizeContextPath(p: string, source?: SourceLocation): string {
  const cleaned = goClean('/' + p.replace(/^\/+/, ''));
  // goClean('/' + p) clamps `..` at the root; detect that the user tried to escape.
  const rel = goClean(p.replace(/^\/+/, ''));
  if (rel === '..' || rel.startsWith('../')) {
    throw contextError(`forbidden path outside the build context: ${p}`, source, 'COPY and ADD sources must be inside the build context; move the file into it or use another context');
  }
  return cleaned === '/' ? '' : cleaned.slice(1);
}

export class BuildContext {
  private constructor(
    /** Real absolute path of the context directory. */
    readonly root: string,
    readonly matcher: PatternMatcher,
    /** The patterns in force, after parsing the ignore file. */
    readonly excludes: readonly string[],
    /** Which ignore file was used (absolute), if any. */
    readonly ignoreFile: string | undefined,
    /** Context-relative paths that are always included (the Dockerfile, the ignore file). */
    readonly alwaysIncluded: ReadonlySet<string>,
  ) {}

  /**
   * Opens `dir` as a context: checks it is a directory, reads the ignore file
   * (`ignoreFile` option, else `<Dockerfile>.dockerignore` beside the Dockerfile, else
   * `<dir>/.dockerignore`) and compiles its patterns. The ignore file is read as
   * ./build-files.ts reads build files: resolved inside the context, a regular text file only.
   * Throws a CONTEXT BuildError when `dir` is not a directory, the ignore file is refused or a
   * pattern is malformed.
   */
  static async open(dir: string, opts: OpenOptions = {}): Promise<BuildContext> {
    let root: string;
    try {
      root = await fsp.realpath(dir);
      const st = await fsp.stat(root);
      if (!st.isDirectory()) throw contextError(`build context ${dir} is not a directory`);
    } catch (err) {
      if (err instanceof BuildError) throw err;
      throw contextError(`cannot open build context ${dir}: ${(err as Error).message}`, undefined, undefined, err);
    }
    // Absolute, or relative to the root; read with ./build-files.ts (inside the context: resolved
    // there; an explicit path outside it: as given).
    const candidates: string[] = [];
    if (opts.ignoreFile) candidates.push(path.resolve(root, opts.ignoreFile));
    else if (opts.ignoreFile === undefined) {
      if (opts.dockerfilePath) candidates.push(path.resolve(root, opts.dockerfilePath) + '.dockerignore');
      candidates.push(path.join(root, '.dockerignore'));
    }
    let ignoreFile: string | undefined;
    let patterns: string[] = [];
    for (const c of candidates) {
      const text = await readBuildFileAt(root, c, { what: 'ignore file', name: path.relative(root, c).startsWith('..') ? c : path.relative(root, c) });
      if (text === undefined) continue;
      ignoreFile = c;
      patterns = parseIgnoreFile(text);
      break;
    }
    if (opts.extraExcludes) patterns.push(...opts.extraExcludes);
    const matcher = PatternMatcher.compile(patterns, { file: ignoreFile ? path.relative(root, ignoreFile) || ignoreFile : undefined });
    const always = new Set<string>();
    const inside = (abs: string): string | undefined => {
      const rel = path.relative(root, abs);
      return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : undefined;
    };
    const df = inside(path.resolve(root, opts.dockerfilePath ?? 'Dockerfile'));
    if (df) always.add(df);
    if (ignoreFile) {
      const ig = inside(ignoreFile);
      if (ig) always.add(ig);
    }
    return new BuildContext(root, matcher, patterns, ignoreFile, always);
  }

  /** Absolute host path of a (normalised) context-relative path. */
  abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, ...rel.split('/'));
  }

  /**
   * Whether the context-relative path is excluded by the ignore patterns (itself or through a
   * parent). Pure; does not touch the disk. The root is never excluded.
   */
  isExcluded(rel: string, opts: WalkOptions = {}): boolean {
    if (rel === '' || (opts.forTransfer && this.alwaysIncluded.has(rel))) return false;
    return this.matchInfo(rel).matched;
  }

  private matchInfo(rel: string): { matched: boolean; info: MatchInfo } {
    let info: MatchInfo = [];
    let matched = false;
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const r = this.matcher.matchesUsingParentResults(parts.slice(0, i + 1).join('/'), info);
      info = r.info;
      matched = r.matched;
    }
    return { matched, info };
  }

  /**
   * Lists the included entries under `under` ("" = the whole context), depth-first in byte
   * order of names, parents before children, without the start directory itself. Symlinks are
   * reported as symlinks, never followed. An excluded directory appears only when something
   * inside it is re-included. Throws a CONTEXT error when `under` is not a directory.
   */
  async walk(under = '', opts: WalkOptions = {}): Promise<ContextEntry[]> {
    const out: ContextEntry[] = [];
    const info = under === '' ? [] : this.matchInfo(under).info;
    await this.walkDir(under, info, out, opts.forTransfer ? this.alwaysIncluded : new Set());
    return out;
  }

  private async walkDir(rel: string, parentInfo: MatchInfo, out: ContextEntry[], always: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.abs(rel));
    } catch (err) {
      throw contextError(`cannot read directory ${rel || '.'} of the build context: ${(err as Error).message}`, undefined, undefined, err);
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const dirAbs = this.abs(rel);
    const stats = lstatAll(names.map((n) => path.join(dirAbs, n)));
    for (const [i, name] of names.entries()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const { matched, info } = this.matcher.matchesUsingParentResults(childRel, parentInfo);
      const excluded = matched && !always.has(childRel);
      const st = stats[i]!;
      const type = typeOf(st);
      if (type === 'dir') {
        // With no `!` pattern nothing below an excluded directory can come back: skip it.
        if (excluded && !this.matcher.hasExclusions && ![...always].some((p) => p.startsWith(childRel + '/'))) continue;
        const children: ContextEntry[] = [];
        await this.walkDir(childRel, info, children, always);
        if (!excluded || children.length > 0) {
          out.push({ path: childRel, type, stat: st });
          out.push(...children);
        }
        continue;
      }
      if (excluded) continue;
      const entry: ContextEntry = { path: childRel, type, stat: st };
      if (type === 'symlink') entry.linkTarget = await fsp.readlink(this.abs(childRel));
      out.push(entry);
    }
  }

  /**
   * Resolves a user path (as written in COPY) to a context path. `..` leaving the root, and
   * symlinks whose target leaves the root, throw a CONTEXT BuildError "... outside of the build
   * context"; a symlink loop throws "too many levels of symbolic links"; a missing or excluded
   * path throws BuildKit's `"/x": not found` unless `allowMissing`. Intermediate symlinks are
   * always followed (inside the root), the last component only with `followFinal`.
   */
  async resolve(userPath: string, opts: ResolveOptions = {}): Promise<ResolvedPath> {
    const rel = normalizeContextPath(userPath, opts.source);
    const walked = await walkInRoot(this.root, rel, { followFinal: opts.followFinal });
    switch (walked.kind) {
      case 'found':
        break;
      case 'missing':
        if (opts.allowMissing) return { path: walked.path, abs: this.abs(walked.path), exists: false };
        throw notFoundError(rel, opts.source);
      case 'outside':
        throw outside(userPath, opts.source, walked.link);
      case 'loop':
        throw contextError(`cannot resolve ${userPath} in the build context: too many levels of symbolic links`, opts.source, 'a symlink in the context points back to itself');
      case 'error':
        throw contextError(`cannot access ${walked.path} in the build context: ${walked.error.message}`, opts.source, undefined, walked.error);
    }
    const resolved = walked.path;
    if (this.isExcluded(resolved) && !(await this.hasIncludedBelow(resolved))) {
      if (opts.allowMissing) return { path: resolved, abs: this.abs(resolved), exists: false };
      throw notFoundError(rel, opts.source);
    }
    const st = await fsp.lstat(this.abs(resolved), { bigint: true });
    return { path: resolved, abs: this.abs(resolved), exists: true, stat: st, type: typeOf(st) };
  }

  /** Whether an excluded directory still holds a re-included path (so it is present). */
  private async hasIncludedBelow(rel: string): Promise<boolean> {
    if (!this.matcher.hasExclusions) return false;
    try {
      const st = await fsp.lstat(this.abs(rel));
      if (!st.isDirectory()) return false;
    } catch {
      return false;
    }
    return (await this.walk(rel)).length > 0;
  }
}

function outside(userPath: string, source?: SourceLocation, link?: string): BuildError {
  return contextError(
    `cannot copy ${userPath}: it points outside of the build context${link ? ` (symlink ${link})` : ''}`,
    source,
    'COPY and ADD can only use files inside the build context; symlinks that leave it are not followed',
  );
}
