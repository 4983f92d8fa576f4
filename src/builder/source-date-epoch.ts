/**
 * The build's SOURCE_DATE_EPOCH, resolved as BuildKit's dockerfile2llb does it (epoch.go):
 *
 * - the value is the `SOURCE_DATE_EPOCH` build arg, else SOURCE_DATE_EPOCH from the environment
 *   (buildx sends it as the build arg), else the default of a global `ARG SOURCE_DATE_EPOCH=…`
 *   of the Dockerfile;
 * - a number of seconds is the epoch; an empty value is none;
 * - `context`: the build context's time: a git context's commit (committer) time; a local
 *   directory has none (no error, no epoch);
 * - the name of a stage that is a source only (`FROM scratch`, ARGs, exactly one ADD of an
 *   http(s) or git URL): the git commit's committer time; for HTTP the Last-Modified header,
 *   else the newest modification time of a regular file in the (possibly compressed) tar
 *   archive it serves, else none;
 * - anything else: `invalid SOURCE_DATE_EPOCH: <value>`.
 *
 * The resolved value replaces SOURCE_DATE_EPOCH in the build args (a RUN's `$SOURCE_DATE_EPOCH`
 * is the number, as BuildKit's setBuildArgValue), see ./build.ts.
 */
import { storeLayout } from '../store/layout.js';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BuildError, PlanError } from '../errors.js';
import { archiveMaxTime, lastModifiedTime } from '../context/archive-time.js';
import { isGitSource, isUrlSource } from '../plan/copy-sources.js';
import { ShellLex, type Plan, type Stage } from '../plan/index.js';
import { checkoutGit, GitSourceError, parseGitRef, resolveGitRef } from '../context/git.js';
import { httpGet } from '../util/http-get.js';
import type { Dockerfile } from '../parser/ast.js';
import type { BuildRequest } from './session.js';

const ARG = 'SOURCE_DATE_EPOCH';

export interface ResolvedEpoch {
  /** The epoch in seconds, or undefined for none. */
  epoch: number | undefined;
  /** Whether a SOURCE_DATE_EPOCH was given at all (a rewrite-timestamp without one is refused). */
  given: boolean;
  /** The value as given, when it was not a number (the build args then carry the resolved one). */
  symbolic?: string;
}

/** Where the plan's stage `i` is declared, for errors. */
type Locate = (stage: Stage) => { file: string; range: Stage['fromNode']['range']; text: string };

/**
 * Resolves the SOURCE_DATE_EPOCH of `req` for `plan` (see the module comment). Throws
 * BuildError INVALID_ARGUMENT for a value that is neither a number, `context` nor a stage, and
 * PlanError (at the stage's FROM) for a stage that is not a source only.
 */
export async function resolveSourceDateEpoch(req: Pick<BuildRequest, 'buildArgs' | 'sourceDateEpoch' | 'contextEpoch' | 'root'>, plan: Plan, ast: Dockerfile, locate: Locate, signal?: AbortSignal): Promise<ResolvedEpoch> {
  const arg = req.buildArgs[ARG];
  if (arg === undefined && req.sourceDateEpoch !== undefined) return { epoch: req.sourceDateEpoch, given: true };
  const value = arg ?? plan.globalArgs.get(ARG);
  if (value === undefined) return { epoch: undefined, given: false };
  if (value === '') return { epoch: undefined, given: true };
  if (/^-?\d+$/.test(value)) return { epoch: Number(value), given: true };
  if (value === 'context') return { epoch: req.contextEpoch, given: true, symbolic: value };
  const stage = plan.stages.find((s) => s.name !== undefined && s.name === value.toLowerCase());
  if (!stage) throw new BuildError('INVALID_ARGUMENT', `invalid SOURCE_DATE_EPOCH: ${value}`, { hint: 'give a number of seconds, "context", or the name of a source stage (FROM scratch with one ADD of a URL)' });
  const where = locate(stage);
  const fail = (message: string): never => {
    throw new PlanError(message, { source: { file: where.file, range: where.range, text: where.text } });
  };
  const url = stageSource(stage, plan, new ShellLex(ast.escapeToken), req.buildArgs, fail);
  return { epoch: await sourceTime(url, req.root, signal, fail), given: true, symbolic: value };
}

/** The URL of the one ADD of a source-only stage; `fail` for anything else (BuildKit's messages). */
function stageSource(stage: Stage, plan: Plan, lex: ShellLex, buildArgs: Record<string, string>, fail: (m: string) => never): string {
  if (stage.base.kind !== 'scratch') fail(`${ARG} stage must use FROM scratch`);
  // The stage's scope: the global args but SOURCE_DATE_EPOCH itself, then its own ARGs.
  const env = new Map<string, string>();
  for (const [k, v] of plan.globalArgs) if (v !== undefined && k !== ARG) env.set(k, v);
  let url: string | undefined;
  for (const c of stage.commands) {
    if (c.kind === 'ARG') {
      for (const a of c.args) {
        if (buildArgs[a.name] !== undefined) env.set(a.name, buildArgs[a.name]!);
        else if (a.value !== undefined) env.set(a.name, lex.processWord(a.value, env));
      }
    } else if (c.kind === 'ADD') {
      if (url !== undefined) fail(`${ARG} stage must contain exactly one remote ADD`);
      if (c.contents.length !== 0 || c.paths.length !== 1) fail(`${ARG} stage must contain exactly one remote ADD source`);
      url = lex.processWord(c.paths[0]!, env);
      if (!isUrlSource(url) && !isGitSource(url)) fail(`${ARG} stage source must be a single HTTP(S) or Git ADD`);
    } else {
      fail(`${ARG} stage does not meet source-only requirements: unsupported ${c.kind.toLowerCase()} instruction`);
    }
  }
  if (url === undefined) fail(`${ARG} stage must contain exactly one remote ADD`);
  return url!;
}

/** The time of a remote source: a git commit's, an HTTP Last-Modified, or the newest file of the archive served. */
async function sourceTime(url: string, root: string, signal: AbortSignal | undefined, fail: (m: string) => never): Promise<number | undefined> {
  if (isGitSource(url)) {
    try {
      const ref = parseGitRef(url);
      const resolved = await resolveGitRef(ref, ref.checksum, signal ? { signal } : {});
      const tmp = await mkdtemp(path.join(storeLayout(root).tmp, 'epoch-git-'));
      try {
        const meta: { commitTime?: number } = {};
        await checkoutGit(ref, resolved, path.join(tmp, 'repo'), false, signal ? { signal } : {}, meta);
        return meta.commitTime;
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    } catch (err) {
      if (err instanceof GitSourceError) fail(`${ARG}: ${err.message}`);
      throw err;
    }
  }
  const res = await httpGet(url, signal ? { signal } : {}).catch((err: unknown) => fail(`${ARG}: ${url}: ${(err as Error).message}`));
  if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) {
    res.resume();
    fail(`${ARG}: ${url}: the server answered ${res.statusCode}`);
  }
  const lastModified = lastModifiedTime(res.headers['last-modified']);
  if (lastModified !== undefined) {
    res.resume();
    return lastModified;
  }
  const tmp = await mkdtemp(path.join(storeLayout(root).tmp, 'epoch-http-'));
  try {
    const file = path.join(tmp, 'source');
    await pipeline(res, createWriteStream(file));
    return await archiveMaxTime(file);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
