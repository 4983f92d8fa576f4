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
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import type { PublishedPort } from '../runtime/usernet.js';
import type { ContainerSettings, ExtraMount } from '../containers/settings.js';
import type { ContainerResources } from '../runtime/spec.js';
import type { HealthConfig } from '../oci/types.js';
import { ALL_CAPABILITIES, capName } from '../runtime/spec.js';

type Json = Record<string, unknown>;

/** Whether `v` is a zero value (what a client sends for "not set"). */
export function isZero(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Json).every(isZero);
  return false;
}

/** Whether `v` is a map with at least one key (labels and ports with empty values count: `{"a": ""}`, `{"80/tcp": {}}`). */
export function hasKeys(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0;
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
  'CpusetMems', 'PidsLimit', 'Ulimits', 'Mounts', 'RestartPolicy', 'Init', 'PortBindings', 'VolumesFrom', 'VolumeDriver', 'UTSMode', 'DeviceCgroupRules',
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
    if (parts.length < 2 || parts.length > 3 || !target?.startsWith('/')) throw invalid(`invalid volume specification: '${b}'`);
    const opts = mode.split(',').filter((o) => o !== '');
    for (const o of opts) if (!['ro', 'rw', 'z', 'Z', 'rprivate', 'private', 'rslave', 'slave', 'nocopy'].includes(o)) throw invalid(`invalid mode: ${o}`);
    if (opts.some((o) => ['rslave', 'slave'].includes(o))) throw unsupported(`HostConfig.Binds "${b}": propagation ${opts.find((o) => /slave/.test(o))}`);
    if (!source.startsWith('/')) {
      // A named volume (created at create when missing, as dockerd does).
      out.push({ source: '', target, readonly: opts.includes('ro'), volume: source, ...(opts.includes('nocopy') ? { nocopy: true } : {}), origin: 'binds' });
      continue;
    }
    if (opts.includes('nocopy')) throw invalid(`invalid mode: nocopy: it applies to named volumes, not to the bind of ${source}`);
    await stat(source).catch(() => mkdir(source, { recursive: true }));
    out.push({ source: path.resolve(source), target, readonly: opts.includes('ro') });
  }
  return out;
}

