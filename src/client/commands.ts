/**
 * The CLI's client mode: what `build`, `images`, `inspect`, `tag`, `rmi`, `pull`, `push`,
 * `save`, `load`, `run`, `ps`, `rm`, `logs`, `stop`, `kill` and `version` do when `-H` /
 * MYBUILD_HOST names a daemon (commands without a client path are refused in src/cli.ts, see
 * ./remote-commands.ts). The command files parse their flags as in daemonless mode and
 * branch here; output matches the daemonless commands' (same columns, same lines).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Readable, type Duplex, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarFs from 'tar-fs';
import type { RunArgs } from '../cli/commands/run.js';
import { MuxDecoder } from '../api/mux.js';
import { parseReference } from '../image/reference.js';
import type { BuildOptions } from '../builder/options.js';
import { BuildContext } from '../context/context.js';
import { packContext } from '../context/tar-context.js';
import { BuildError, UsageError, toBuildError } from '../errors.js';
import type { CliContext } from '../cli/context.js';
import { DaemonClient, readAll } from './client.js';
import { registryAuthHeader, registryConfigHeader } from '../api/auth.js';

/**
 * Builds through the daemon: packs the context (honouring .dockerignore, client side), sends
 * it to POST /build and prints the streamed output (only the image ID with `quiet`). The
 * Dockerfile must be inside the context. Returns 0, or throws the daemon's BuildError (its
 * code comes back in the stream, so exit codes match daemonless builds).
 */
export async function remoteBuild(o: BuildOptions, quiet: boolean, ctx: CliContext): Promise<number> {
  if (o.dockerfileText !== undefined) throw new UsageError('-f - (Dockerfile from stdin) is not supported with -H', { hint: 'put the Dockerfile in the context' });
  const rel = path.relative(o.contextDir, o.dockerfilePath ?? path.join(o.contextDir, 'Dockerfile'));
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new UsageError(`with -H the Dockerfile must be inside the build context, got ${o.dockerfilePath}`);
  if (o.outputs.length || o.push || o.secrets.length) throw new UsageError('--output, --push and --secret are not supported with -H yet', { hint: 'build daemonless (without -H), or push with "mybuild -H … push"' });
  const client = DaemonClient.fromContext(ctx);
  const bctx = await BuildContext.open(o.contextDir);
  const registryConfig = await registryConfigHeader(ctx.env);
  const res = await client.request('POST', '/build', {
    query: {
      t: o.tags,
      dockerfile: rel.split(path.sep).join('/'),
      buildargs: JSON.stringify(o.buildArgs),
      labels: JSON.stringify(o.labels),
      target: o.target,
      nocache: o.noCache ? '1' : undefined,
      pull: o.pull ? '1' : undefined,
      platform: o.platform,
      q: quiet ? '1' : undefined,
    },
    headers: {
      'Content-Type': 'application/x-tar',
      // Lets the daemon sync into the warm directory this context used last (src/daemon/context-dirs.ts).
      'X-Mybuild-Context': createHash('sha256').update(`${os.hostname()}\0${path.resolve(o.contextDir)}`).digest('hex').slice(0, 32),
      ...(registryConfig ? { 'X-Registry-Config': registryConfig } : {}),
    },
    body: packContext(bctx),
  });
  let id = '';
  await client.stream(res, (m) => {
    if (m.aux && typeof m.aux.ID === 'string') id = m.aux.ID;
    else if (m.stream && !quiet) ctx.stdout.write(m.stream);
  });
  if (!id) throw new BuildError('IO', 'the daemon ended the build stream without an image ID');
  if (quiet) ctx.stdout.write(`${id}\n`);
  if (o.iidfile) await writeFile(o.iidfile, id);
  return 0;
}

/** The server half of `version`: GET /version. */
export async function remoteVersion(ctx: CliContext): Promise<string> {
  const v = await DaemonClient.fromContext(ctx).json<{ Version: string; ApiVersion: string; Os: string; Arch: string; GoVersion: string }>('GET', '/version');
  return `Server:\n Version:    ${v.Version}\n API version: ${v.ApiVersion}\n Runtime:    ${v.GoVersion}\n OS/Arch:    ${v.Os}/${v.Arch}\n Address:    ${ctx.host}\n`;
}

// ---------------------------------------------------------------------------------------------
// Image commands through the daemon: inspect, pull, push, save, load.

function rejectInsecureFlag(cmd: string, flags: string[] | undefined): void {
  if (flags?.length) {
    throw new UsageError(`${cmd}: --insecure-registry is a daemon setting with -H`, { hint: 'start the daemon with MYBUILD_INSECURE_REGISTRIES set' });
  }
}

