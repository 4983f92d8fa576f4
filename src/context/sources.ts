/**
 * COPY/ADD source matching over a BuildContext, and the pure destination planner `copyPlan`.
 *
 * Sources follow Docker's rules:
 * - wildcards use Go's filepath.Match per path segment (`*`, `?`, `[...]`, `\` escapes); there is
 *   no `**` in COPY sources (it acts as `*`); matches are sorted as Go's Glob sorts them;
 * - a source that matches nothing is BuildKit's error `failed to compute cache key: "/x": not found`,
 *   except a wildcard in an existing directory, which may match nothing (BuildKit's
 *   AllowEmptyWildcard);
 * - a top-level symlink source is followed (inside the context); symlinks below a directory
 *   source are copied as symlinks;
 * - `--exclude` patterns (dockerignore syntax) drop a matched source when its context path
 *   matches (a dropped directory may be kept, empty, for its destination: keepExcludedDirs),
 *   and drop entries below a directory source when their path relative to that source matches;
 * - `--parents` keeps a source's path (from the context root, or from a `/./` pivot in it).
 */
import path from 'node:path';
import { BuildError, type SourceLocation } from '../errors.js';
import { BuildContext, normalizeContextPath, notFoundError, type ContextEntry, type EntryType } from './context.js';
import { PatternMatcher, type MatchInfo } from './dockerignore.js';
import { BadPatternError, goClean, goMatch, hasMeta } from './go-path.js';
import { promises as fsp, type BigIntStats } from 'node:fs';

/** One matched COPY source. */
export interface SourceMatch {
  /** The source as written in the instruction. */
  pattern: string;
  /** The matched context path (before following a top-level symlink), "" for the root. */
  path: string;
  /** The context path after following a top-level symlink. */
  resolved: string;
  /** For --parents: the part of `path` that is dropped (the context root "" or the part before `/./`). */
  parentsBase: string;
  isDir: boolean;
  type: EntryType;
  stat: BigIntStats;
  /**
   * The entries under a directory source, paths relative to it, in walk order (excluded paths
   * and `--exclude` matches removed). `[]` for a file. Walks the disk on the first call; later
   * calls return the same list (so the cache key and the copied layer see one listing). Callers
   * must not modify the returned entries.
   */
  entries(): Promise<ContextEntry[]>;
}

export interface MatchSourcesOptions {
  /** `--exclude` patterns (dockerignore syntax). */
  excludes?: string[];
  /** The COPY instruction, for error locations. */
  source?: SourceLocation;
  /**
   * Keep a directory that an --exclude pattern drops as a match with no entries: BuildKit copies
   * each matched directory, so its destination is made even when nothing in it is copied
   * (`ADD --exclude=* dir* /6` makes an empty /6). Not for --parents, whose copy is of the pivot.
   */
  keepExcludedDirs?: boolean;
}

/**
 * Matches each COPY source pattern in `ctx`. Returns matches in pattern order, each pattern's
 * matches sorted. Throws a CONTEXT BuildError for a path leaving the context, a malformed
 * pattern, or a literal path (or a wildcard in a missing directory) that matches nothing
 * (`"/x": not found`). Reads the disk; no caching.
 */
