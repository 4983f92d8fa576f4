/**
 * POST /containers/create's body (Docker's `Config` with `HostConfig` and `NetworkingConfig`)
 * → CreateOptions. Nothing sent is ignored: every field is either applied (mapped here, then
 * recorded and run by src/containers) or, when it carries a non-zero value, refused with a 400
 * `<Section>.<Field> is not supported by mybuild`. Zero values (null, "", 0, false, [], {})
 * of any field are accepted, since clients send every key. Pure except for `mkdir` of missing
 * bind sources (dockerd creates them for `Binds`).
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from '../errors.js';
import type { CreateOptions, VolumeSpec } from '../containers/manager.js';
import { parsePublish } from '../containers/options.js';
import type { ContainerSettings, ExtraMount } from '../containers/settings.js';
import type { ContainerResources } from '../runtime/spec.js';
import { ALL_CAPABILITIES, capName } from '../runtime/spec.js';

type Json = Record<string, unknown>;

/** Whether `v` is a zero value (what a client sends for "not set"). */
export function isZero(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Json).every(isZero);
  return false;
}

export function unsupported(field: string, hint?: string): BuildError {
  return new BuildError('INVALID_ARGUMENT', `${field} is not supported by mybuild`, hint ? { hint } : {});
}

function invalid(msg: string): BuildError {
  return new BuildError('INVALID_ARGUMENT', msg);
}

