/**
 * Git sources with the `git` CLI, as BuildKit's git source (source/git) treats them: the
 * Dockerfile form of a git URL (dfgitutil.ParseGitRef: `#ref:subdir` fragment or the
 * `?ref=&tag=&branch=&subdir=&checksum=&keep-git-dir=` query), the commit a ref resolves to
 * (`git ls-remote`; a full commit SHA needs no lookup), `--checksum` checked against that commit,
 * and a checkout into a directory: a shallow fetch (`--depth=1`) of a branch or tag, a full one for
 * a commit SHA, submodules, the subdirectory, `.git` kept or dropped. Credentials come from the
 * user's git configuration, or an `Authorization` header (BuildKit's GIT_AUTH_TOKEN /
 * GIT_AUTH_HEADER secrets) passed to git through GIT_CONFIG_* variables, never on a command line
 * or into the kept `.git/config`.
 */
import { spawn } from 'node:child_process';
import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';

/** A parsed git source. */
export interface GitRef {
  /** The URL without fragment and query (what git fetches). */
  remote: string;
  scheme: 'http' | 'https' | 'git' | 'ssh';
  /** The host (for per-host secrets). */
  host: string;
  /** Branch, tag, full ref or commit SHA; '' for the remote's HEAD. */
  ref: string;
  /** A directory inside the repository ('' for its root). */
  subdir: string;
  /** `checksum=`/`commit=` of the query. */
  checksum?: string;
  /** `keep-git-dir=` of the query. */
  keepGitDir?: boolean;
}

/**
 * What went wrong with a git source: the message names the (redacted) remote. `remote` is true
 * when git itself failed (the server, the network, credentials), false for the source as written.
 */
export class GitSourceError extends Error {
  constructor(message: string, readonly hint?: string, readonly remote = false) {
    super(message);
  }
}

/** `text` with the user:password of every URL in it replaced (BuildKit's urlutil.RedactCredentials). */
export function redactRemote(remote: string): string {
  return remote.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@\s'"]*@/g, (_m, p: string) => `${p}xxxxx@`);
}

/** Whether `s` is a full commit SHA (sha1 or sha256), as gitutil.IsCommitSHA. */
export function isCommitSha(s: string): boolean {
  return /^[0-9a-f]{40}$/.test(s) || /^[0-9a-f]{64}$/.test(s);
}

function parseFragment(fragment: string): { ref: string; subdir: string } {
  const i = fragment.indexOf(':');
  const ref = i < 0 ? fragment : fragment.slice(0, i);
  const sub = i < 0 ? '' : fragment.slice(i + 1);
  return { ref, subdir: path.posix.join('/', sub).replace(/^\/+/, '') };
}

/** Parses a git source the plan recognised (src/plan/copy-sources.ts isGitSource). */
export function parseGitRef(src: string): GitRef {
  let remote: string;
  let scheme: GitRef['scheme'];
  let host: string;
  let fragment = '';
  let query = new URLSearchParams();
  const scp = /^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*)$/.exec(src);
  if (!/^[a-zA-Z0-9]+:\/\//.test(src) && scp) {
    let rest = scp[3]!;
    const h = rest.indexOf('#');
    if (h >= 0) {
      fragment = rest.slice(h + 1);
      rest = rest.slice(0, h);
    }
    const q = rest.indexOf('?');
    if (q >= 0) {
      query = new URLSearchParams(rest.slice(q + 1));
      rest = rest.slice(0, q);
    }
    remote = `${scp[1]}@${scp[2]}:${rest}`;
    scheme = 'ssh';
    host = scp[2]!;
  } else {
    let u: URL;
    try {
      u = new URL(src);
    } catch {
      throw new GitSourceError(`invalid git URL ${redactRemote(src)}`);
    }
    const proto = u.protocol.slice(0, -1).toLowerCase();
    if (proto !== 'http' && proto !== 'https' && proto !== 'git' && proto !== 'ssh') throw new GitSourceError(`unsupported git protocol ${proto}`, 'git sources are http(s)://, git://, ssh:// or user@host:path');
    scheme = proto;
    host = u.host;
    fragment = decodeURIComponent(u.hash.slice(1));
    query = new URLSearchParams(u.search); // a copy: clearing u.search below empties u.searchParams
    u.hash = '';
    u.search = '';
    remote = u.toString();
  }
  const out: GitRef = { remote, scheme, host, ...parseFragment(fragment) };
  let tag = '';
  let branch = '';
  for (const [k, v] of query) {
    if (query.getAll(k).length > 1) throw new GitSourceError(`query "${k}" has multiple values`);
    switch (k) {
      case 'ref':
        if (out.ref && out.ref !== v) throw new GitSourceError(`ref conflicts: "${out.ref}" vs "${v}"`);
        out.ref = v;
        break;
      case 'tag': tag = v; break;
      case 'branch': branch = v; break;
      case 'subdir': {
        const s = parseFragment(`:${v}`).subdir;
        if (out.subdir && out.subdir !== s) throw new GitSourceError(`subdir conflicts: "${out.subdir}" vs "${v}"`);
        out.subdir = s;
        break;
      }
      case 'checksum':
      case 'commit': out.checksum = v; break;
      case 'keep-git-dir':
        if (v !== '' && !/^(1|0|t|f|true|false|TRUE|FALSE|True|False)$/.test(v)) throw new GitSourceError(`invalid keep-git-dir value: "${v}"`);
        out.keepGitDir = v === '' || /^(1|t|true)$/i.test(v);
        break;
      default:
        throw new GitSourceError(`unexpected query "${k}"`, 'mybuild reads ref, tag, branch, subdir, checksum (commit) and keep-git-dir');
    }
  }
  if (tag && branch) throw new GitSourceError('branch and tag are mutually exclusive');
  if (tag || branch) {
    const full = tag ? `refs/tags/${tag}` : `refs/heads/${branch}`;
    if (out.ref && out.ref !== tag && out.ref !== branch && out.ref !== full) throw new GitSourceError(`ref conflicts: "${out.ref}" vs "${tag || branch}"`);
    out.ref = full;
  }
  return out;
}

