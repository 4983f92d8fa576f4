/**
 * ADD <git repository> <dest>: BuildKit's llb.Git source copied with llb.Copy(st, "/", dest)
 * (dockerfile2llb/convert_copy.go). The ref is resolved when the step is keyed (git ls-remote),
 * so the cache key holds the commit (with `.git#ref` when the git directory is kept, and the
 * subdirectory), never the URL text: a moved branch misses, the same commit under another URL
 * hits. The checkout (src/context/git.ts) happens only on a miss. The files are owned by root
 * (or --chown), with git's checkout modes (0644/0755, directories 0755; --chmod applies) and the
 * checkout time as mtime (BuildKit's default `mtime=checkout`; SOURCE_DATE_EPOCH clamps it).
 */
import { secretBytes } from '../options.js';
import { mkdtemp, readdir } from 'node:fs/promises';
import path from 'node:path';
import { BuildError, PlanError } from '../../errors.js';
import { PatternMatcher } from '../../context/dockerignore.js';
import { checkoutGit, gitAuthHeader, GitSourceError, parseGitRef, redactRemote, resolveGitRef, type GitRef } from '../../context/git.js';
import type { LayerEntry } from '../../image/layer-entry.js';
import { writeLayer } from '../../image/layer-writer.js';
import type { AddCommand } from '../../plan/index.js';
import { resolveUser } from '../../runtime/user.js';
import { chmodOf, resolveDest } from '../copy-files.js';
import { dirEntryIn, entryFromDisk, parentEntries } from '../fs-entries.js';
import { workdir } from '../state.js';
import type { LayerStep, StepContext } from './handler.js';
import { storeLayout } from '../../store/layout.js';

/** Mode of a checked-out path as git writes it under umask 022 (the .git directory keeps its own). */
function checkoutMode(mode: number, type: LayerEntry['type'], inGitDir: boolean): number {
  if (inGitDir) return mode & ~0o022;
  if (type === 'directory') return 0o755;
  if (type === 'file') return mode & 0o111 ? 0o755 : 0o644;
  return mode;
}

