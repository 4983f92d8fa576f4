/**
 * RemoteEngine: the Engine over a daemon's Engine API (DaemonClient, src/client) — `mybuild`
 * with -H/MYBUILD_HOST. Each call maps to the endpoint the docker CLI uses and turns the JSON
 * answer back into what LocalEngine returns.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable, type Duplex, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarFs from 'tar-fs';
import { registryAuthHeader, registryConfigHeader } from '../api/auth.js';
import { summaryOfListEntry } from '../api/containers.js';
import { MuxDecoder } from '../api/mux.js';
import type { ApiContainer, ApiContainerInspect, ApiImage, ApiVersion, JsonMessage } from '../api/types.js';
import { readAll, type DaemonClient } from '../client/client.js';
import type { BuildOptions } from '../builder/options.js';
import type { CreateOptions } from '../containers/manager.js';
import { BuildContext } from '../context/context.js';
import { packContext } from '../context/tar-context.js';
import { readDockerfile } from '../context/build-files.js';
import { BuildError, UsageError } from '../errors.js';
import type { Reference } from '../oci/reference.js';
import { parseReference } from '../image/reference.js';
import { formatPlatform } from '../oci/platform.js';
import { isIndexType } from '../image/manifest.js';
import type { PublishedPort } from '../runtime/usernet.js';
import type { BuildHooks, BuiltImage, ContainerService, ContainerSummary, Engine, ImageDeleteItem, ImageRow, ImageService, LogOptions, PullResult, PushResult, RunIO, TransferOptions } from './engine.js';
import { filtersImplyAll, filtersToQuery, type Filters } from '../api/filters.js';

function rejectInsecureFlag(cmd: string, flags: string[] | undefined): void {
  if (flags?.length) {
    throw new UsageError(`${cmd}: --insecure-registry is a daemon setting with -H`, { hint: 'start the daemon with MYBUILD_INSECURE_REGISTRIES set' });
  }
}

const drain = async (p: Promise<http.IncomingMessage>): Promise<void> => {
  (await p).resume();
};

/** Docker's HostConfig.PortBindings of `-p` flags: `{"80/tcp": [{HostIp, HostPort}]}`. */
function portBindings(ports: PublishedPort[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: String(p.hostPort) });
  return out;
}

/** The full normalised form of a name the daemon sent (`app:1` → `docker.io/library/app:1`); as sent when it does not parse. */
function fullName(name: string): string {
  try {
    return parseReference(name).toString();
  } catch {
    return name;
  }
}

