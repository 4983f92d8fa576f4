/**
 * The work shared by COPY and ADD: find the sources (build context, an earlier stage or an
 * image), key them by content, and on a miss write the layer of copied files with their parent
 * directories. Docker's destination rules come from src/context/sources.ts (copyPlan).
 */
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BuildContext } from '../context/context.js';
import { hashSources } from '../context/hash.js';
import { copyPlan, matchSources, type MatchSourcesOptions, type SourceMatch } from '../context/sources.js';
import { hasMeta } from '../context/go-path.js';
import { cleanInRoot, secureJoin } from '../runtime/secure-join.js';
import { hasCode, PlanError, type SourceLocation } from '../errors.js';
import { linkHardlinks, type LayerEntry } from '../image/layer-entry.js';
import { writeLayer, type LayerResult, BUILD_LAYER_COMPRESSION } from '../image/layer-writer.js';
import type { FromSource, HeredocFile, Command } from '../plan/index.js';
import type { Range } from '../oci/range.js';
import { resolveUser } from '../runtime/user.js';
import { dirEntryIn, diskIdentity, entryFromDisk, isDirIn, layerPath, parentEntries, type Owner } from './fs-entries.js';
import { parseChmodFlag, type ChmodSpec } from '../plan/chmod.js';
import type { LayerStep, SourceFs, StepContext } from './instructions/handler.js';
import { workdir } from './state.js';

export interface CopySpec {
  kind: 'COPY' | 'ADD';
  paths: string[];
  contents: HeredocFile[];
  dest: string;
  from?: string;
  /** What `from` names, as the plan resolved it. */
  source?: FromSource;
  chown?: string;
  chmod?: string;
  parents: boolean;
  /** COPY --link (its own key part: BuildKit builds a linked copy differently). */
  link?: boolean;
  exclude: string[];
  /** Words for the history line (flags and arguments as expanded). */
  words: string[];
  range: Range;
  /**
   * ADD: turns a matched local file into entries itself (archive extraction into `destDir`, the
   * instruction's destination resolved in the image); returns null to copy the file as is.
   */
  transform?: (hostPath: string, destDir: string, owner: Owner | undefined) => Promise<LayerEntry[] | null>;
  /** Where `--chmod` is written (errors point at it); default `range`. */
  chmodRange?: Range;
  /** Extra key parts (ADD's unpack mode). */
  extraParts?: string[];
}

/** The mode of a heredoc file without --chmod (BuildKit's Mkfile(…, 0644, …)). */
const HEREDOC_MODE = 0o644;

/** Per-file key parts are listed up to this many files (beyond, only the digest over all). */
const MAX_FILE_PARTS = 5000;

/**
 * Expands a heredoc body as BuildKit's ExpandRaw: `$VAR`/`${VAR…}` expand, quotes stay, a
 * backslash escapes the next character (`\\` → `\`, `\$` → `$`, a lone `\` line → its newline).
 */
export function expandHeredoc<C extends Command>(ctx: StepContext<C>, data: string): string {
  return ctx.session.lex.processWordRaw(data, ctx.stage.env.vars);
}

/** What a copy reads, found while its key is computed and used again to produce its layer. */
interface CopyInputs {
  source: SourceLocation;
  /** --chmod (octal, or symbolic and applied per file). */
  chmod?: ChmodSpec;
  /** The stage's working directory (relative destinations). */
  wd: string;
  /** Heredoc files, expanded. */
  contents: { name: string; data: string }[];
  /** COPY --from's filesystem. */
  srcFs?: SourceFs;
  /** The context's matches, when the sources come from the build context. */
  contextMatches?: SourceMatch[];
}

/**
 * The step of a COPY or ADD: its key parts (operation, flags, heredoc digests, the sources'
 * content digests or --from filesystem) and its producer. Throws PlanError for a bad --chmod
 * and what matching the sources throws.
 */
export async function copyStep<C extends Command>(ctx: StepContext<C>, spec: CopySpec): Promise<LayerStep> {
  const source = ctx.session.source(spec.range);
  const chmod = spec.chmod !== undefined ? chmodOf(spec.chmod, ctx.session.source(spec.chmodRange ?? spec.range)) : undefined;
  const inputs: CopyInputs = {
    source,
    ...(chmod ? { chmod } : {}),
    wd: workdir(ctx.stage),
    contents: spec.contents.map((c) => ({ name: c.name, data: c.expand ? expandHeredoc(ctx, c.data) : c.data })),
  };
  const parts = await copyParts(ctx, spec, inputs);
  return { parts, createdBy: `${spec.kind} ${spec.words.join(' ')} # buildkit`, produce: () => produceCopy(ctx, spec, inputs) };
}