export async function matchSources(ctx: BuildContext, patterns: readonly string[], opts: MatchSourcesOptions = {}): Promise<SourceMatch[]> {
  const excl = opts.excludes && opts.excludes.length > 0 ? PatternMatcher.compile(opts.excludes, { source: opts.source }) : undefined;
  const out: SourceMatch[] = [];
  for (const pattern of patterns) {
    // `/./` marks where --parents starts keeping the path.
    const pivot = pattern.replace(/^\/+/, '').split('/./');
    const parentsBase = pivot.length > 1 ? normalizeContextPath(pivot[0]!, opts.source) : '';
    const rel = normalizeContextPath(pattern, opts.source);
    const candidates = hasMeta(rel) ? await glob(ctx, rel, opts.source) : [rel];
    let matched = 0;
    for (const cand of candidates) {
      const excluded = excl !== undefined && cand !== '' && excl.matchesOrParentMatches(cand);
      if (excluded && !opts.keepExcludedDirs) continue;
      const r = await ctx.resolve(cand === '' ? '.' : cand, { followFinal: true, source: opts.source, allowMissing: hasMeta(rel) || excluded });
      if (!r.exists || !r.stat) continue;
      const isDir = r.stat.isDirectory();
      if (excluded && !isDir) continue;
      matched++;
      const resolved = r.path;
      let listing: Promise<ContextEntry[]> | undefined;
      out.push({
        pattern,
        path: cand,
        resolved,
        parentsBase,
        isDir,
        type: r.type!,
        stat: r.stat,
        entries: () => {
          if (!isDir || excluded) return Promise.resolve([]);
          listing ??= (async () => {
            const all = await ctx.walk(resolved);
            const strip = resolved === '' ? 0 : resolved.length + 1;
            const rels = all.map((e) => ({ ...e, path: e.path.slice(strip) }));
            return excl ? filterExcluded(rels, excl) : rels;
          })();
          // A failed walk is not kept: the next call walks again.
          listing.catch(() => {
            listing = undefined;
          });
          return listing;
        },
      });
    }
    if (matched === 0 && !(await emptyWildcardAllowed(ctx, rel, opts.source))) throw notFoundError(rel, opts.source);
  }
  return out;
}

/**
 * Whether a source that matched nothing is fine: a wildcard whose directory (the components
 * before the first one with a wildcard) exists, as BuildKit's AllowEmptyWildcard copy (its
 * testEmptyWildcard: `COPY foo nomatch* /`). A literal path, or a wildcard under a missing
 * directory, is not found.
 */
async function emptyWildcardAllowed(ctx: BuildContext, rel: string, source?: SourceLocation): Promise<boolean> {
  if (!hasMeta(rel)) return false;
  const segs = rel.split('/');
  const dir = segs.slice(0, segs.findIndex((seg) => hasMeta(seg))).join('/');
  const r = await ctx.resolve(dir === '' ? '.' : dir, { followFinal: true, allowMissing: true, ...(source ? { source } : {}) });
  return r.exists && r.stat?.isDirectory() === true;
}

/** Drops entries matching `excl` (paths relative to the source) and dirs left empty by it. */
function filterExcluded(entries: ContextEntry[], excl: PatternMatcher): ContextEntry[] {
  const infos = new Map<string, MatchInfo>();
  const keep: ContextEntry[] = [];
  for (const e of entries) {
    const slash = e.path.lastIndexOf('/');
    const parent = slash < 0 ? '' : e.path.slice(0, slash);
    const { matched, info } = excl.matchesUsingParentResults(e.path, parent === '' ? [] : infos.get(parent) ?? []);
    infos.set(e.path, info);
    if (!matched || (e.type === 'dir' && excl.hasExclusions)) keep.push(Object.assign(e, { excludedDir: matched }));
  }
  // An excluded directory stays only when something below it is kept.
  return keep.filter((e, i) => {
    const x = e as ContextEntry & { excludedDir?: boolean };
    const flagged = x.excludedDir;
    delete x.excludedDir;
    if (!flagged) return true;
    const next = keep[i + 1];
    return next !== undefined && next.path.startsWith(e.path + '/');
  });
}

/** Go's filepath.Glob over the context, segment by segment, skipping excluded paths. */
async function glob(ctx: BuildContext, pattern: string, source?: SourceLocation): Promise<string[]> {
  let current = [''];
  for (const seg of pattern.split('/')) {
    const next: string[] = [];
    for (const dir of current) {
      if (!hasMeta(seg)) {
        next.push(dir === '' ? seg : `${dir}/${seg}`);
        continue;
      }
      // List the directory (following symlinked directories inside the context).
      const r = await ctx.resolve(dir === '' ? '.' : dir, { followFinal: true, allowMissing: true, source });
      if (!r.exists || !r.stat?.isDirectory()) continue;
      let names: string[];
      try {
        names = await fsp.readdir(r.abs);
      } catch {
        continue;
      }
      names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const name of names) {
        let ok: boolean;
        try {
          ok = goMatch(seg, name);
        } catch (err) {
          if (!(err instanceof BadPatternError)) throw err;
          throw new BuildError('CONTEXT', `syntax error in COPY source pattern ${JSON.stringify(pattern)}`, { source, cause: err });
        }
        if (!ok) continue;
        const cand = dir === '' ? name : `${dir}/${name}`;
        const real = r.path === '' ? name : `${r.path}/${name}`;
        if (ctx.isExcluded(real)) {
          const present = await ctx.resolve(real, { allowMissing: true });
          if (!present.exists) continue;
        }
        next.push(cand);
      }
    }
    current = next;
  }
  return current;
}