/** `HostConfig.Mounts`: bind, volume (named, or anonymous without a Source) and tmpfs. */
function mounts(entries: Json[]): { volumes: VolumeSpec[]; extra: ExtraMount[]; anonymous: string[] } {
  const volumes: VolumeSpec[] = [];
  const extra: ExtraMount[] = [];
  const anonymous: string[] = [];
  for (const m of entries) {
    const type = String(m.Type ?? '');
    const target = String(m.Target ?? '');
    if (!target.startsWith('/')) throw invalid(`invalid mount config: mount path must be absolute: "${target}"`);
    const known = new Set(['Type', 'Source', 'Target', 'ReadOnly', 'Consistency', 'BindOptions', 'TmpfsOptions', ...(type === 'volume' ? ['VolumeOptions'] : [])]);
    for (const [k, v] of Object.entries(m)) if (!known.has(k) && !isZero(v)) throw unsupported(`HostConfig.Mounts[].${k}`);
    if (type === 'bind') {
      const source = String(m.Source ?? '');
      if (!source.startsWith('/')) throw invalid(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
      const bo = (m.BindOptions ?? {}) as Json;
      if (!isZero(bo.Propagation) && !['rprivate', 'private'].includes(String(bo.Propagation))) throw unsupported(`HostConfig.Mounts[].BindOptions.Propagation "${String(bo.Propagation)}"`);
      for (const [k, v] of Object.entries(bo)) if (k !== 'Propagation' && !isZero(v)) throw unsupported(`HostConfig.Mounts[].BindOptions.${k}`);
      volumes.push({ source, target, readonly: m.ReadOnly === true, origin: 'mounts' });
    } else if (type === 'volume') {
      const vo = (m.VolumeOptions ?? {}) as Json;
      for (const [k, v] of Object.entries(vo)) if (!['NoCopy', 'Labels', 'DriverConfig'].includes(k) && !isZero(v)) throw unsupported(`HostConfig.Mounts[].VolumeOptions.${k}`);
      const dc = (vo.DriverConfig ?? {}) as Json;
      const source = String(m.Source ?? '');
      if (!source) {
        if (!isZero(vo)) throw invalid('invalid mount config for type "volume": VolumeOptions need a named volume (Source)');
        anonymous.push(target);
        continue;
      }
      volumes.push({
        source: '',
        target,
        readonly: m.ReadOnly === true,
        volume: source,
        ...(vo.NoCopy === true ? { nocopy: true } : {}),
        origin: 'mounts',
        create: {
          ...(!hasKeys(vo.Labels) ? {} : { labels: vo.Labels as Record<string, string> }),
          ...(!hasKeys(dc.Options) ? {} : { options: dc.Options as Record<string, string> }),
          ...(dc.Name ? { driver: String(dc.Name) } : {}),
        },
      });
    } else if (type === 'tmpfs') {
      if (!isZero(m.Source)) throw invalid('invalid mount config for type "tmpfs": source must not be specified');
      const to = (m.TmpfsOptions ?? {}) as Json;
      const options: string[] = [];
      if (num(to.SizeBytes) !== undefined) options.push(`size=${num(to.SizeBytes)}`);
      if (num(to.Mode) !== undefined) options.push(`mode=${(num(to.Mode)! & 0o7777).toString(8)}`);
      for (const [k, v] of Object.entries(to)) if (k !== 'SizeBytes' && k !== 'Mode' && !isZero(v)) throw unsupported(`HostConfig.Mounts[].TmpfsOptions.${k}`);
      extra.push({ type: 'tmpfs', source: '', target, readonly: m.ReadOnly === true, options });
    } else {
      throw unsupported(`HostConfig.Mounts[].Type "${type}"`);
    }
  }
  return { volumes, extra, anonymous };
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
  const healthcheck = parseHealthcheck(body.Healthcheck);

  const nm = String(hc.NetworkMode ?? '') || 'default';
  let network: 'none' | 'host' | 'bridge';
  if (nm === 'host') network = 'host';
  else if (nm === 'none') network = 'none';
  else if (nm.startsWith('container:')) throw unsupported(`HostConfig.NetworkMode "${nm}"`, 'share a user-defined network instead: docker network create NET, then --network NET for both');
  // `default` (docker run without --network) joins `bridge`, as with dockerd; `bridge` and
  // user-defined networks are the daemon's networks (src/containers/networks), checked by the create route.
  else network = 'bridge';
  if (body.NetworkDisabled === true) network = 'none';
  // Docker's PortBindings {"80/tcp": [{HostIp, HostPort}]}, through the -p parser (published by slirp4netns).
  const portBindings = (hc.PortBindings ?? {}) as Record<string, { HostIp?: string; HostPort?: string }[] | null>;
  const publish: PublishedPort[] = [];
  for (const [port, list] of Object.entries(portBindings)) {
    for (const b of list ?? []) {
      const ip = b.HostIp ? (b.HostIp.includes(':') ? `[${b.HostIp}]:` : `${b.HostIp}:`) : '';
      // No HostPort: a free port of the host, as dockerd picks one (here at create).
      const hostPort = b.HostPort || String(await freePort(b.HostIp || '0.0.0.0', port.endsWith('/udp') ? 'udp' : 'tcp'));
      publish.push(parsePublish(`${ip}${hostPort}:${port}`));
    }
  }
  if (publish.length && network !== 'bridge') throw invalid(`HostConfig.PortBindings: ports cannot be published with NetworkMode "${nm}"`);
  const ep = ((body.NetworkingConfig ?? {}) as Json).EndpointsConfig as Json | undefined;
  if (network !== 'bridge') for (const [k, v] of Object.entries(ep ?? {})) if (!isZero(v)) throw unsupported(`NetworkingConfig.EndpointsConfig["${k}"] with NetworkMode "${nm}"`, 'endpoint settings apply to user-defined networks and bridge');
  for (const [k, v] of Object.entries((body.NetworkingConfig ?? {}) as Json)) if (k !== 'EndpointsConfig' && !isZero(v)) throw unsupported(`NetworkingConfig.${k}`);

  const restartPolicy = parseRestartPolicy(hc.RestartPolicy);
  if (restartPolicy && hc.AutoRemove === true) throw invalid(`can't create 'AutoRemove' container with restart policy`);
  const ipc = String(hc.IpcMode ?? '');
  if (!['', 'private', 'shareable', 'host'].includes(ipc)) throw unsupported(`HostConfig.IpcMode "${ipc}"`);
  const pidMode = String(hc.PidMode ?? '');
  if (!['', 'host'].includes(pidMode)) throw unsupported(`HostConfig.PidMode "${pidMode}"`, 'only "host" (the host\'s PID namespace) is supported');
  const utsMode = String(hc.UTSMode ?? '');
  if (!['', 'host'].includes(utsMode)) throw unsupported(`HostConfig.UTSMode "${utsMode}"`);
  if (utsMode === 'host' && !isZero(body.Hostname)) throw invalid('Conflicting options: hostname and the UTS mode');
  const hostNamespaces = [...(pidMode === 'host' ? ['pid' as const] : []), ...(utsMode === 'host' ? ['uts' as const] : []), ...(ipc === 'host' ? ['ipc' as const] : [])];
  const deviceRules = strs(hc.DeviceCgroupRules).map(parseDeviceRule);
  const cgns = String(hc.CgroupnsMode ?? '');
  if (!['', 'host'].includes(cgns)) throw unsupported(`HostConfig.CgroupnsMode "${cgns}"`);
  if (!['', 'runc'].includes(String(hc.Runtime ?? ''))) throw unsupported(`HostConfig.Runtime "${String(hc.Runtime)}"`, 'the daemon runs its --runtime for every container');
  if (!['', 'default'].includes(String(hc.Isolation ?? ''))) throw unsupported(`HostConfig.Isolation "${String(hc.Isolation)}"`);
  // Older clients (docker-py) send Runtime at the top level, where dockerd takes no value: only runc's name is accepted.
  if (!['', 'runc'].includes(String(body.Runtime ?? ''))) throw unsupported(`Config.Runtime "${String(body.Runtime)}"`);

  const logConfig = parseLogConfig((hc.LogConfig ?? {}) as Json);

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
    ...(!hasKeys(body.Labels) ? {} : { labels: body.Labels as Record<string, string> }),
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
    logConfig,
    ...(hc.Isolation === 'default' ? { isolation: 'default' } : {}),
    ...(restartPolicy ? { restartPolicy } : {}),
    ...(!hasKeys(body.ExposedPorts) ? {} : { exposedPorts: body.ExposedPorts as Record<string, unknown> }),
    ...(strs(body.OnBuild).length ? { onBuild: strs(body.OnBuild) } : {}),
    ...(body.StdinOnce === true ? { stdinOnce: true } : {}),
    ...(Array.isArray(hc.ConsoleSize) && !isZero(hc.ConsoleSize) ? { consoleSize: hc.ConsoleSize as [number, number] } : {}),
    ...(healthcheck ? { healthcheck } : {}),
    ...(hostNamespaces.length ? { hostNamespaces } : {}),
    ...(deviceRules.length ? { deviceCgroupRules: strs(hc.DeviceCgroupRules) } : {}),
    ...(strs(hc.VolumesFrom).length ? { volumesFrom: strs(hc.VolumesFrom) } : {}),
    ...(hc.VolumeDriver ? { volumeDriver: String(hc.VolumeDriver) } : {}),
    ...(body.Volumes && typeof body.Volumes === 'object' && Object.keys(body.Volumes).length ? { configVolumes: Object.keys(body.Volumes) } : {}),
  };
  const entrypoint = list(body.Entrypoint);
  const configVolumes = body.Volumes && typeof body.Volumes === 'object' ? Object.keys(body.Volumes as Json) : [];
  for (const v of configVolumes) if (!v.startsWith('/')) throw invalid(`invalid volume: ${v}: the path must be absolute`);
  const anonymousVolumes = [...configVolumes, ...fromMounts.anonymous];
  const volumesFrom = strs(hc.VolumesFrom);
  for (const f of volumesFrom) if (!/^[^:]+(:(ro|rw))?$/.test(f)) throw invalid(`invalid volumes-from: ${f}: expected CONTAINER[:ro|rw]`);
  return {
    ...(anonymousVolumes.length ? { anonymousVolumes } : {}),
    ...(volumesFrom.length ? { volumesFrom } : {}),
    ...(hc.VolumeDriver ? { volumeDriver: String(hc.VolumeDriver) } : {}),
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
    ...(network === 'bridge' ? { networkMode: nm } : {}),
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

/** Config.Healthcheck, checked as dockerd does (Test's first word, durations of at least 1 ms, retries not negative). */
function parseHealthcheck(v: unknown): HealthConfig | undefined {
  if (isZero(v)) return undefined;
  const h = v as Json;
  for (const k of Object.keys(h)) if (!['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'].includes(k) && !isZero(h[k])) throw unsupported(`Config.Healthcheck.${k}`);
  const test = strs(h.Test);
  if (test.length && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0])) throw invalid(`Config.Healthcheck.Test: unknown type "${test[0]}": expected NONE, CMD or CMD-SHELL`);
  const out: HealthConfig = { ...(test.length ? { Test: test } : {}) };
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const n = Number(h[k] ?? 0);
    if (n < 0 || (n > 0 && n < 1e6)) throw invalid(`${k} in Healthcheck cannot be less than 1ms`);
    if (n) out[k] = n;
  }
  const retries = Number(h.Retries ?? 0);
  if (retries < 0) throw invalid('Retries in Healthcheck cannot be negative');
  if (retries) out.Retries = retries;
  return out;
}