/** The key parts of a copy; sets `inputs.srcFs` / `inputs.contextMatches`. */
async function copyParts<C extends Command>(ctx: StepContext<C>, spec: CopySpec, inputs: CopyInputs): Promise<string[]> {
  const { session } = ctx;
  const parts = [`cmd=${spec.kind} ${JSON.stringify([...spec.paths, spec.dest])}`, `workdir=${inputs.wd}`];
  if (spec.chown !== undefined) parts.push(`chown=${spec.chown}`);
  if (inputs.chmod) parts.push(`chmod=${inputs.chmod.octal !== undefined ? inputs.chmod.octal.toString(8) : inputs.chmod.text}`);
  if (spec.parents) parts.push('parents=true');
  if (spec.link) parts.push('link=true');
  if (spec.exclude.length) parts.push(`exclude=${JSON.stringify(spec.exclude)}`);
  parts.push(...(spec.extraParts ?? []));
  // Heredoc files are written 0644 (BuildKit since dockerfile/1.6; mybuild wrote 0664 before,
  // so the mode is part of the key: older records are not reused).
  if (inputs.contents.length) parts.push(`content-mode=${HEREDOC_MODE.toString(8)}`);
  for (const c of inputs.contents) parts.push(`content:${c.name}=sha256:${createHash('sha256').update(c.data).digest('hex')}`);
  if (spec.paths.length) {
    if (spec.from !== undefined) {
      inputs.srcFs = await ctx.from(spec.from, spec.source);
      parts.push(`from=${inputs.srcFs.fsKey}`);
    } else {
      const bc = await session.context();
      inputs.contextMatches = await matchSources(bc, spec.paths, { excludes: spec.exclude, keepExcludedDirs: !spec.parents, source: inputs.source });
      const hash = await hashSources(bc, inputs.contextMatches, { statCache: await session.statCache() });
      parts.push(`sources=${hash.digest}`);
      if (hash.files.length <= MAX_FILE_PARTS) for (const f of hash.files) parts.push(`file:${f.path}=${f.digest}`);
    }
  }
  return parts;
}

/** Makes the copy's layer on views of the destination's and (COPY --from) the source's filesystems, mounted together. */
async function produceCopy<C extends Command>(ctx: StepContext<C>, spec: CopySpec, inputs: CopyInputs): Promise<LayerResult | null> {
  const { stage, worker, session } = ctx;
  const { srcFs, contextMatches, source } = inputs;
  const rootfs = await worker.layers();
  return rootfs.withViews(srcFs ? [stage.layers, srcFs.layers] : [stage.layers], async ([base, srcDir]) => {
    const owner = spec.chown !== undefined ? await resolveChown(base, spec.chown, source) : undefined;
    if (!spec.paths.length) return writeCopyLayer(ctx, spec, inputs, base, owner, null, []);
    if (contextMatches) return writeCopyLayer(ctx, spec, inputs, base, owner, await session.context(), contextMatches);
    const srcCtx = await BuildContext.open(srcDir, { ignoreFile: false });
    const matches = await matchStageSources(srcCtx, srcDir, spec.paths, { excludes: spec.exclude, keepExcludedDirs: !spec.parents, source });
    return writeCopyLayer(ctx, spec, inputs, base, owner, srcCtx, matches);
  });
}