/** Fields mapped below; any other non-zero field of the section is refused. */
const CONFIG_FIELDS = new Set([
  'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd',
  'Healthcheck', 'ArgsEscaped', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'NetworkDisabled', 'OnBuild', 'Labels', 'StopSignal', 'StopTimeout', 'Shell',
  'HostConfig', 'NetworkingConfig', 'Runtime',
]);
const LOG_DRIVERS = new Set(['none', 'local', 'json-file', 'syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries']);
/** Of these, AttachStdin/Stdout/Stderr, ArgsEscaped and Shell are informational (the client attaches; Shell serves builds). */
const HOST_FIELDS = new Set([
  'Binds', 'ContainerIDFile', 'LogConfig', 'NetworkMode', 'AutoRemove', 'ConsoleSize', 'CapAdd', 'CapDrop', 'CgroupnsMode', 'Dns', 'DnsOptions', 'DnsSearch',
  'ExtraHosts', 'GroupAdd', 'IpcMode', 'OomScoreAdj', 'PidMode', 'Privileged', 'ReadonlyRootfs', 'Tmpfs', 'ShmSize', 'Sysctls', 'Runtime', 'Isolation',
  'Memory', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'OomKillDisable', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus',
  'CpusetMems', 'PidsLimit', 'Ulimits', 'Mounts', 'RestartPolicy', 'Init', 'PortBindings',
]);
const HOST_INFORMATIONAL = new Set(['ContainerIDFile']);
const ULIMITS = new Set(['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

const list = (v: unknown): string[] | undefined => (v == null ? undefined : Array.isArray(v) ? v.map(String) : [String(v)]);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' && v !== 0 ? v : undefined);

/** The cgroup limits of a HostConfig (Docker's rules: NanoCpus → CFS quota over a 100 ms period; swap twice the memory by default). */
function resources(hc: Json): ContainerResources | undefined {
  const memory: NonNullable<ContainerResources['memory']> = {};
  const mem = num(hc.Memory);
  if (mem !== undefined) {
    if (mem < 6 * 1024 * 1024) throw invalid('Minimum memory limit allowed is 6MB');
    memory.limit = mem;
  }
  const swap = num(hc.MemorySwap);
  if (swap !== undefined) {
    if (mem === undefined) throw invalid('You should always set the Memory limit when using Memoryswap limit');
    if (swap !== -1 && swap < mem) throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
    memory.swap = swap;
  } else if (mem !== undefined) memory.swap = mem * 2;
  if (num(hc.MemoryReservation) !== undefined) memory.reservation = num(hc.MemoryReservation);
  const swappiness = hc.MemorySwappiness;
  if (typeof swappiness === 'number' && swappiness !== -1) {
    if (swappiness < 0 || swappiness > 100) throw invalid(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
    memory.swappiness = swappiness;
  }
  if (hc.OomKillDisable === true) memory.disableOOMKiller = true;
  const cpu: NonNullable<ContainerResources['cpu']> = {};
  const nano = num(hc.NanoCpus);
  if (nano !== undefined) {
    if (num(hc.CpuQuota) !== undefined || num(hc.CpuPeriod) !== undefined) throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    cpu.period = 100000;
    cpu.quota = Math.round((nano * 100000) / 1e9);
  }
  if (num(hc.CpuPeriod) !== undefined) cpu.period = num(hc.CpuPeriod);
  if (num(hc.CpuQuota) !== undefined) cpu.quota = num(hc.CpuQuota);
  if (num(hc.CpuShares) !== undefined) cpu.shares = num(hc.CpuShares);
  if (typeof hc.CpusetCpus === 'string' && hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (typeof hc.CpusetMems === 'string' && hc.CpusetMems) cpu.mems = hc.CpusetMems;
  const out: ContainerResources = {};
  if (Object.keys(memory).length) out.memory = memory;
  if (Object.keys(cpu).length) out.cpu = cpu;
  const pids = num(hc.PidsLimit);
  if (pids !== undefined && pids > 0) out.pids = { limit: pids };
  return Object.keys(out).length ? out : undefined;
}

/** `Binds` entries: host paths (created when missing, as dockerd does); named volumes are refused. */
async function binds(entries: string[]): Promise<VolumeSpec[]> {
  const out: VolumeSpec[] = [];
  for (const b of entries) {
    const parts = b.split(':');
    const [source, target, mode = ''] = parts;
    if (parts.length < 2 || !target?.startsWith('/')) throw invalid(`invalid volume specification: '${b}'`);
    if (!source.startsWith('/')) throw unsupported(`HostConfig.Binds "${b}": named volumes`, 'bind an absolute host path');
    const opts = mode.split(',').filter((o) => o !== '');
    for (const o of opts) if (!['ro', 'rw', 'z', 'Z', 'rprivate', 'private', 'rslave', 'slave', 'nocopy'].includes(o)) throw invalid(`invalid mode: ${o}`);
    if (opts.some((o) => ['rslave', 'slave'].includes(o))) throw unsupported(`HostConfig.Binds "${b}": propagation ${opts.find((o) => /slave/.test(o))}`);
    await stat(source).catch(() => mkdir(source, { recursive: true }));
    out.push({ source: path.resolve(source), target, readonly: opts.includes('ro') });
  }
  return out;
}

/** `HostConfig.Mounts`: bind and tmpfs (volume mounts are refused). */
function mounts(entries: Json[]): { volumes: VolumeSpec[]; extra: ExtraMount[] } {
  const volumes: VolumeSpec[] = [];
  const extra: ExtraMount[] = [];
  for (const m of entries) {
    const type = String(m.Type ?? '');
    const target = String(m.Target ?? '');
    if (!target.startsWith('/')) throw invalid(`invalid mount config: mount path must be absolute: "${target}"`);
    const known = new Set(['Type', 'Source', 'Target', 'ReadOnly', 'Consistency', 'BindOptions', 'TmpfsOptions']);
    for (const [k, v] of Object.entries(m)) if (!known.has(k) && !isZero(v)) throw unsupported(`HostConfig.Mounts[].${k}`);
    if (type === 'bind') {
      const source = String(m.Source ?? '');
      if (!source.startsWith('/')) throw invalid(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
      const bo = (m.BindOptions ?? {}) as Json;
      if (!isZero(bo.Propagation) && !['rprivate', 'private'].includes(String(bo.Propagation))) throw unsupported(`HostConfig.Mounts[].BindOptions.Propagation "${String(bo.Propagation)}"`);
      for (const [k, v] of Object.entries(bo)) if (k !== 'Propagation' && !isZero(v)) throw unsupported(`HostConfig.Mounts[].BindOptions.${k}`);
      volumes.push({ source, target, readonly: m.ReadOnly === true });
    } else if (type === 'tmpfs') {
      if (!isZero(m.Source)) throw invalid('invalid mount config for type "tmpfs": source must not be specified');
      const to = (m.TmpfsOptions ?? {}) as Json;
      const options: string[] = [];
      if (num(to.SizeBytes) !== undefined) options.push(`size=${num(to.SizeBytes)}`);
      if (num(to.Mode) !== undefined) options.push(`mode=${(num(to.Mode)! & 0o7777).toString(8)}`);
      for (const [k, v] of Object.entries(to)) if (k !== 'SizeBytes' && k !== 'Mode' && !isZero(v)) throw unsupported(`HostConfig.Mounts[].TmpfsOptions.${k}`);
      extra.push({ type: 'tmpfs', source: '', target, readonly: m.ReadOnly === true, options });
    } else {
      throw unsupported(`HostConfig.Mounts[].Type "${type}"`, type === 'volume' ? 'named volumes are not implemented yet: use a bind mount' : undefined);
    }
  }
  return { volumes, extra };
}

function capabilities(field: string, v: unknown): string[] | undefined {
  const caps = strs(v);
  if (caps.length === 0) return undefined;
  for (const c of caps) {
    const n = capName(c);
    if (n !== 'ALL' && !ALL_CAPABILITIES.includes(n)) throw invalid(`${field}: unknown capability: "${c}"`);
  }
  return caps.map(capName);
}

/**
 * Maps a create body to CreateOptions (see the module comment). Throws BuildError
 * INVALID_ARGUMENT (400) naming the first refused or invalid field.
 */
export async function createOptions(body: Json, name: string | undefined): Promise<CreateOptions> {
  if (!body.Image) throw invalid('containers/create: Image is required');
  for (const [k, v] of Object.entries(body)) if (!CONFIG_FIELDS.has(k) && !isZero(v)) throw unsupported(`Config.${k}`);
  const hc = (body.HostConfig ?? {}) as Json;
  for (const [k, v] of Object.entries(hc)) if (!HOST_FIELDS.has(k) && !HOST_INFORMATIONAL.has(k) && !isZero(v)) throw unsupported(`HostConfig.${k}`);
  if (!isZero(body.Domainname)) throw unsupported('Config.Domainname');
  if (!isZero(body.Volumes)) throw unsupported('Config.Volumes (anonymous volumes)', 'bind a host path instead: -v /host/dir:/path');
  const hcheck = body.Healthcheck as Json | undefined;
  if (!isZero(hcheck) && !(Array.isArray(hcheck?.Test) && hcheck.Test[0] === 'NONE')) throw unsupported('Config.Healthcheck');

  const nm = String(hc.NetworkMode ?? '') || 'default';
  let network: 'none' | 'host' | 'sandbox';
  if (nm === 'host') network = 'host';
  else if (nm === 'none') network = 'none';
  // Docker's default (bridge) reaches the outside: here through slirp4netns, with no bridge.
  else if (nm === 'default' || nm === 'bridge') network = 'sandbox';
  else throw unsupported(`HostConfig.NetworkMode "${nm}"`, 'mybuild creates no bridges: the default network is user-mode (slirp4netns); use default, none or host');
  if (body.NetworkDisabled === true) network = 'none';
  // Docker's PortBindings {"80/tcp": [{HostIp, HostPort}]}, through the -p parser (published by slirp4netns).
  const portBindings = (hc.PortBindings ?? {}) as Record<string, { HostIp?: string; HostPort?: string }[] | null>;
  const publish = Object.entries(portBindings).flatMap(([port, binds]) =>
    (binds ?? []).map((b) => parsePublish(`${b.HostIp ? (b.HostIp.includes(':') ? `[${b.HostIp}]:` : `${b.HostIp}:`) : ''}${b.HostPort ?? ''}:${port}`)),
  );
  if (publish.length && network !== 'sandbox') throw invalid(`HostConfig.PortBindings: ports are published on the default network only (NetworkMode is "${nm}")`);
  const ep = ((body.NetworkingConfig ?? {}) as Json).EndpointsConfig as Json | undefined;
  for (const [k, v] of Object.entries(ep ?? {})) if (!isZero(v)) throw unsupported(`NetworkingConfig.EndpointsConfig["${k}"]`, 'mybuild creates no networks yet');
  for (const [k, v] of Object.entries((body.NetworkingConfig ?? {}) as Json)) if (k !== 'EndpointsConfig' && !isZero(v)) throw unsupported(`NetworkingConfig.${k}`);

  const restartPolicy = parseRestartPolicy(hc.RestartPolicy);
  if (restartPolicy && hc.AutoRemove === true) throw invalid(`can't create 'AutoRemove' container with restart policy`);
  const ipc = String(hc.IpcMode ?? '');
  if (!['', 'private', 'shareable'].includes(ipc)) throw unsupported(`HostConfig.IpcMode "${ipc}"`);
  if (!isZero(hc.PidMode)) throw unsupported(`HostConfig.PidMode "${String(hc.PidMode)}"`);
  const cgns = String(hc.CgroupnsMode ?? '');
  if (!['', 'host'].includes(cgns)) throw unsupported(`HostConfig.CgroupnsMode "${cgns}"`);
  if (!['', 'runc'].includes(String(hc.Runtime ?? ''))) throw unsupported(`HostConfig.Runtime "${String(hc.Runtime)}"`, 'the daemon runs its --runtime for every container');
  if (!['', 'default'].includes(String(hc.Isolation ?? ''))) throw unsupported(`HostConfig.Isolation "${String(hc.Isolation)}"`);
  // Older clients (docker-py) send Runtime at the top level, where dockerd takes no value: only runc's name is accepted.
  if (!['', 'runc'].includes(String(body.Runtime ?? ''))) throw unsupported(`Config.Runtime "${String(body.Runtime)}"`);

  const lc = (hc.LogConfig ?? {}) as Json;
  const logType = String(lc.Type ?? '') || 'json-file';
  if (logType !== 'json-file') {
    // dockerd's text for a driver it does not know; a known one is refused by name.
    if (!LOG_DRIVERS.has(logType)) throw invalid(`logger: no log driver named '${logType}' is registered`);
    throw unsupported(`HostConfig.LogConfig.Type "${logType}"`, 'mybuild logs in json-file format only');
  }
  if (!isZero(lc.Config)) throw unsupported(`HostConfig.LogConfig.Config (${Object.keys(lc.Config as Json).join(', ')})`, 'the json-file log is not rotated');

  const volumes = await binds(strs(hc.Binds));
  const fromMounts = mounts(Array.isArray(hc.Mounts) ? (hc.Mounts as Json[]) : []);
  volumes.push(...fromMounts.volumes);
  const extra: ExtraMount[] = [...fromMounts.extra];
  for (const [target, opts] of Object.entries((hc.Tmpfs ?? {}) as Record<string, string>)) {
    if (!target.startsWith('/')) throw invalid(`invalid tmpfs mount path: ${target}`);
    const options = String(opts ?? '').split(',').filter((o) => o !== '');
    extra.push({ type: 'tmpfs', source: '', target, readonly: options.includes('ro'), options: options.filter((o) => o !== 'ro' && o !== 'rw') });
  }

  const ulimits = (Array.isArray(hc.Ulimits) ? (hc.Ulimits as Json[]) : []).map((u) => {
    const n = String(u.Name ?? '');
    if (!ULIMITS.has(n)) throw invalid(`invalid ulimit type: ${n}`);
    const soft = Number(u.Soft ?? 0);
    const hard = Number(u.Hard ?? soft);
    if (soft > hard) throw invalid(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    return { name: n, soft, hard };
  });
  const sysctl = (hc.Sysctls ?? {}) as Record<string, string>;
  if (network === 'host' && Object.keys(sysctl).some((k) => k.startsWith('net.'))) throw invalid('sysctl net.* cannot be set with the host network');

  const env: string[] = [];
  const unsetEnv: string[] = [];
  for (const e of strs(body.Env)) {
    if (e.includes('=')) env.push(e);
    else if (e !== '') unsetEnv.push(e);
  }
  const settings: ContainerSettings = {
    ...(isZero(body.Labels) ? {} : { labels: body.Labels as Record<string, string> }),
    ...(unsetEnv.length ? { unsetEnv } : {}),
    ...(hc.ReadonlyRootfs === true ? { readonlyRootfs: true } : {}),
    ...(hc.Privileged === true ? { privileged: true } : {}),
    ...(capabilities('HostConfig.CapAdd', hc.CapAdd) ? { capAdd: capabilities('HostConfig.CapAdd', hc.CapAdd) } : {}),
    ...(capabilities('HostConfig.CapDrop', hc.CapDrop) ? { capDrop: capabilities('HostConfig.CapDrop', hc.CapDrop) } : {}),
    ...(extra.length ? { mounts: extra } : {}),
    ...((hc as { Init?: unknown }).Init === true ? { init: true } : {}),
    ...(strs(hc.ExtraHosts).length ? { extraHosts: strs(hc.ExtraHosts).map(checkHost) } : {}),
    ...(strs(hc.Dns).length ? { dns: strs(hc.Dns) } : {}),
    ...(strs(hc.DnsSearch).length ? { dnsSearch: strs(hc.DnsSearch) } : {}),
    ...(strs(hc.DnsOptions).length ? { dnsOptions: strs(hc.DnsOptions) } : {}),
    ...(strs(hc.GroupAdd).length ? { groupAdd: strs(hc.GroupAdd) } : {}),
    ...(ulimits.length ? { ulimits } : {}),
    ...(resources(hc) ? { resources: resources(hc) } : {}),
    ...(Object.keys(sysctl).length ? { sysctl } : {}),
    ...(num(hc.OomScoreAdj) !== undefined ? { oomScoreAdj: num(hc.OomScoreAdj) } : {}),
    ...(num(hc.ShmSize) !== undefined ? { shmSize: num(hc.ShmSize) } : {}),
    ...(typeof body.StopTimeout === 'number' ? { stopTimeout: body.StopTimeout } : {}),
    logConfig: { type: 'json-file', config: {} },
    ...(hc.Isolation === 'default' ? { isolation: 'default' } : {}),
    ...(restartPolicy ? { restartPolicy } : {}),
    ...(isZero(body.ExposedPorts) ? {} : { exposedPorts: body.ExposedPorts as Record<string, unknown> }),
    ...(strs(body.OnBuild).length ? { onBuild: strs(body.OnBuild) } : {}),
    ...(body.StdinOnce === true ? { stdinOnce: true } : {}),
    ...(Array.isArray(hc.ConsoleSize) && !isZero(hc.ConsoleSize) ? { consoleSize: hc.ConsoleSize as [number, number] } : {}),
  };
  const entrypoint = list(body.Entrypoint);
  return {
    image: String(body.Image),
    ...(name ? { name: name.replace(/^\//, '') } : {}),
    cmd: list(body.Cmd) ?? [],
    ...(entrypoint !== undefined ? { entrypoint: entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint } : {}),
    env,
    ...(body.WorkingDir ? { workdir: String(body.WorkingDir) } : {}),
    ...(body.User ? { user: String(body.User) } : {}),
    ...(body.Hostname ? { hostname: String(body.Hostname) } : {}),
    tty: body.Tty === true,
    openStdin: body.OpenStdin === true,
    network,
    ...(publish.length > 0 ? { publish } : {}),
    volumes,
    autoRemove: hc.AutoRemove === true,
    ...(body.StopSignal ? { stopSignal: String(body.StopSignal) } : {}),
    settings,
  };
}

/** HostConfig.RestartPolicy → the recorded policy (undefined for "" and "no"). Throws for an unknown name or a retry count without on-failure. */
export function parseRestartPolicy(v: unknown): ContainerSettings['restartPolicy'] {
  const rp = (v ?? {}) as Json;
  const name = String(rp.Name ?? '');
  const max = Number(rp.MaximumRetryCount ?? 0);
  if (name === '' || name === 'no') {
    if (max) throw invalid('invalid restart policy: maximum retry count can only be used with \'on-failure\'');
    return undefined;
  }
  if (name !== 'always' && name !== 'unless-stopped' && name !== 'on-failure') throw invalid(`invalid restart policy '${name}'`);
  if (max < 0) throw invalid('invalid restart policy: maximum retry count cannot be negative');
  if (max && name !== 'on-failure') throw invalid('invalid restart policy: maximum retry count can only be used with \'on-failure\'');
  return { name, maximumRetryCount: max };
}

/** `--add-host name:ip` (dockerd's `host-gateway` is refused: there is no bridge). */
function checkHost(h: string): string {
  const i = h.indexOf(':');
  if (i <= 0) throw invalid(`invalid extra host: ${h}: expected name:ip`);
  if (h.slice(i + 1) === 'host-gateway') throw unsupported(`HostConfig.ExtraHosts "${h}": host-gateway`);
  return h;
}
