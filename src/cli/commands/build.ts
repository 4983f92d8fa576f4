/**
 * `mybuild build [options] PATH`: docker build's flags, mapped onto BuildOptions.
 */
import { parseCommandArgs } from '../args.js';
import path from 'node:path';
import type { CommandMain } from '../context.js';
import { UsageError } from '../../errors.js';
import { readDockerfile as readBuildDockerfile } from '../../context/build-files.js';
import { parseCacheFrom, parseCacheTo } from '../../cache/remote/spec.js';
import { parseCallFlag, type CallSpec } from '../../checks/outline.js';
import {
  defaultBuildOptions,
  parseKeyValue,
  parseOutput,
  parseSecret,
  parseSourceDateEpoch,
  type BuildOptions,
} from '../../builder/options.js';

export const BUILD_FLAGS = {
  file: { type: 'string', short: 'f' },
  tag: { type: 'string', short: 't', multiple: true },
  'build-arg': { type: 'string', multiple: true },
  target: { type: 'string' },
  'no-cache': { type: 'boolean' },
  pull: { type: 'boolean' },
  label: { type: 'string', multiple: true },
  platform: { type: 'string' },
  iidfile: { type: 'string' },
  'metadata-file': { type: 'string' },
  output: { type: 'string', short: 'o', multiple: true },
  progress: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  push: { type: 'boolean' },
  network: { type: 'string' },
  secret: { type: 'string', multiple: true },
  format: { type: 'string' },
  compression: { type: 'string' },
  allow: { type: 'string', multiple: true },
  runtime: { type: 'string' },
  explain: { type: 'boolean' },
  'cache-from': { type: 'string', multiple: true },
  'cache-to': { type: 'string', multiple: true },
  call: { type: 'string' },
  check: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ParsedBuildArgs {
  options: BuildOptions;
  progress: 'auto' | 'tty' | 'plain' | 'json' | 'quiet';
  /** `--call` (`--check` is `--call=check`): undefined or `build` is a build. */
  call?: CallSpec;
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
  if (contextArg === '-') throw new UsageError('reading the build context from stdin is not supported; give a directory', { hint: 'use "-f -" to read only the Dockerfile from stdin' });
  const o = defaultBuildOptions(path.resolve(ctx.cwd, contextArg));

  if (v.file === '-') {
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
  o.sourceDateEpoch = parseSourceDateEpoch(o.buildArgs.SOURCE_DATE_EPOCH ?? ctx.env.SOURCE_DATE_EPOCH);

  let progress = (v.progress ?? 'auto') as ParsedBuildArgs['progress'];
  if (!['auto', 'tty', 'plain', 'json', 'quiet'].includes(progress)) {
    throw new UsageError(`--progress must be auto, tty, plain, json or quiet, got "${v.progress}"`);
  }
  if (v.quiet) progress = 'quiet';
  return { options: o, progress, call: v.check ? parseCallFlag('check') : v.call !== undefined ? parseCallFlag(v.call) : undefined };
}

/** The Dockerfile's text: `-f -`'s, or the file read inside the context (../../context/build-files.ts). */
export async function readDockerfile(o: BuildOptions): Promise<string> {
  return o.dockerfileText ?? readBuildDockerfile(o.contextDir, o.dockerfilePath, o.dockerfileName);
}

export const main: CommandMain = async (args, ctx) => {
  if (args.includes('--help') || args.includes('-h')) {
    ctx.stdout.write(`Usage: mybuild build [OPTIONS] PATH\n\nFlags:\n${Object.keys(BUILD_FLAGS).map((f) => `  --${f}`).join('\n')}\n`);
    return 0;
  }
  const { options, progress, call } = await parseBuildArgs(args, ctx);
  if (call && call.name !== 'build') return (await import('../call.js')).runCallCommand(call, options, await readDockerfile(options), ctx);
  const { runBuildCommand } = await import('../build-runner.js');
  return runBuildCommand(options, progress, ctx, (await import('../engine.js')).engineFor(ctx));
};
