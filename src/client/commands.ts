/**
 * The CLI's client mode: what `build`, `images`, `inspect`, `tag`, `rmi`, `pull`, `push`,
 * `save`, `load`, `run`, `ps`, `rm`, `logs`, `stop`, `kill` and `version` do when `-H` /
 * MYBUILD_HOST names a daemon (commands without a client path are refused in src/cli.ts, see
 * ./remote-commands.ts). The command files parse their flags as in daemonless mode and
 * branch here; output matches the daemonless commands' (same columns, same lines).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Readable, type Duplex, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarFs from 'tar-fs';
import type { RunArgs } from '../cli/commands/run.js';
import { MuxDecoder } from '../daemon/routes/containers.js';
import { parseReference } from '../image/reference.js';
import type { BuildOptions } from '../builder/options.js';
import { BuildContext } from '../context/context.js';
import { packContext } from '../context/tar-context.js';
import { BuildError, UsageError, toBuildError } from '../errors.js';
import { createdSince, humanSize, shortId, splitName, table } from '../store/display.js';
import type { CliContext } from '../cli/context.js';
import { DaemonClient, readAll } from './client.js';
import type { PublishedPort } from '../runtime/usernet.js';

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

interface ApiImage {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
}

/** `images` through the daemon: the daemonless table (REPOSITORY TAG IMAGE ID CREATED SIZE), or IDs with `quiet`. */
export async function remoteImages(ctx: CliContext, opts: { quiet?: boolean; noTrunc?: boolean; filter?: string }): Promise<number> {
  const client = DaemonClient.fromContext(ctx);
  const list = await client.json<ApiImage[]>('GET', '/images/json', { query: opts.filter ? { filters: JSON.stringify({ reference: [opts.filter] }) } : {} });
  const rows: string[][] = [];
  for (const img of list) {
    const id = opts.noTrunc ? img.Id : shortId(img.Id);
    const created = new Date(img.Created * 1000).toISOString();
    for (const t of [...img.RepoTags].sort()) {
      if (opts.quiet) {
        ctx.stdout.write(`${id}\n`);
        continue;
      }
      const n = splitName(t);
      rows.push([n.repository, n.tag, id, createdSince(created), humanSize(img.Size)]);
    }
  }
  if (!opts.quiet) ctx.stdout.write(table([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows]));
  return 0;
}

/** `tag SOURCE TARGET` through the daemon. */
export async function remoteTag(ctx: CliContext, source: string, target: string): Promise<number> {
  const colon = target.lastIndexOf(':');
  const [repo, tag] = colon > target.lastIndexOf('/') ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'latest'];
  await DaemonClient.fromContext(ctx).request('POST', `/images/${encodeURIComponent(source)}/tag`, { query: { repo, tag } });
  return 0;
}