/** `pull NAME` through the daemon (POST /images/create with the client's credentials); prints the daemonless lines. */
export async function remotePull(ctx: CliContext, name: string, opts: { platform?: string; quiet?: boolean; insecure?: string[] }): Promise<number> {
  rejectInsecureFlag('pull', opts.insecure);
  const ref = parseReference(name);
  const client = DaemonClient.fromContext(ctx);
  const auth = await registryAuthHeader(ref.domain, ctx.env);
  const res = await client.request('POST', '/images/create', {
    query: { fromImage: ref.name, tag: ref.digest ?? ref.tag ?? 'latest', platform: opts.platform },
    headers: auth ? { 'X-Registry-Auth': auth } : {},
  });
  // As Docker prints it: the repository path, without the registry.
  if (!opts.quiet) ctx.stdout.write(`${ref.tag ? `${ref.tag}: ` : ''}Pulling from ${ref.path}\n`);
  await client.stream(res, (m) => {
    if (opts.quiet || !m.status) return;
    if (m.id && ['Already exists', 'Pull complete', 'Retrying'].includes(m.status)) ctx.stdout.write(`${m.id}: ${m.status}\n`);
    else if (/^(Digest|Status): /.test(m.status)) ctx.stdout.write(`${m.status}\n`);
  });
  ctx.stdout.write(`${ref.toString()}\n`);
  return 0;
}

/** `push NAME[:TAG]` through the daemon with the client's credentials; prints the daemonless lines. */
export async function remotePush(ctx: CliContext, name: string, opts: { quiet?: boolean; insecure?: string[] }): Promise<number> {
  rejectInsecureFlag('push', opts.insecure);
  const ref = parseReference(name);
  if (ref.digest) throw new UsageError(`push: cannot push a digest reference (${name})`, { hint: 'push a tag' });
  const client = DaemonClient.fromContext(ctx);
  const auth = await registryAuthHeader(ref.domain, ctx.env);
  const res = await client.request('POST', `/images/${encodeURIComponent(ref.name)}/push`, {
    query: { tag: ref.tag ?? 'latest' },
    headers: auth ? { 'X-Registry-Auth': auth } : {},
  });
  if (!opts.quiet) ctx.stdout.write(`The push refers to repository [${ref.name}]\n`);
  let done = '';
  await client.stream(res, (m) => {
    if (m.aux && typeof m.aux.Digest === 'string') done = `${ref.tag ?? 'latest'}: digest: ${m.aux.Digest} size: ${String(m.aux.Size)}\n`;
    else if (!opts.quiet && m.id && m.status && ['Layer already exists', 'Mounted from another repository', 'Pushed', 'Retrying'].includes(m.status)) ctx.stdout.write(`${m.id}: ${m.status}\n`);
  });
  if (!done) throw new BuildError('IO', 'the daemon ended the push stream without a digest');
  ctx.stdout.write(done);
  return 0;
}

/** `save [-o FILE] IMAGE…` through the daemon (GET /images/get, docker format only). */
export async function remoteSave(ctx: CliContext, names: string[], opts: { output?: string; format: string }): Promise<number> {
  if (opts.format !== 'docker') throw new UsageError(`save: --format ${opts.format} is not supported with -H (the daemon writes docker save tars)`, { hint: 'save daemonless, or convert with skopeo' });
  const res = await DaemonClient.fromContext(ctx).request('GET', '/images/get', { query: { names } });
  const dest = opts.output ? createWriteStream(opts.output) : (ctx.stdout as Writable);
  await pipeline(res, dest, { end: opts.output !== undefined });
  return 0;
}