/** One source, as copyPlan needs it (a SourceMatch with its entries read). */
export interface PlanSource {
  /** Context path as matched ("" for the context root). */
  path: string;
  /** See SourceMatch.parentsBase; default "". */
  parentsBase?: string;
  isDir: boolean;
  /** The source's type (after following a top-level symlink); default "file" or "dir". */
  type?: EntryType;
  /** Entries under a directory source, relative to it. */
  entries?: { path: string; type: EntryType }[];
}

export interface CopyPlanOptions {
  /** `--parents`. */
  parents?: boolean;
  /** The stage's WORKDIR (absolute); relative destinations are relative to it. Default "/". */
  workdir?: string;
  /** The destination already exists as a directory in the image (the builder knows). */
  destIsDir?: boolean;
  source?: SourceLocation;
}

/** Where one source path goes. */
export interface CopyTarget {
  /** Context path of the file/dir/symlink to copy. */
  src: string;
  /** Absolute destination path in the image. */
  dest: string;
  type: EntryType;
}

/**
 * Computes each source entry's destination with Docker's rules. Pure (no fs).
 * - A relative `dest` is relative to `workdir`.
 * - `dest` is a directory when it ends in `/`, is `.`, or `destIsDir`, and after a directory
 *   source has been copied into it.
 * - A file source goes to `dest/<basename>` for a directory dest, else to `dest` itself (several
 *   files into a non-directory dest: the last one is what stays, as in BuildKit).
 * - A directory source copies its contents into `dest` (the directory itself maps to `dest`).
 * - With `parents`, each source keeps its path below `parentsBase` under `dest`.
 */
export function copyPlan(sources: readonly PlanSource[], dest: string, opts: CopyPlanOptions = {}): CopyTarget[] {
  const workdir = opts.workdir ?? '/';
  const rawIsDir = dest.endsWith('/') || dest === '.' || dest === '' || opts.destIsDir === true;
  const absDest = goClean(dest.startsWith('/') ? dest : `${workdir.startsWith('/') ? workdir : '/' + workdir}/${dest}`);
  // Sources are copied in turn, as BuildKit's copier does: a directory source makes `dest` a
  // directory for the sources after it; files into a non-directory `dest` each land on it (the
  // last one wins). There is no "more than one source" error (that is the classic builder's).
  let destIsDir = rawIsDir || opts.parents === true;
  const join = (...parts: string[]): string => goClean(parts.filter((p) => p !== '').join('/'));
  const out: CopyTarget[] = [];
  for (const s of sources) {
    let base: string;
    if (opts.parents) {
      const pb = s.parentsBase ?? '';
      const kept = pb === '' ? s.path : s.path === pb ? '' : s.path.startsWith(pb + '/') ? s.path.slice(pb.length + 1) : s.path;
      base = join(absDest, kept);
    } else if (s.isDir) {
      base = absDest;
    } else {
      base = destIsDir ? join(absDest, path.posix.basename(s.path)) : absDest;
    }
    if (!s.isDir) {
      out.push({ src: s.path, dest: base, type: s.type ?? 'file' });
      continue;
    }
    destIsDir = true;
    out.push({ src: s.path, dest: base, type: 'dir' });
    for (const e of s.entries ?? []) {
      out.push({ src: s.path === '' ? e.path : `${s.path}/${e.path}`, dest: join(base, e.path), type: e.type });
    }
  }
  return out;
}