/** A `--device-cgroup-rule` (`c 7:128 rwm`, `a *:* rwm`, `b 8:* r`), checked as dockerd does. */
function parseDeviceRule(rule: string): { allow: boolean; type: 'a' | 'b' | 'c'; major?: number; minor?: number; access: string } {
  const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule.trim());
  if (!m) throw invalid(`invalid device cgroup rule format: '${rule}'`);
  return { allow: true, type: m[1] as 'a' | 'b' | 'c', ...(m[2] !== '*' ? { major: Number(m[2]) } : {}), ...(m[3] !== '*' ? { minor: Number(m[3]) } : {}), access: m[4] };
}

/** json-file's options dockerd accepts and mybuild applies: max-size (rotation) and max-file. */
const JSON_FILE_OPTIONS = new Set(['max-size', 'max-file']);

/** HostConfig.LogConfig: json-file with max-size/max-file, or none (no log kept). */
function parseLogConfig(lc: Json): { type: string; config: Record<string, string> } {
  const type = String(lc.Type ?? '') || 'json-file';
  const config = (isZero(lc.Config) ? {} : lc.Config) as Record<string, string>;
  if (type === 'none') {
    if (Object.keys(config).length) throw invalid(`unknown log opt '${Object.keys(config)[0]}' for none log driver`);
    return { type, config: {} };
  }
  if (type !== 'json-file') {
    // dockerd's text for a driver it does not know; a known one is refused by name.
    if (!LOG_DRIVERS.has(type)) throw invalid(`logger: no log driver named '${type}' is registered`);
    throw unsupported(`HostConfig.LogConfig.Type "${type}"`, 'mybuild logs in json-file format (or none)');
  }
  for (const k of Object.keys(config)) {
    if (['compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'].includes(k)) throw unsupported(`HostConfig.LogConfig.Config "${k}"`, 'json-file takes max-size and max-file here');
    if (!JSON_FILE_OPTIONS.has(k)) throw invalid(`unknown log opt '${k}' for json-file log driver`);
  }
  if (config['max-file'] !== undefined && !(Number(config['max-file']) >= 1)) throw invalid('max-file cannot be less than 1');
  if (config['max-size'] !== undefined) parseSize(config['max-size']);
  return { type, config };
}

/** docker's RAMInBytes: `10m`, `1k`, `512` (binary units). Throws for anything else. */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v.trim());
  if (!m) throw invalid(`invalid size: '${v}'`);
  return Math.floor(Number(m[1]) * 1024 ** ' kmgtp'.indexOf(m[2].toLowerCase() || ' '));
}

/** A port the host's kernel gives out as free on `ip` (bound and released at once). */
function freePort(ip: string, protocol: 'tcp' | 'udp'): Promise<number> {
  return new Promise((resolve, reject) => {
    if (protocol === 'udp') {
      const sock = createSocket(ip.includes(':') ? 'udp6' : 'udp4');
      sock.on('error', reject);
      sock.bind(0, ip, () => {
        const { port } = sock.address();
        sock.close(() => resolve(port));
      });
      return;
    }
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, ip, () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}