/** `load [-i FILE|DIR] [-q]` through the daemon (POST /images/load; a directory is sent as a tar). */
export async function remoteLoad(ctx: CliContext, input: string | undefined, quiet: boolean): Promise<number> {
  let body: Readable;
  if (input && input !== '-') {
    const st = await stat(input).catch((err: NodeJS.ErrnoException) => {
      throw new BuildError(err.code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `load: cannot read ${input}: ${err.message}`, { cause: err });
    });
    body = st.isDirectory() ? (tarFs.pack(input) as unknown as Readable) : createReadStream(input);
  } else body = Readable.from(ctx.stdin as AsyncIterable<Buffer>);
  const client = DaemonClient.fromContext(ctx);
  const res = await client.request('POST', '/images/load', { query: { quiet: quiet ? '1' : undefined }, headers: { 'Content-Type': 'application/x-tar' }, body });
  await client.stream(res, (m) => {
    if (m.stream && !quiet) ctx.stdout.write(m.stream);
  });
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Container commands through the daemon: run, ps, rm, logs, stop, kill.

interface ApiContainerInspect {
  Id: string;
  Created: string;
  Name: string;
  State: { Status: 'created' | 'running' | 'exited'; ExitCode: number; StartedAt: string; FinishedAt: string };
  Config: { Cmd: string[]; Image: string };
}

const drain = async (p: Promise<http.IncomingMessage>): Promise<void> => {
  (await p).resume();
};

/** Writes a raw or multiplexed output stream to ctx.stdout / ctx.stderr; resolves when it ends. */
async function copyOutput(src: AsyncIterable<unknown>, multiplexed: boolean, ctx: CliContext): Promise<void> {
  const dec = new MuxDecoder();
  for await (const chunk of src) {
    const b = chunk as Buffer;
    if (!multiplexed) {
      ctx.stdout.write(b);
      continue;
    }
    for (const f of dec.push(b)) (f.stream === 2 ? ctx.stderr : ctx.stdout).write(f.data);
  }
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * `run` through the daemon, as `docker run` does it: create (pulling the image through the
 * daemon with the client's credentials when it is missing), attach (hijacked; frames demuxed
 * unless -t; stdin forwarded with -i), wait (next-exit, or removed with --rm), start. Returns
 * the container's exit code; with -d prints the ID and returns 0. Signals received by this
 * process are forwarded with POST /kill. A container that cannot start gives 125/126/127 as
 * daemonless.
 */
export async function remoteRun(ctx: CliContext, parsed: RunArgs): Promise<number> {
  const client = DaemonClient.fromContext(ctx);
  const o = parsed.create;
  const body = {
    Image: parsed.image,
    Cmd: o.cmd ?? [],
    ...(o.entrypoint !== undefined ? { Entrypoint: o.entrypoint.length ? o.entrypoint : [''] } : {}),
    Env: o.env,
    WorkingDir: o.workdir ?? '',
    User: o.user ?? '',
    Tty: o.tty === true,
    OpenStdin: o.openStdin === true,
    AttachStdin: o.openStdin === true,
    AttachStdout: !parsed.detach,
    AttachStderr: !parsed.detach,
    HostConfig: {
      AutoRemove: o.autoRemove === true,
      Binds: (o.volumes ?? []).map((v) => `${v.source}:${v.target}${v.readonly ? ':ro' : ''}`),
      NetworkMode: o.network ?? 'none',
    },
  };
  const create = () => client.json<{ Id: string }>('POST', '/containers/create', { query: { name: o.name }, body });
  let id: string;
  try {
    id = (await create()).Id;
  } catch (err) {
    const e = toBuildError(err);
    if (e.code !== 'NOT_FOUND' || /^(sha256:)?[0-9a-f]{12,64}$/.test(parsed.image)) throw err;
    const ref = parseReference(parsed.image);
    ctx.stderr.write(`Unable to find image '${ref.familiar()}' locally\n`);
    const auth = await registryAuthHeader(ref.domain, ctx.env);
    const res = await client.request('POST', '/images/create', { query: { fromImage: ref.name, tag: ref.digest ?? ref.tag ?? 'latest', platform: parsed.platform }, headers: auth ? { 'X-Registry-Auth': auth } : {} });
    await client.stream(res, () => undefined);
    ctx.stderr.write(`Status: Downloaded newer image for ${ref.familiar()}\n`);
    id = (await create()).Id;
  }
  if (parsed.detach) {
    await drain(client.request('POST', `/containers/${id}/start`));
    ctx.stdout.write(`${id}\n`);
    return 0;
  }
  const socket = await client.hijack('POST', `/containers/${id}/attach`, { query: { stream: '1', stdout: '1', stderr: '1', stdin: o.openStdin ? '1' : undefined } });
  const output = copyOutput(socket, o.tty !== true, ctx);
  const waitRes = await client.request('POST', `/containers/${id}/wait`, { query: { condition: o.autoRemove ? 'removed' : 'next-exit' } });
  const waited = readAll(waitRes).then((b) => (JSON.parse(b.toString('utf8')) as { StatusCode: number }).StatusCode);
  const stdin = ctx.stdin as NodeJS.ReadStream;
  const raw = o.tty === true && o.openStdin === true && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of FORWARDED) {
    const h = (): void => void drain(client.request('POST', `/containers/${id}/kill`, { query: { signal: sig.slice(3) } })).catch(() => undefined);
    handlers.set(sig, h);
    process.on(sig, h);
  }
  try {
    try {
      await drain(client.request('POST', `/containers/${id}/start`));
    } catch (err) {
      const e = toBuildError(err);
      if (e.code !== 'RUNTIME') throw err;
      socket.destroy();
      ctx.stderr.write(`error: ${e.format()}\n`);
      const st = await client.json<ApiContainerInspect>('GET', `/containers/${id}/json`).then((x) => (x.State.Status === 'exited' ? x.State.ExitCode : undefined), () => undefined);
      return st ?? (/executable file not found|no such file or directory/i.test(e.message) ? 127 : 125);
    }
    if (o.openStdin) {
      if (raw) stdin.setRawMode(true);
      const input = Readable.from(ctx.stdin as AsyncIterable<Buffer>);
      input.on('data', (d: Buffer) => socket.write(d));
      input.on('end', () => {
        if (!o.tty) (socket as Duplex & { end(): void }).end();
      });
      input.on('error', () => undefined);
    }
    const [code] = await Promise.all([waited, output]);
    return code;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    if (raw) stdin.setRawMode(false);
    if (o.openStdin) stdin.pause?.();
  }
}