/** Writes a raw or multiplexed output stream to `stdout` / `stderr`; resolves when it ends. */
async function copyOutput(src: AsyncIterable<unknown>, multiplexed: boolean, out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<void> {
  const dec = new MuxDecoder();
  for await (const chunk of src) {
    const b = chunk as Buffer;
    if (!multiplexed) {
      out.stdout.write(b);
      continue;
    }
    for (const f of dec.push(b)) (f.stream === 2 ? out.stderr : out.stdout).write(f.data);
  }
}

export class RemoteEngine implements Engine {
  readonly images: ImageService;
  readonly containers: ContainerService;
  /** The daemon holds the containers. */
  readonly detaches = true;
  /** The daemon streams the legacy builder's text. */
  readonly buildEvents = false;

  constructor(readonly client: DaemonClient, readonly env: NodeJS.ProcessEnv) {
    this.images = new RemoteImages(client, env);
    this.containers = new RemoteContainers(client);
  }

  /**
   * Builds through the daemon: packs the context (honouring .dockerignore, client side), sends
   * it to POST /build with the client's registry credentials, and hands the streamed text to
   * `onText`. The Dockerfile must be inside the context. Throws the daemon's BuildError (its
   * code comes back in the stream, so exit codes match daemonless builds).
   */
  async build(o: BuildOptions, hooks: BuildHooks): Promise<BuiltImage> {
    if (o.dockerfileText !== undefined) throw new UsageError('-f - (Dockerfile from stdin) is not supported with -H', { hint: 'put the Dockerfile in the context' });
    const rel = path.relative(o.contextDir, o.dockerfilePath ?? path.join(o.contextDir, 'Dockerfile'));
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new UsageError(`with -H the Dockerfile must be inside the build context, got ${o.dockerfilePath}`);
    if (o.outputs.length || o.push || o.secrets.length) throw new UsageError('--output, --push and --secret are not supported with -H yet', { hint: 'build daemonless (without -H), or push with "mybuild -H … push"' });
    refuseUnsentBuildOptions(o);
    // Checked here too, so a missing, symlinked-out or non-text Dockerfile is reported by its local name.
    await readDockerfile(o.contextDir, o.dockerfilePath, o.dockerfileName);
    const bctx = await BuildContext.open(o.contextDir);
    const registryConfig = await registryConfigHeader(this.env);
    const res = await this.client.request('POST', '/build', {
      query: {
        t: o.tags,
        dockerfile: rel.split(path.sep).join('/'),
        // SOURCE_DATE_EPOCH from the environment travels as the build arg (as buildx sends it);
        // `context` of a git context fetched here is its commit time (the daemon sees a directory).
        buildargs: JSON.stringify(remoteBuildArgs(o)),
        networkmode: o.network === 'default' ? undefined : o.network,
        labels: JSON.stringify(o.labels),
        target: o.target,
        nocache: o.noCache ? '1' : undefined,
        pull: o.pull ? '1' : undefined,
        platform: o.platform,
        q: hooks.quiet ? '1' : undefined,
        ...resourceParams(o),
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
    await this.client.stream(res, (m) => {
      if (m.aux && typeof m.aux.ID === 'string') id = m.aux.ID;
      else if (m.stream && !hooks.quiet) hooks.onText?.(m.stream);
    });
    if (!id) throw new BuildError('IO', 'the daemon ended the build stream without an image ID');
    return { imageId: id };
  }

  serverVersion(): Promise<ApiVersion> {
    return this.client.json<ApiVersion>('GET', '/version');
  }

  info(): Promise<Record<string, unknown>> {
    return this.client.json<Record<string, unknown>>('GET', '/info');
  }
}

class RemoteImages implements ImageService {
  constructor(
    private readonly client: DaemonClient,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** `X-Registry-Auth` from the client's docker config (login stays client-side, as with docker). */
  private async authHeaders(ref: Reference): Promise<Record<string, string>> {
    const auth = await registryAuthHeader(ref.domain, this.env);
    return auth ? { 'X-Registry-Auth': auth } : {};
  }

  /** Reads a pull/push stream: per-layer messages to `onProgress`, the others to `other`. */
  private async progress(res: http.IncomingMessage, o: TransferOptions, other: (m: JsonMessage) => void): Promise<void> {
    await this.client.stream(res, (m) => {
      if (m.id && m.status && !m.aux && !/^(Pulling from|The push refers)/.test(m.status)) o.onProgress?.(m);
      else other(m);
    });
  }

  async pull(ref: Reference, o: TransferOptions & { platform?: string }): Promise<PullResult> {
    rejectInsecureFlag('pull', o.insecureRegistries);
    const res = await this.client.request('POST', '/images/create', {
      query: { fromImage: ref.name, tag: ref.digest ?? ref.tag ?? 'latest', platform: o.platform },
      headers: await this.authHeaders(ref),
    });
    let digest = '';
    let upToDate = false;
    await this.progress(res, o, (m) => {
      if (m.status?.startsWith('Digest: ')) digest = m.status.slice('Digest: '.length);
      else if (m.status?.startsWith('Status: ')) upToDate = /up to date/.test(m.status);
    });
    if (!digest) throw new BuildError('IO', 'the daemon ended the pull stream without a digest');
    return { digest, upToDate };
  }

  async push(ref: Reference, o: TransferOptions): Promise<PushResult> {
    rejectInsecureFlag('push', o.insecureRegistries);
    if (ref.digest) throw new UsageError(`push: cannot push a digest reference (${ref.familiar()})`, { hint: 'push a tag' });
    const res = await this.client.request('POST', `/images/${encodeURIComponent(ref.name)}/push`, { query: { tag: ref.tag ?? 'latest' }, headers: await this.authHeaders(ref) });
    o.onStart?.();
    let done: PushResult | undefined;
    await this.progress(res, o, (m) => {
      if (m.aux && typeof m.aux.Digest === 'string') done = { digest: m.aux.Digest, size: Number(m.aux.Size) };
    });
    if (!done) throw new BuildError('IO', 'the daemon ended the push stream without a digest');
    return done;
  }

  async save(names: string[], o: { format: 'docker' | 'oci'; dest: string | Writable }): Promise<void> {
    if (o.format !== 'docker') throw new UsageError(`save: --format ${o.format} is not supported with -H (the daemon writes docker save tars)`, { hint: 'save daemonless, or convert with skopeo' });
    const res = await this.client.request('GET', '/images/get', { query: { names } });
    const toFile = typeof o.dest === 'string';
    await pipeline(res, toFile ? createWriteStream(o.dest as string) : (o.dest as Writable), { end: toFile });
  }

  async load(input: string | Readable): Promise<string[]> {
    let body: Readable;
    if (typeof input === 'string') {
      const st = await stat(input).catch((err: NodeJS.ErrnoException) => {
        throw new BuildError(err.code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `load: cannot read ${input}: ${err.message}`, { cause: err });
      });
      body = st.isDirectory() ? (tarFs.pack(input) as unknown as Readable) : createReadStream(input);
    } else body = input;
    const res = await this.client.request('POST', '/images/load', { headers: { 'Content-Type': 'application/x-tar' }, body });
    let text = '';
    await this.client.stream(res, (m) => {
      if (m.stream) text += m.stream;
    });
    return text.split('\n').filter(Boolean);
  }

  async list(opts: { filters?: Filters } = {}): Promise<{ images: ImageRow[]; warnings: string[] }> {
    // The daemon filters (docker's JSON form; its route runs src/api/filters.ts as LocalEngine does).
    const list = await this.client.json<ApiImage[]>('GET', '/images/json', { query: { filters: filtersToQuery(opts.filters), manifests: '1' } });
    const rows: ImageRow[] = [];
    for (const img of list) {
      const created = new Date(img.Created * 1000).toISOString();
      // A multi-platform image's entries (an index), else the image's own content size.
      const multi = img.Descriptor !== undefined && isIndexType(img.Descriptor.mediaType);
      const platforms = multi ? img.Manifests?.map((m) => ({ platform: m.ImageData ? formatPlatform(m.ImageData.Platform) : '', digest: m.ID, available: m.Available, size: m.ImageData?.Size.Unpacked ?? 0, contentSize: m.Size.Content })) : undefined;
      const single = !multi && img.Manifests?.length === 1 ? { contentSize: img.Manifests[0].Size.Content } : {};
      const base = { id: img.Id, created, size: img.Size, labels: img.Labels ?? {}, ...(platforms ? { platforms } : single) };
      const digestOf = (repo: string): string => img.RepoDigests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? img.RepoDigests[0]?.split('@')[1] ?? '';
      if (img.RepoTags.length) {
        for (const t of img.RepoTags) rows.push({ ...base, name: fullName(t), digest: digestOf(t.slice(0, t.lastIndexOf(':'))) });
      } else if (img.RepoDigests.length) {
        // Named by digest only (no tag): one row per such name, as the store lists them.
        for (const d of img.RepoDigests) rows.push({ ...base, name: fullName(d), digest: d.split('@')[1] });
      } else rows.push({ ...base, digest: '' });
    }
    return { images: rows, warnings: [] };
  }

  inspect(name: string): Promise<Record<string, unknown>> {
    return this.client.json('GET', `/images/${encodeURIComponent(name)}/json`);
  }

  async tag(source: string, target: string): Promise<void> {
    const colon = target.lastIndexOf(':');
    const [repo, tag] = colon > target.lastIndexOf('/') ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'latest'];
    await drain(this.client.request('POST', `/images/${encodeURIComponent(source)}/tag`, { query: { repo, tag } }));
  }

  remove(name: string, opts: { force?: boolean }): Promise<ImageDeleteItem[]> {
    return this.client.json<ImageDeleteItem[]>('DELETE', `/images/${encodeURIComponent(name)}`, { query: { force: opts.force ? '1' : undefined } });
  }
}

class RemoteContainers implements ContainerService {
  constructor(private readonly client: DaemonClient) {}

  async list(opts: { all?: boolean; filters?: Filters }): Promise<ContainerSummary[]> {
    const f = opts.filters ?? {};
    const all = opts.all || filtersImplyAll(f);
    const list = await this.client.json<ApiContainer[]>('GET', '/containers/json', { query: { all: all ? '1' : undefined, filters: filtersToQuery(f) } });
    return list.map(summaryOfListEntry);
  }

  async logs(ref: string, opts: LogOptions): Promise<void> {
    const res = await this.client.request('GET', `/containers/${encodeURIComponent(ref)}/logs`, {
      query: { stdout: '1', stderr: '1', follow: opts.follow ? '1' : undefined, timestamps: opts.timestamps ? '1' : undefined, tail: opts.tail?.toString() },
    });
    await copyOutput(res, /multiplexed/.test(String(res.headers['content-type'])), opts);
  }

  stop(ref: string, opts: { timeoutSec?: number; signal?: string }): Promise<void> {
    return drain(this.client.request('POST', `/containers/${encodeURIComponent(ref)}/stop`, { query: { t: opts.timeoutSec?.toString(), signal: opts.signal } }));
  }

  kill(ref: string, signal: string): Promise<void> {
    return drain(this.client.request('POST', `/containers/${encodeURIComponent(ref)}/kill`, { query: { signal } }));
  }

  remove(ref: string, opts: { force?: boolean }): Promise<void> {
    return drain(this.client.request('DELETE', `/containers/${encodeURIComponent(ref)}`, { query: { force: opts.force ? '1' : undefined } }));
  }

  async create(o: CreateOptions): Promise<string> {
    const body = {
      Image: o.image,
      Cmd: o.cmd ?? [],
      ...(o.entrypoint !== undefined ? { Entrypoint: o.entrypoint.length ? o.entrypoint : [''] } : {}),
      Env: o.env ?? [],
      WorkingDir: o.workdir ?? '',
      User: o.user ?? '',
      Tty: o.tty === true,
      OpenStdin: o.openStdin === true,
      AttachStdin: o.openStdin === true,
      // As the docker CLI: an attached stdin is closed in the container when the client's ends.
      StdinOnce: o.openStdin === true,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        AutoRemove: o.autoRemove === true,
        Binds: (o.volumes ?? []).map((v) => `${v.source}:${v.target}${v.readonly ? ':ro' : ''}`),
        NetworkMode: o.network === undefined || o.network === 'sandbox' ? 'default' : o.network,
        PortBindings: portBindings(o.publish ?? []),
        // -t: the terminal's size from the start (docker's CLI sends it too), resizes follow.
        ...(o.settings?.consoleSize ? { ConsoleSize: o.settings.consoleSize } : {}),
      },
    };
    return (await this.client.json<{ Id: string }>('POST', '/containers/create', { query: { name: o.name, platform: o.platform }, body })).Id;
  }

  /**
   * As `docker run` does it: attach (hijacked; frames demuxed unless a TTY; stdin forwarded
   * with openStdin), wait (next-exit, or removed with autoRemove), start.
   */
  async run(id: string, io: RunIO): Promise<number> {
    const socket = await this.client.hijack('POST', `/containers/${id}/attach`, { query: { stream: '1', stdout: '1', stderr: '1', stdin: io.openStdin ? '1' : undefined } });
    const output = copyOutput(socket, !io.tty, io);
    const waitRes = await this.client.request('POST', `/containers/${id}/wait`, { query: { condition: io.autoRemove ? 'removed' : 'next-exit' } });
    const waited = readAll(waitRes).then((b) => (JSON.parse(b.toString('utf8')) as { StatusCode: number }).StatusCode);
    try {
      await drain(this.client.request('POST', `/containers/${id}/start`));
    } catch (err) {
      socket.destroy();
      throw err;
    }
    // -t: the terminal's size once started and on every resize (SIGWINCH), as docker's CLI.
    const unsubscribe = io.tty && io.terminal ? this.followTerminal(id, io.terminal) : undefined;
    if (io.openStdin) {
      const input = Readable.from(io.stdin as AsyncIterable<Buffer>);
      input.on('data', (d: Buffer) => socket.write(d));
      input.on('end', () => {
        if (!io.tty) (socket as Duplex & { end(): void }).end();
      });
      input.on('error', () => undefined);
    }
    try {
      const [code] = await Promise.all([waited, output]);
      return code;
    } finally {
      unsubscribe?.();
    }
  }

  /** Sends the terminal's size now and after each resize (`POST /containers/{id}/resize`); returns the unsubscribe. */
  private followTerminal(id: string, terminal: NonNullable<RunIO['terminal']>): () => void {
    const send = () => {
      const s = terminal.size();
      if (!s) return;
      // A resize after the container ended is refused (409): nothing to size any more.
      void drain(this.client.request('POST', `/containers/${id}/resize`, { query: { h: String(s.rows), w: String(s.cols) } })).catch(() => undefined);
    };
    send();
    return terminal.onResize(send);
  }

  start(id: string): Promise<void> {
    return drain(this.client.request('POST', `/containers/${id}/start`));
  }

  async inspect(ref: string): Promise<{ status: ContainerSummary['state']; exitCode?: number }> {
    const d = await this.client.json<ApiContainerInspect>('GET', `/containers/${encodeURIComponent(ref)}/json`);
    // The exit code is known once it has exited (Docker reports 0 before).
    return { status: d.State.Status, ...(d.State.Status === 'exited' ? { exitCode: d.State.ExitCode } : {}) };
  }
}

/**
 * The build options POST /build has no parameter for: refused by name (UsageError) rather
 * than dropped. --iidfile is written by the CLI from the returned ID; -q maps to `q`.
 */
export function refuseUnsentBuildOptions(o: BuildOptions): void {
  const refused: string[] = [];
  if (o.metadataFile) refused.push('--metadata-file');
  if (o.explain) refused.push('--explain');
  if (o.format !== 'oci') refused.push(`--format ${o.format}`);
  if (o.compression !== 'gzip') refused.push(`--compression ${o.compression}`);
  if (o.allow.length) refused.push(`--allow ${o.allow.join(',')}`);
  if (o.runtime) refused.push('--runtime');
  if (o.cacheFrom?.length) refused.push('--cache-from');
  if (o.cacheTo?.length) refused.push('--cache-to');
  // Issue 17's buildx flags.
  if (Object.keys(o.buildContexts ?? {}).length) refused.push('--build-context');
  if (o.extraHosts?.length) refused.push('--add-host');
  if (o.ulimits?.length) refused.push('--ulimit');
  if (o.shmSize !== undefined) refused.push('--shm-size');
  // The legacy build API has no session to forward an agent over.
  if (o.ssh?.length) refused.push('--ssh');
  if (o.noCacheFilter?.length) refused.push('--no-cache-filter');
  if (Object.keys(o.annotations ?? {}).length) refused.push('--annotation');
  // An explicit provenance (buildx's implicit default only applies to pushes, refused above).
  if (o.provenance && !o.provenance.implicit) refused.push('--provenance/--attest');
  if (refused.length) throw new UsageError(`${refused.join(', ')} ${refused.length > 1 ? 'are' : 'is'} not supported with -H (the daemon's build API has no parameter for ${refused.length > 1 ? 'them' : 'it'})`, { hint: 'build daemonless (without -H)' });
}

/** The build args sent to the daemon: SOURCE_DATE_EPOCH from the environment, or `context` resolved to the git context's commit time. */
function remoteBuildArgs(o: BuildOptions): Record<string, string> {
  const arg = o.buildArgs.SOURCE_DATE_EPOCH;
  if (arg === 'context' && o.contextEpoch !== undefined) return { ...o.buildArgs, SOURCE_DATE_EPOCH: String(o.contextEpoch) };
  if (arg === undefined && o.sourceDateEpoch !== undefined) return { ...o.buildArgs, SOURCE_DATE_EPOCH: String(o.sourceDateEpoch) };
  return o.buildArgs;
}

/** --memory, --memory-swap, --cpu-* as the build API's query parameters (the docker CLI's names). */
function resourceParams(o: BuildOptions): Record<string, string | undefined> {
  const m = o.runResources?.memory;
  const c = o.runResources?.cpu;
  const s = (n: number | undefined) => (n === undefined ? undefined : String(n));
  return { memory: s(m?.limit), memswap: s(m?.swap), cpushares: s(c?.shares), cpuperiod: s(c?.period), cpuquota: s(c?.quota), cpusetcpus: c?.cpus, cpusetmems: c?.mems };
}