/** The step of an ADD whose only source is the git repository `src`. */
export async function gitStep(ctx: StepContext<AddCommand>, src: string, words: string[], tmpDirs: string[]): Promise<LayerStep> {
  const { session, stage, options, worker, cmd } = ctx;
  const source = session.source(cmd.node.range);
  const fail = (err: unknown): never => {
    if (err instanceof GitSourceError && err.remote) throw new BuildError('CONTEXT', `ADD ${redactRemote(src)}: ${err.message}`, { source, ...(err.hint ? { hint: err.hint } : {}) });
    if (err instanceof GitSourceError) throw new PlanError(`ADD ${redactRemote(src)}: ${err.message}`, { source, ...(err.hint ? { hint: err.hint } : {}) });
    throw err;
  };
  let ref: GitRef;
  try {
    ref = parseGitRef(src);
  } catch (err) {
    return fail(err);
  }
  if (ref.scheme === 'ssh') {
    throw new PlanError(`ADD ${src}: a git repository over ssh needs an SSH agent forwarded with --ssh, which mybuild forwards to RUN --mount=type=ssh only, not to git sources yet`, { source, hint: 'use the https:// or git:// URL of the repository (credentials from git\'s configuration or --secret id=GIT_AUTH_TOKEN)' });
  }
  let exclude: PatternMatcher | undefined;
  try {
    exclude = cmd.exclude.length ? PatternMatcher.compile(cmd.exclude) : undefined;
  } catch (err) {
    throw new PlanError(`ADD --exclude: ${(err as Error).message}`, { source: session.source(cmd.node.flags.find((f) => f.name === 'exclude')?.range ?? cmd.node.range) });
  }
  if (cmd.keepGitDir && ref.keepGitDir === false) throw new PlanError('inconsistent keep-git-dir configuration', { source });
  const keepGitDir = cmd.keepGitDir || ref.keepGitDir === true;
  if (cmd.checksum !== undefined && ref.checksum !== undefined && cmd.checksum !== ref.checksum) {
    throw new PlanError(`checksum mismatch "${cmd.checksum}" != "${ref.checksum}"`, { source });
  }
  const checksum = cmd.checksum ?? ref.checksum;
  const authHeader = gitAuthHeader(ref, (id) => secretBytes(options.secrets, id));
  const runOpts = { signal: session.signal, ...(authHeader !== undefined ? { authHeader } : {}) };
  const resolved = await resolveGitRef(ref, checksum, runOpts).catch(fail);
  const chmod = cmd.chmod !== undefined ? chmodOf(cmd.chmod, session.source(cmd.node.flags.find((f) => f.name === 'chmod')?.range ?? cmd.node.range)) : undefined;
  const wd = workdir(stage);
  // BuildKit's shaToCacheKey: the commit, `.git#ref` when the git directory is kept, `:subdir`.
  const gitKey = `${resolved.tagObject && keepGitDir ? resolved.tagObject : resolved.commit}${keepGitDir ? `.git${ref.ref ? `#${ref.ref}` : ''}` : ''}${ref.subdir ? `:${ref.subdir}` : ''}`;
  const parts = [`cmd=ADD ${JSON.stringify(['<git>', cmd.dest])}`, `workdir=${wd}`, `git=${gitKey}`];
  if (cmd.chown !== undefined) parts.push(`chown=${cmd.chown}`);
  if (cmd.chmod !== undefined) parts.push(`chmod=${cmd.chmod}`);
  if (cmd.exclude.length) parts.push(`exclude=${JSON.stringify(cmd.exclude)}`);
  return {
    provenance: { git: [{ url: `${ref.remote}${resolved.fullRef ? `#${resolved.fullRef}` : ''}`, commit: resolved.commit }] },
    parts,
    createdBy: `ADD ${words.map(redactRemote).join(' ')} # buildkit`,
    produce: async () => {
      const tmp = await mkdtemp(path.join(storeLayout(options.root).tmp, 'add-git-'));
      tmpDirs.push(tmp);
      const filesDir = await checkoutGit(ref, resolved, path.join(tmp, 'checkout'), keepGitDir, runOpts).catch(fail);
      const rootfs = await worker.layers();
      return rootfs.withView(stage.layers, async (base) => {
        const owner = cmd.chown !== undefined ? await resolveUser(base, cmd.chown) : { uid: 0, gid: 0 };
        const absDest = resolveDest(base, cmd.dest, wd, source);
        const now = Date.now();
        const entries: LayerEntry[] = [];
        const visit = async (rel: string): Promise<void> => {
          for (const d of (await readdir(path.join(filesDir, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const childRel = rel ? `${rel}/${d.name}` : d.name;
            // --exclude patterns, relative to the repository (subdirectory) root, as BuildKit's copy ExcludePatterns.
            if (exclude?.matchesOrParentMatches(childRel) && !(d.isDirectory() && exclude.patterns.some((p) => p.exclusion))) continue;
            const inGitDir = childRel === '.git' || childRel.startsWith('.git/');
            const e = await entryFromDisk(path.join(filesDir, childRel), path.posix.join(absDest, childRel), {
              owner,
              chmod: (mode, isDir) => {
                const m = checkoutMode(mode, isDir ? 'directory' : 'file', inGitDir);
                return chmod ? chmod.apply(m, isDir) : m;
              },
            });
            if (e) entries.push(e);
            if (d.isDirectory()) await visit(childRel);
          }
        };
        await visit('');
        const destDir = absDest === '/' ? [] : [(await dirEntryIn(base, absDest.replace(/^\//, ''))) ?? { path: absDest.replace(/^\//, ''), type: 'directory' as const, mode: 0o755, uid: owner.uid, gid: owner.gid, size: 0, mtimeMs: now }];
        const parents = await parentEntries([...destDir, ...entries], base, owner, now);
        return writeLayer([...parents, ...destDir, ...entries], worker.content, { compression: options.compression, sourceDateEpoch: options.sourceDateEpoch });
      });
    },
  };
}