/** The layer of the copied files (`matches` under `srcRoot`) and heredocs, with their parent directories, on the view `base`. */
async function writeCopyLayer<C extends Command>(
  ctx: StepContext<C>,
  spec: CopySpec,
  inputs: CopyInputs,
  base: string,
  owner: Owner | undefined,
  srcRoot: BuildContext | null,
  matches: SourceMatch[],
): Promise<LayerResult | null> {
  const { options, worker } = ctx;
  const { wd, contents } = inputs;
  const absDest = resolveDest(base, spec.dest, wd, inputs.source);
  const now = Date.now();
  const copied = matches.length && srcRoot ? await sourceEntries(spec, inputs, base, owner, srcRoot, matches, now) : { entries: [], unpacked: false };
  const entries: LayerEntry[] = copied.entries;
  // BuildKit copies a --parents source as its pivot directory (or /) with the rest as an include
  // pattern: the destination directory is made even when the pattern matches nothing.
  const destDir = layerPath(absDest);
  if (spec.parents && srcRoot && destDir !== '') {
    entries.unshift((await dirEntryIn(base, destDir)) ?? { path: destDir, type: 'directory', mode: createdDirMode(inputs.chmod, false), uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, size: 0, mtimeMs: now });
  }
  if (contents.length) {
    // Heredocs are copied after the sources, each as its own copy (BuildKit): into a directory
    // (a trailing slash, an existing one, or one a directory source made), else onto the
    // destination itself, where the last one stays.
    const destIsDir = spec.dest.endsWith('/') || spec.dest === '.' || spec.parents || matches.some((m) => m.isDir) || (await isDirIn(base, absDest));
    for (const c of contents) {
      const p = destIsDir ? path.posix.join(absDest, c.name) : absDest;
      const data = Buffer.from(c.data);
      entries.push({
        path: p.replace(/^\/+/, ''),
        type: 'file',
        mode: inputs.chmod ? inputs.chmod.apply(HEREDOC_MODE, false) : HEREDOC_MODE,
        uid: owner?.uid ?? 0,
        gid: owner?.gid ?? 0,
        size: data.length,
        mtimeMs: 0,
        open: async () => Readable.from([data]),
      });
    }
  }
  // A later source overwrites an earlier one at the same path (as copying in order does).
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) {
    byPath.delete(e.path);
    byPath.set(e.path, e);
  }
  const unique = [...byPath.values()];
  linkHardlinks(unique, (e) => diskIdentity.get(e));
  const parents = await parentEntries(unique, base, owner ?? { uid: 0, gid: 0 }, now, createdDirMode(inputs.chmod, copied.unpacked));
  return writeLayer([...parents, ...unique], worker.content, { compression: BUILD_LAYER_COMPRESSION, sourceDateEpoch: options.sourceDateEpoch });
}

/**
 * The mode of a directory a copy creates (the destination and its missing parents): BuildKit's
 * fsutil copy makes them with MkdirAll(dir, mode), mode = the octal --chmod when there is one,
 * else 0755 (a symbolic --chmod leaves 0755); an archive's unpack makes its destination 0755.
 */
function createdDirMode(chmod: ChmodSpec | undefined, unpacked: boolean): number {
  return !unpacked && chmod?.octal !== undefined ? chmod.octal : 0o755;
}

/** The entries of the copied sources, placed by Docker's destination rules (copyPlan). */
async function sourceEntries(spec: CopySpec, inputs: CopyInputs, base: string, owner: Owner | undefined, srcRoot: BuildContext, matches: SourceMatch[], now: number): Promise<{ entries: LayerEntry[]; unpacked: boolean }> {
  const { wd, chmod, source, srcFs } = inputs;
  const absDest = resolveDest(base, spec.dest, wd, inputs.source);
  const entries: LayerEntry[] = [];
  let unpacked = false;
  const planSources = await Promise.all(
    matches.map(async (m) => ({ path: m.path, parentsBase: m.parentsBase, isDir: m.isDir, type: m.type, entries: m.isDir ? await m.entries() : [] })),
  );
  const resolvedOf = new Map(matches.map((m) => [m.path, m.resolved]));
  // The walk's lstat of each entry below a directory source, by context path (as
  // copyPlan names them), so that copying does not stat every file again.
  const knownOf = new Map<string, { stat: BigIntStats; linkTarget?: string }>();
  for (const s of planSources) for (const e of s.entries) knownOf.set(s.path === '' ? e.path : `${s.path}/${e.path}`, e);
  const destIsDir = await isDirIn(base, absDest);
  const rawIsDir = spec.dest.endsWith('/') || spec.dest === '.' || spec.dest === '';
  const targets = copyPlan(planSources, rawIsDir && absDest !== '/' ? `${absDest}/` : absDest, { workdir: wd, parents: spec.parents, destIsDir, source });
  const topDirs = new Set(matches.filter((m) => m.isDir).map((m) => m.path));
  for (const t of targets) {
    if (t.type === 'dir' && topDirs.has(t.src)) {
      // The destination of a directory source is made like BuildKit's MkdirAll: a new
      // directory has the created-directory mode (0755, or an octal --chmod) and is owned by
      // --chown (else root), whatever the source directory's own mode or owner; an existing
      // one is kept as it is.
      const p = layerPath(t.dest);
      if (p === '') continue;
      entries.push((await dirEntryIn(base, p)) ?? { path: p, type: 'directory', mode: createdDirMode(chmod, false), uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, size: 0, mtimeMs: now });
      continue;
    }
    const top = resolvedOf.get(t.src);
    const host = srcRoot.abs(top ?? t.src);
    // Only a file named as a source is unpacked, never a file inside a directory source.
    if (spec.transform && t.type === 'file' && top !== undefined) {
      const extracted = await spec.transform(host, absDest, owner);
      if (extracted) {
        entries.push(...extracted);
        unpacked = true;
        continue;
      }
    }
    const e = await entryFromDisk(host, t.dest, {
      ...(owner ? { owner } : srcFs ? {} : { owner: { uid: 0, gid: 0 } }),
      ...(chmod ? { chmod: chmod.apply } : {}),
      followSymlink: top !== undefined,
      ...(top === undefined ? { known: knownOf.get(t.src) } : {}),
    });
    if (e && e.path !== '') entries.push(e);
  }
  return { entries, unpacked };
}