/** How git is run: the Authorization header for the remote, the cancellation signal. */
export interface GitRunOptions {
  /** `Authorization` header value (`basic …`, `bearer …`) for the remote (http.<remote>.extraheader). */
  authHeader?: string;
  signal?: AbortSignal;
}

/** The auth header of the first secret BuildKit's authSecretNames would use, or undefined. */
export function gitAuthHeader(ref: GitRef, secret: (id: string) => Buffer | undefined): string | undefined {
  const names: [string, boolean][] = [[`GIT_AUTH_HEADER.${ref.host}`, false], [`GIT_AUTH_TOKEN.${ref.host}`, true], ['GIT_AUTH_HEADER', false], ['GIT_AUTH_TOKEN', true]];
  for (const [name, token] of names) {
    const v = secret(name);
    if (v === undefined) continue;
    return token ? `basic ${Buffer.from(`x-access-token:${v.toString()}`).toString('base64')}` : v.toString();
  }
  return undefined;
}

/** BuildKit's tokenScope: the URL prefix the header applies to. */
function tokenScope(remote: string): string {
  for (const pfx of ['https://github.com/', 'https://www.github.com/']) if (remote.startsWith(pfx)) return pfx;
  return remote;
}

/** Runs git; resolves stdout, rejects with a GitSourceError carrying git's stderr (credentials redacted). */
export function runGit(args: string[], remote: string, opts: GitRunOptions & { cwd?: string } = {}): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/true', GIT_SSH_COMMAND: 'ssh -o BatchMode=yes' };
  if (opts.authHeader !== undefined) {
    const n = Number(env.GIT_CONFIG_COUNT ?? 0) || 0;
    env[`GIT_CONFIG_KEY_${n}`] = `http.${tokenScope(remote)}.extraheader`;
    env[`GIT_CONFIG_VALUE_${n}`] = `Authorization: ${opts.authHeader}`;
    env.GIT_CONFIG_COUNT = String(n + 1);
  }
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new GitSourceError('git is not installed', 'install Debian\'s git package (apt-get install git)'));
      else reject(e);
    });
    child.on('close', (code) => {
      if (code === 0) return resolve(Buffer.concat(out).toString());
      const text = Buffer.concat(err).toString().trim().split('\n').filter(Boolean).slice(-3).join('; ');
      reject(new GitSourceError(`git ${args[0] === '-c' ? args[2] : args[0]} of ${redactRemote(remote)} failed: ${redactRemote(text) || `exit code ${code}`}`, undefined, true));
    });
  });
}

/** The commit a ref names (what the cache key holds), and the full ref name a fetch asks for. */
export interface ResolvedGitRef {
  commit: string;
  /** `refs/heads/x`, `refs/tags/x`, `HEAD`, or '' when the ref is a commit SHA. */
  fullRef: string;
  /** An annotated tag's own object SHA (a --checksum may name it, as BuildKit allows). */
  tagObject?: string;
}

/**
 * Resolves `ref.ref` with `git ls-remote` as BuildKit's resolveMetadata does (a branch wins over
 * a tag of the same name; an annotated tag peels to its commit) and checks `checksum` (a hex
 * prefix of the commit or of the annotated tag) against it.
 */