/** `rmi [-f] IMAGE…` through the daemon: prints `Untagged:`/`Deleted:` lines; exit 1 if any failed. */
export async function remoteRmi(ctx: CliContext, names: string[], force: boolean): Promise<number> {
  const client = DaemonClient.fromContext(ctx);
  let failed = 0;
  for (const n of names) {
    try {
      const out = await client.json<Record<string, string>[]>('DELETE', `/images/${encodeURIComponent(n)}`, { query: { force: force ? '1' : undefined } });
      for (const e of out) ctx.stdout.write(e.Untagged ? `Untagged: ${e.Untagged}\n` : `Deleted: ${e.Deleted}\n`);
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${(err as BuildError).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** The server half of `version`: GET /version. */
export async function remoteVersion(ctx: CliContext): Promise<string> {
  const v = await DaemonClient.fromContext(ctx).json<{ Version: string; ApiVersion: string; Os: string; Arch: string; GoVersion: string }>('GET', '/version');
  return `Server:\n Version:    ${v.Version}\n API version: ${v.ApiVersion}\n Runtime:    ${v.GoVersion}\n OS/Arch:    ${v.Os}/${v.Arch}\n Address:    ${ctx.host}\n`;
}

// ---------------------------------------------------------------------------------------------
// Image commands through the daemon: inspect, pull, push, save, load.

/**
 * The `X-Registry-Auth` header for `domain` from the client's docker config (login stays
 * client-side, as with docker): base64url JSON `{username, password}` or `{identitytoken}`;
 * undefined when the client has no credentials for it (the daemon then uses its own).
 */
export async function registryAuthHeader(domain: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const { loadCredentials } = await import('../registry/auth.js');
  const c = await loadCredentials(domain, env);
  if (!c) return undefined;
  const body = c.identityToken ? { username: c.username, identitytoken: c.identityToken, serveraddress: domain } : { username: c.username, password: c.password, serveraddress: domain };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/**
 * The `X-Registry-Config` header of a build: every registry the client's docker config has
 * credentials for (auths, credHelpers; through the helpers), as the docker CLI sends it, so
 * that FROM pulls in the daemon use the client's login. Undefined when there are none.
 */
export async function registryConfigHeader(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const { dockerConfigPath, loadCredentials } = await import('../registry/auth.js');
  const { normalizeRegistry } = await import('../image/reference.js');
  let cfg: { auths?: Record<string, unknown>; credHelpers?: Record<string, unknown> };
  try {
    cfg = JSON.parse(await readFile(dockerConfigPath(env), 'utf8')) as typeof cfg;
  } catch {
    return undefined; // no (readable) config: the daemon's own credentials apply
  }
  const out: Record<string, { username?: string; password?: string; identitytoken?: string; serveraddress: string }> = {};
  for (const key of new Set([...Object.keys(cfg.auths ?? {}), ...Object.keys(cfg.credHelpers ?? {})])) {
    let domain: string;
    try {
      domain = normalizeRegistry(key);
    } catch {
      continue;
    }
    const c = await loadCredentials(domain, env);
    if (c) out[key] = { username: c.username, ...(c.identityToken ? { identitytoken: c.identityToken } : { password: c.password }), serveraddress: key };
  }
  return Object.keys(out).length ? Buffer.from(JSON.stringify(out)).toString('base64url') : undefined;
}

/** `inspect IMAGE…` through the daemon: the same JSON array; names not found get an error line and exit 1. */
export async function remoteInspect(ctx: CliContext, names: string[]): Promise<number> {
  const client = DaemonClient.fromContext(ctx);
  const out: unknown[] = [];
  let failed = 0;
  for (const n of names) {
    try {
      out.push(await client.json('GET', `/images/${encodeURIComponent(n)}/json`));
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${toBuildError(err).format()}\n`);
    }
  }
  ctx.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
  return failed ? 1 : 0;
}

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

interface ApiContainer {
  Id: string;
  Names: string[];
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
}

interface ApiContainerInspect {
  Id: string;
  Created: string;
  Name: string;
  State: { Status: 'created' | 'running' | 'exited'; ExitCode: number; StartedAt: string; FinishedAt: string };
  Config: { Cmd: string[]; Image: string };
}

const NULL_TIME = '0001-01-01T00:00:00Z';

/** The PORTS column of a daemon's container list entry. */
function portsOf(item: ApiContainer, text: (p: PublishedPort[]) => string): string {
  return text((item.Ports ?? []).filter((p) => p.PublicPort !== undefined).map((p) => ({ ...(p.IP && p.IP !== '0.0.0.0' ? { hostIp: p.IP } : {}), hostPort: p.PublicPort!, containerPort: p.PrivatePort, protocol: p.Type === 'udp' ? 'udp' : 'tcp' })));
}

/** `ps [-a] [-q] [--no-trunc]` through the daemon: the daemonless table. */
export async function remotePs(ctx: CliContext, opts: { all?: boolean; quiet?: boolean; noTrunc?: boolean }): Promise<number> {
  const client = DaemonClient.fromContext(ctx);
  const list = await client.json<ApiContainer[]>('GET', '/containers/json', { query: { all: opts.all ? '1' : undefined } });
  const full = opts.noTrunc === true;
  if (opts.quiet) {
    for (const c of list) ctx.stdout.write(`${full ? c.Id : c.Id.slice(0, 12)}\n`);
    return 0;
  }
  const { statusText, commandText, publishedText } = await import('../cli/commands/ps.js');
  const now = Date.now();
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const item of list) {
    const d = await client.json<ApiContainerInspect>('GET', `/containers/${item.Id}/json`).catch(() => undefined);
    if (!d) continue; // removed meanwhile
    const c = {
      id: d.Id,
      name: d.Name.replace(/^\//, ''),
      config: { created: d.Created, command: d.Config.Cmd, image: d.Config.Image },
      state: {
        status: d.State.Status,
        exitCode: d.State.ExitCode,
        ...(d.State.StartedAt !== NULL_TIME ? { startedAt: d.State.StartedAt } : {}),
        ...(d.State.FinishedAt !== NULL_TIME ? { finishedAt: d.State.FinishedAt } : {}),
      },
    } as unknown as Parameters<typeof statusText>[0];
    rows.push([full ? d.Id : d.Id.slice(0, 12), d.Config.Image, commandText(d.Config.Cmd, !full), createdSince(d.Created, now), statusText(c, now), portsOf(item, publishedText), c.name]);
  }
  ctx.stdout.write(table(rows));
  return 0;
}

/** Runs `op` per container argument, printing the argument on success and an error line otherwise; exit 1 if any failed. */
async function perContainer(ctx: CliContext, refs: string[], op: (client: DaemonClient, id: string) => Promise<unknown>): Promise<number> {
  const client = DaemonClient.fromContext(ctx);
  let failed = 0;
  for (const ref of refs) {
    try {
      await op(client, encodeURIComponent(ref));
      ctx.stdout.write(`${ref}\n`);
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${toBuildError(err).format()}\n`);
    }
  }
  return failed ? 1 : 0;
}

const drain = async (p: Promise<http.IncomingMessage>): Promise<void> => {
  (await p).resume();
};

/** `rm [-f] CONTAINER…` through the daemon. */
export function remoteRm(ctx: CliContext, refs: string[], force: boolean): Promise<number> {
  return perContainer(ctx, refs, (c, id) => drain(c.request('DELETE', `/containers/${id}`, { query: { force: force ? '1' : undefined } })));
}

/** `stop [-t S] [-s SIG] CONTAINER…` through the daemon (a stopped container counts as stopped). */
export function remoteStop(ctx: CliContext, refs: string[], opts: { timeoutSec?: number; signal?: string }): Promise<number> {
  return perContainer(ctx, refs, (c, id) => drain(c.request('POST', `/containers/${id}/stop`, { query: { t: opts.timeoutSec?.toString(), signal: opts.signal } })));
}

/** `kill [-s SIG] CONTAINER…` through the daemon. */
export function remoteKill(ctx: CliContext, refs: string[], signal: string): Promise<number> {
  return perContainer(ctx, refs, (c, id) => drain(c.request('POST', `/containers/${id}/kill`, { query: { signal } })));
}

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

/** `logs [-f] [-t] [-n N] CONTAINER` through the daemon. */
export async function remoteLogs(ctx: CliContext, ref: string, opts: { follow?: boolean; timestamps?: boolean; tail?: number }): Promise<number> {
  const res = await DaemonClient.fromContext(ctx).request('GET', `/containers/${encodeURIComponent(ref)}/logs`, {
    query: { stdout: '1', stderr: '1', follow: opts.follow ? '1' : undefined, timestamps: opts.timestamps ? '1' : undefined, tail: opts.tail?.toString() },
  });
  await copyOutput(res, /multiplexed/.test(String(res.headers['content-type'])), ctx);
  return 0;
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
/** Docker's HostConfig.PortBindings of `-p` flags: `{"80/tcp": [{HostIp, HostPort}]}`. */
function portBindings(ports: PublishedPort[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: String(p.hostPort) });
  return out;
}

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
      NetworkMode: o.network === undefined || o.network === 'sandbox' ? 'default' : o.network,
      PortBindings: portBindings(o.publish ?? []),
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
