/**
 * `mybuild build [options] PATH`: docker build's flags, mapped onto BuildOptions.
 */
import { parseCommandArgs } from '../args.js';
import os from 'node:os';
import path from 'node:path';
import type { CommandMain } from '../context.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';
import { engineFor } from '../engine.js';
import { UsageError } from '../../errors.js';
import { readDockerfile as readBuildDockerfile } from '../../context/build-files.js';
import { fetchContext, isRemoteContext } from '../../context/remote.js';
import { parseCacheFrom, parseCacheTo } from '../../cache/remote/spec.js';
import { parseCallFlag, type CallSpec } from '../../checks/outline.js';
import { parseBuildContexts } from '../../builder/named-contexts.js';
import { applyBuildxFlags, BUILDX_FLAGS } from '../build-flags.js';
import { parseOutput } from '../../builder/output-spec.js';
import { defaultBuildOptions, parseKeyValue, parseSecret, parseSourceDateEpoch, secretBytes, type BuildOptions } from '../../builder/options.js';
import { applyResourceFlags, RESOURCE_FLAGS } from '../resource-flags.js';
import { parseSshSpec } from '../../builder/ssh-agents.js';

export const BUILD_FLAGS = {
  allow: { type: 'string', multiple: true, arg: 'stringArray', description: 'Allow extra privileged entitlement (e.g., "security.insecure")' },
  'build-arg': { type: 'string', multiple: true, arg: 'stringArray', description: 'Set build-time variables' },
  'cache-from': { type: 'string', multiple: true, arg: 'stringArray', description: 'External cache sources (e.g., "user/app:cache", "type=local,src=path/to/dir")' },
  'cache-to': { type: 'string', multiple: true, arg: 'stringArray', description: 'Cache export destinations (e.g., "user/app:cache", "type=local,dest=path/to/dir")' },
  call: { type: 'string', description: 'Set method for evaluating build ("check", "outline", "targets", "subrequests.describe") (default "build")' },
  check: { type: 'boolean', description: 'Shorthand for "--call=check"' },
  compression: { type: 'string', description: 'Layer compression: gzip (default) or zstd' },
  explain: { type: 'boolean', description: 'Print why each step was or was not taken from the cache' },
  file: { type: 'string', short: 'f', description: 'Name of the Dockerfile (default: "PATH/Dockerfile"), or - for stdin' },
  format: { type: 'string', description: 'Media types of the image: oci (default) or docker' },
  iidfile: { type: 'string', arg: 'file', description: 'Write the image ID to a file' },
  label: { type: 'string', multiple: true, arg: 'stringArray', description: 'Set metadata for an image' },
  'metadata-file': { type: 'string', arg: 'file', description: 'Write build result metadata to a file' },
  network: { type: 'string', description: 'Set the networking mode for the RUN instructions during build: default, none or host' },
  'no-cache': { type: 'boolean', description: 'Do not use cache when building the image' },
  output: { type: 'string', short: 'o', multiple: true, arg: 'stringArray', description: 'Output destination (format: "type=local,dest=path")' },
  platform: { type: 'string', description: 'Set target platform for build' },
  progress: { type: 'string', description: 'Set type of progress output ("auto", "plain", "tty", "json", "quiet") (default "auto")' },
  pull: { type: 'boolean', description: 'Always attempt to pull all referenced images' },
  push: { type: 'boolean', description: 'Shorthand for "--output=type=registry"' },
  quiet: { type: 'boolean', short: 'q', description: 'Suppress the build output and print image ID on success' },
  runtime: { type: 'string', arg: 'path', description: 'OCI runtime for RUN steps (default runc)' },
  secret: { type: 'string', multiple: true, arg: 'stringArray', description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")' },
  tag: { type: 'string', short: 't', multiple: true, arg: 'stringArray', description: 'Name and optionally a tag (format: "name:tag")' },
  target: { type: 'string', description: 'Set the target build stage to build' },
  'build-context': { type: 'string', multiple: true, arg: 'stringArray', description: 'Additional build contexts (e.g., name=path)' },
  ...BUILDX_FLAGS,
  ...RESOURCE_FLAGS,
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild build',
  usage: '[OPTIONS] PATH',
  summary: 'Start a build',
  aliases: ['mybuild buildx build', 'mybuild builder build', 'mybuild PATH'],
  flags: BUILD_FLAGS,
};

export interface ParsedBuildArgs {
  options: BuildOptions;
  progress: 'auto' | 'tty' | 'plain' | 'json' | 'quiet';
  /** `--call` (`--check` is `--call=check`): undefined or `build` is a build. */
  call?: CallSpec;
  /** Removes a fetched context (`-`, a git or http(s) URL: src/context/remote.ts). */
  cleanup?: () => Promise<void>;
}

/**
 * Fetches a `-`/URL context into a temporary directory and points `o` at it; `-f` names a file
 * inside it (docker's rule for remote contexts). Returns the cleanup.
 */
async function useRemoteContext(o: BuildOptions, arg: string, file: string | undefined, ctx: { env: NodeJS.ProcessEnv; stdin: NodeJS.ReadableStream }): Promise<() => Promise<void>> {
  const fetched = await fetchContext(arg, { tmpParent: ctx.env.TMPDIR || os.tmpdir(), stdin: ctx.stdin, secret: (id) => secretBytes(o.secrets, id, ctx.env) });
  o.contextDir = fetched.dir;
  if (fetched.time !== undefined) o.contextEpoch = fetched.time;
  if (arg !== '-') o.contextSource = { url: arg, ...(fetched.commit ? { commit: fetched.commit } : {}) }; // the provenance's configSource
  if (fetched.dockerfileText !== undefined) {
    if (file !== undefined) {
      await fetched.cleanup();
      throw new UsageError(`-f ${file}: the build context ${arg === '-' ? 'on standard input' : arg} is a Dockerfile, not a context`, { hint: 'drop -f, or give a context tar' });
    }
    o.dockerfilePath = path.join(fetched.dir, 'Dockerfile');
    o.dockerfileName = 'Dockerfile';
  } else {
    o.dockerfilePath = path.join(fetched.dir, file ?? 'Dockerfile');
    o.dockerfileName = file ?? 'Dockerfile';
  }
  return fetched.cleanup;
}

/** Turns `mybuild build` arguments into BuildOptions (reads the Dockerfile from stdin for `-f -`). */
export async function parseBuildArgs(args: string[], ctx: { cwd: string; env: NodeJS.ProcessEnv; stdin: NodeJS.ReadableStream }): Promise<ParsedBuildArgs> {
  const parsed = parseCommandArgs('build', { args, options: BUILD_FLAGS, allowPositionals: true, strict: true });
  const v = parsed.values;
  if (parsed.positionals.length !== 1) {
    throw new UsageError(
      parsed.positionals.length === 0 ? 'build requires exactly 1 argument: the context PATH' : `build requires exactly 1 argument, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`,
      { hint: 'usage: mybuild build [-f Dockerfile] [-t name:tag] PATH' },
    );
  }
  const contextArg = parsed.positionals[0];
  const remote = isRemoteContext(contextArg);
  if (contextArg === '-' && v.file === '-') throw new UsageError("invalid argument: can't use stdin for both build context and dockerfile");
  const o = defaultBuildOptions(remote ? '' : path.resolve(ctx.cwd, contextArg));

  if (remote) {
    // Set once the context is fetched (below), when the other flags (secrets) are known.
  } else if (v.file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of ctx.stdin) chunks.push(Buffer.from(c as Buffer));
    o.dockerfileText = Buffer.concat(chunks).toString('utf8');
    o.dockerfileName = 'Dockerfile';
  } else {
    // docker: -f is relative to the current directory; default is PATH/Dockerfile.
    o.dockerfilePath = v.file ? path.resolve(ctx.cwd, v.file) : path.join(o.contextDir, 'Dockerfile');
    o.dockerfileName = path.relative(ctx.cwd, o.dockerfilePath) || 'Dockerfile';
    if (o.dockerfileName.startsWith('..')) o.dockerfileName = o.dockerfilePath;
  }
  o.tags = v.tag ?? [];
  for (const a of v['build-arg'] ?? []) {
    const kv = parseKeyValue('--build-arg', a, ctx.env);
    if (kv) o.buildArgs[kv[0]] = kv[1];
  }
  for (const l of v.label ?? []) {
    const kv = parseKeyValue('--label', l.includes('=') ? l : `${l}=`, {});
    if (kv) o.labels[kv[0]] = kv[1];
  }
  o.target = v.target;
  o.noCache = v['no-cache'] ?? false;
  o.pull = v.pull ?? false;
  o.platform = v.platform;
  o.iidfile = v.iidfile ? path.resolve(ctx.cwd, v.iidfile) : undefined;
  o.metadataFile = v['metadata-file'] ? path.resolve(ctx.cwd, v['metadata-file']) : undefined;
  o.outputs = (v.output ?? []).map(parseOutput).map((out) => ('dest' in out ? { ...out, dest: path.resolve(ctx.cwd, out.dest) } : out));
  o.push = v.push ?? false;
  if (v.network !== undefined) {
    if (v.network !== 'default' && v.network !== 'none' && v.network !== 'host') {
      throw new UsageError(`--network must be default, none or host, got "${v.network}"`, { hint: 'mybuild never creates bridges; "default" gives RUN steps an isolated network namespace' });
    }
    o.network = v.network;
  }
  o.secrets = (v.secret ?? []).map(parseSecret);
  if (v.format !== undefined) {
    if (v.format !== 'oci' && v.format !== 'docker') throw new UsageError(`--format must be oci or docker, got "${v.format}"`);
    o.format = v.format;
  }
  if (v.compression !== undefined) {
    if (v.compression !== 'gzip' && v.compression !== 'zstd') throw new UsageError(`--compression must be gzip or zstd, got "${v.compression}"`);
    o.compression = v.compression;
  }
  o.allow = v.allow ?? [];
  o.runtime = v.runtime;
  o.explain = v.explain ?? false;
  o.cacheFrom = (v['cache-from'] ?? []).map((x) => parseCacheFrom(x, ctx.cwd));
  o.cacheTo = (v['cache-to'] ?? []).map((x) => parseCacheTo(x, ctx.cwd));
  if (v['build-context']?.length) o.buildContexts = parseBuildContexts(v['build-context'], ctx.cwd);
  applyBuildxFlags(o, v, ctx.env);
  applyResourceFlags(o, v);
  if (v.ssh?.length) o.ssh = v.ssh.map((s) => parseSshSpec(s, ctx.env, ctx.cwd));
  // A SOURCE_DATE_EPOCH build arg (a number, context, a stage) is resolved by the builder.
  if (o.buildArgs.SOURCE_DATE_EPOCH === undefined) o.sourceDateEpoch = parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH);

  let progress = (v.progress ?? 'auto') as ParsedBuildArgs['progress'];
  if (!['auto', 'tty', 'plain', 'json', 'quiet'].includes(progress)) {
    throw new UsageError(`--progress must be auto, tty, plain, json or quiet, got "${v.progress}"`);
  }
  if (v.quiet) progress = 'quiet';
  const cleanup = remote ? await useRemoteContext(o, contextArg, v.file, ctx) : undefined;
  return { options: o, progress, ...(cleanup ? { cleanup } : {}), call: v.check ? parseCallFlag('check') : v.call !== undefined ? parseCallFlag(v.call) : undefined };
}

/** The Dockerfile's text: `-f -`'s, or the file read inside the context (../../context/build-files.ts). */
async function readDockerfile(o: BuildOptions): Promise<string> {
  return o.dockerfileText ?? readBuildDockerfile(o.contextDir, o.dockerfilePath, o.dockerfileName);
}

export const main: CommandMain = async (args, ctx) => {
  if (args.includes('--help') || args.includes('-h')) return printHelp(ctx, HELP);
  const { options, progress, call, cleanup } = await parseBuildArgs(args, ctx);
  try {
    if (call && call.name !== 'build') return await (await import('../call.js')).runCallCommand(call, options, await readDockerfile(options), ctx);
    const { runBuildCommand } = await import('../build-runner.js');
    return await runBuildCommand(options, progress, ctx, engineFor(ctx));
  } finally {
    await cleanup?.();
  }
};