export async function resolveGitRef(ref: GitRef, checksum: string | undefined, opts: GitRunOptions = {}): Promise<ResolvedGitRef> {
  if (checksum !== undefined && !/^[a-fA-F0-9]+$/.test(checksum)) throw new GitSourceError(`invalid checksum ${checksum} for Git URL, expected hex commit hash`, 'write --checksum=<commit SHA or a prefix of it>');
  if (isCommitSha(ref.ref)) {
    if (checksum !== undefined && !ref.ref.startsWith(checksum)) throw new GitSourceError(`expected checksum to match ${checksum}, got ${ref.ref}`);
    return { commit: ref.ref, fullRef: '' };
  }
  const out = await runGit(['ls-remote', '--', ref.remote], ref.remote, opts);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha && name) refs.set(name, sha);
  }
  const want = ref.ref || 'HEAD';
  const candidates = want.startsWith('refs/') || want === 'HEAD' ? [want] : [`refs/heads/${want}`, `refs/tags/${want}`];
  for (const full of candidates) {
    const sha = refs.get(full);
    if (!sha) continue;
    const peeled = refs.get(`${full}^{}`);
    const commit = peeled ?? sha;
    const tagObject = peeled ? sha : undefined;
    if (checksum !== undefined && !commit.startsWith(checksum) && !(tagObject?.startsWith(checksum) ?? false)) {
      throw new GitSourceError(`expected checksum to match ${checksum}, got ${commit}${tagObject ? ` or ${tagObject}` : ''}`);
    }
    return { commit, fullRef: full, ...(tagObject ? { tagObject } : {}) };
  }
  throw new GitSourceError(`repository ${redactRemote(ref.remote)} does not contain ref ${want}`, 'name a branch, a tag or a full commit SHA after #');
}

/**
 * Checks `resolved` out into `dir` (which must not exist): the repository in `dir/.git`, the
 * commit's files, submodules; then `.git` removed unless `keepGitDir`. Returns the directory the
 * source's files are in (`dir`, or `dir/<subdir>` after checking that no part of it is a
 * symlink or a file).
 */
export async function checkoutGit(ref: GitRef, resolved: ResolvedGitRef, dir: string, keepGitDir: boolean, opts: GitRunOptions = {}, meta?: { commitTime?: number }): Promise<string> {
  const git = (args: string[]) => runGit(args, ref.remote, { ...opts, cwd: dir });
  await runGit(['-c', 'init.defaultBranch=master', 'init', '-q', ...(resolved.commit.length === 64 ? ['--object-format=sha256'] : []), dir], ref.remote, opts);
  await git(['remote', 'add', 'origin', ref.remote]);
  if (resolved.fullRef === '') {
    // A commit SHA: fetch it (protocol v2 servers allow any reachable one), else everything.
    try {
      await git(['fetch', '-q', '--tags', 'origin', resolved.commit]);
    } catch {
      await git(['fetch', '-q', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
    }
  } else {
    const spec = resolved.fullRef === 'HEAD' ? 'HEAD' : `+${resolved.fullRef}:${resolved.fullRef}`;
    try {
      await git(['fetch', '-q', '--depth=1', '--no-tags', 'origin', spec]);
    } catch (err) {
      // The dumb HTTP protocol cannot fetch shallow: fetch the whole history of the ref.
      if (!/shallow/i.test((err as Error).message)) throw err;
      await git(['fetch', '-q', '--no-tags', 'origin', spec]);
    }
  }
  try {
    await git(['cat-file', '-e', `${resolved.commit}^{commit}`]);
  } catch {
    throw new GitSourceError(`fetched ref ${resolved.fullRef || resolved.commit} of ${redactRemote(ref.remote)} does not contain the expected commit ${resolved.commit} (the remote changed while building?)`);
  }
  await git(['-c', 'advice.detachedHead=false', 'checkout', '-q', resolved.commit]);
  // The committer time (SOURCE_DATE_EPOCH=context, BuildKit's commit.Committer.When).
  if (meta) meta.commitTime = Number((await git(['show', '-s', '--format=%ct', resolved.commit])).trim());
  if (await exists(path.join(dir, '.gitmodules'))) await git(['submodule', 'update', '-q', '--init', '--recursive', '--depth=1']);
  if (keepGitDir && !ref.subdir) {
    await git(['remote', 'set-url', 'origin', redactRemote(ref.remote)]);
    await git(['reflog', 'expire', '--all', '--expire=now']);
    await rm(path.join(dir, '.git', 'FETCH_HEAD'), { force: true });
  } else {
    await rm(path.join(dir, '.git'), { recursive: true, force: true });
  }
  if (!ref.subdir) return dir;
  let cur = dir;
  for (const part of ref.subdir.split('/')) {
    cur = path.join(cur, part);
    const st = await lstat(cur).catch(() => null);
    if (!st) throw new GitSourceError(`invalid subdir ${ref.subdir}: ${ref.subdir} does not exist in ${redactRemote(ref.remote)} at ${resolved.commit}`);
    if (!st.isDirectory()) throw new GitSourceError(`invalid subdir ${ref.subdir}: ${path.relative(dir, cur)} is not a directory`);
  }
  return cur;
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}