/**
 * `matchSources` over a stage's root filesystem (COPY --from): symlinks on a source path resolve
 * inside that root as under chroot (a target `/x` means `<root>/x`), as BuildKit does, never on
 * the host and never as an escape. A file source keeps the name it was given (`/bin/sh` copies
 * busybox's bytes as `sh`); a directory source is listed from its real path, so that no entry is
 * read through a link. Patterns with wildcards before the last component, or a `/./` pivot, are
 * matched as written. Throws what matchSources throws.
 */
export async function matchStageSources(ctx: BuildContext, root: string, patterns: readonly string[], opts: MatchSourcesOptions): Promise<SourceMatch[]> {
  const out: SourceMatch[] = [];
  for (const pattern of patterns) {
    const clean = cleanInRoot(pattern);
    const dir = path.posix.dirname(clean);
    if (clean === '' || pattern.includes('/./') || (dir !== '.' && hasMeta(dir))) {
      out.push(...(await matchSources(ctx, [pattern], opts)));
      continue;
    }
    const base = path.posix.basename(clean);
    const parentReal = dir === '.' ? '' : path.relative(root, secureJoin(root, dir)).split(path.sep).join('/');
    const shown = parentReal ? `${parentReal}/${base}` : base;
    if (hasMeta(base)) {
      out.push(...(await matchSources(ctx, [`/${shown}`], opts)).map((m) => ({ ...m, pattern })));
      continue;
    }
    const real = path.relative(root, secureJoin(root, shown)).split(path.sep).join('/');
    const ms = await matchSources(ctx, [`/${real || '.'}`], opts);
    out.push(...ms.map((m) => (m.isDir ? { ...m, pattern } : { ...m, pattern, path: shown })));
  }
  return out;
}

/**
 * The absolute image path a COPY/ADD destination names, with symlinks on it (the last component
 * too) followed inside the stage's root `base` as BuildKit's fs.RootPath does: a destination that
 * is a link (dangling, absolute, into /run, or pointing above `/`) is written through, never
 * replaced by a directory and never outside the root. Relative destinations are relative to
 * `wd`. No trailing slash ("/" for the root).
 */
export function resolveDest(base: string, dest: string, wd: string, source: SourceLocation): string {
  const abs = dest.startsWith('/') ? dest : path.posix.join(wd, dest);
  let joined: string;
  try {
    joined = secureJoin(base, abs);
  } catch (err) {
    if (!hasCode(err, 'INVALID_ARGUMENT')) throw err;
    throw new PlanError(`destination ${JSON.stringify(dest)}: too many levels of symbolic links in the image`, { source, cause: err });
  }
  return `/${path.relative(base, joined).split(path.sep).join('/')}`;
}

/** The parsed --chmod value, or a PlanError with BuildKit's message at `source`. */
export function chmodOf(value: string, source: SourceLocation): ChmodSpec {
  const c = parseChmodFlag(value);
  if ('error' in c) throw new PlanError(c.error, { source, hint: 'an octal mode (0755) or a symbolic one as chmod(1) takes it (u+x,g-w, a=rX)' });
  return c;
}

async function resolveChown(base: string, spec: string, source: SourceLocation): Promise<Owner> {
  try {
    const u = await resolveUser(base, spec);
    return { uid: u.uid, gid: u.gid };
  } catch (err) {
    throw new PlanError(`invalid --chown=${spec}: ${(err as Error).message}`, { source, cause: err, hint: 'the user and group must exist in the image\'s /etc/passwd and /etc/group, or be numeric' });
  }
}
