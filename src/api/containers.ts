/**
 * The container documents daemon and client share: the `docker ps` row (GET /containers/json,
 * with Docker's STATUS text made once, here), the `docker inspect` document
 * (GET /containers/{id}/json), and the COMMAND column's text.
 */
import type { Container, ContainerConfigRecord, VolumeSpec } from '../containers/manager.js';
import type { PublishedPort } from '../runtime/usernet.js';
import { createdSince, humanDuration } from '../store/display.js';
import type { ApiContainer } from './types.js';

/** One `ps` row's facts (GET /containers/json's Id, Names[0], Image, Command, Created, State, Status). */
export interface ContainerSummary {
  id: string;
  name: string;
  /** The image as the user named it. */
  image: string;
  /** The command joined by spaces. */
  command: string;
  /** RFC 3339 creation time, in whole seconds (the Engine API's precision, so both engines show the same CREATED). */
  created: string;
  state: Container['state']['status'];
  /** Docker's STATUS text (statusText). */
  status: string;
  /** The image ID (config digest); '' when the daemon does not say. */
  imageId?: string;
  /** Exit code of an exited container. */
  exitCode?: number;
  /** The container's labels (the daemon's create sets them; `mybuild run` none yet). */
  labels?: Record<string, string>;
  /** Host paths of the bind mounts. */
  mounts?: string[];
  /** The names of the networks it is attached to (GET /containers/json NetworkSettings.Networks: mybuild lists none yet). */
  networks?: string[];
  /** The published ports of a running container (none otherwise); `hostIp` absent for 0.0.0.0. */
  ports: PublishedPort[];
}

/** Docker's NetworkMode name of a mybuild network (`sandbox` is Docker's `default`). */
export function networkModeName(n: ContainerConfigRecord['network']): string {
  return n === 'sandbox' ? 'default' : n;
}

/** Docker's PORTS text: `127.0.0.1:8080->80/tcp, 0.0.0.0:53->53/udp`. */
export function publishedText(ports: PublishedPort[]): string {
  return ports.map((p) => `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}

/** Docker's STATUS text: `Created`, `Up 5 seconds`, `Exited (0) 3 minutes ago`. */
export function statusText(c: Container, now = Date.now()): string {
  const s = c.state;
  if (s.status === 'created') return 'Created';
  if (s.status === 'running') return `Up ${humanDuration(Math.max(0, now - Date.parse(s.startedAt ?? c.config.created)))}`;
  return `Exited (${s.exitCode ?? 0}) ${createdSince(s.finishedAt, now)}`;
}

/** Docker's COMMAND column from the command joined by spaces (as GET /containers/json's `Command`): cut to 20 characters with "…", quoted. */
export function commandText(command: string, trunc = true): string {
  let s = command;
  if (trunc && [...s].length > 20) s = `${[...s].slice(0, 19).join('')}…`;
  return JSON.stringify(s);
}

/** An RFC 3339 time cut to whole seconds (unchanged when it does not parse). */
export function wholeSeconds(t: string): string {
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? t : new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

/** The `ps` row of a container, its STATUS text as of `now`. */
export function containerSummary(c: Container, now = Date.now()): ContainerSummary {
  const ports = c.state.status !== 'running' ? [] : (c.config.publish ?? []).map(({ hostIp, ...p }) => ({ ...(hostIp && hostIp !== '0.0.0.0' ? { hostIp } : {}), ...p }));
  return {
    id: c.id,
    name: c.name,
    image: c.config.image,
    command: c.config.command.join(' '),
    created: wholeSeconds(c.config.created),
    state: c.state.status,
    status: statusText(c, now),
    imageId: c.config.imageId,
    ...(c.state.status === 'exited' ? { exitCode: c.state.exitCode ?? 0 } : {}),
    labels: c.config.settings?.labels ?? {},
    mounts: c.config.volumes.map((v) => v.source),
    networks: [],
    ports,
  };
}

/**
 * What the filters read of a container beyond its `ps` row (src/api/filters.ts FilterContainer):
 * volume=, network=, publish=/expose=, and the creation time at full precision for before=/since=
 * (the row's is cut to seconds, so containers made in one second would not order).
 */
export function containerFilterFacts(c: Container): { created: string; volumePaths: string[]; network: string; portKeys: string[] } {
  return {
    created: c.config.created,
    volumePaths: c.config.volumes.flatMap((v) => [v.source, v.target, ...(v.volume ? [v.volume] : [])]),
    // The network it was created on (a `default` container is on bridge); not yet the ones connected later.
    network: c.config.networkMode === 'default' ? 'bridge' : (c.config.networkMode ?? networkModeName(c.config.network)),
    portKeys: [...new Set([...Object.keys(c.config.settings?.exposedPorts ?? {}), ...(c.config.publish ?? []).map((p) => `${p.containerPort}/${p.protocol}`)])],
  };
}

/** A `GET /containers/json` entry (Docker's keys; Ports: the published ports of a running container). */
export function containerListEntry(c: Container, now = Date.now()): ApiContainer {
  const s = containerSummary(c, now);
  return {
    Id: s.id,
    Names: [`/${s.name}`],
    Image: s.image,
    ImageID: c.config.imageId,
    Command: s.command,
    Created: Math.floor(Date.parse(s.created) / 1000),
    State: s.state,
    Status: s.status,
    Ports: s.ports.map((p) => ({ IP: p.hostIp ?? '0.0.0.0', PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol })),
    Labels: s.labels ?? {},
    Mounts: mountsOf(c),
    HostConfig: { NetworkMode: c.config.networkMode ?? networkModeName(c.config.network) },
    NetworkSettings: { Networks: {} },
  };
}

/** The `ps` row of a `GET /containers/json` entry (the client side of containerListEntry). */
export function summaryOfListEntry(e: ApiContainer): ContainerSummary {
  const exited = /^Exited \((\d+)\)/.exec(e.Status);
  const ports = (e.Ports ?? [])
    .filter((p) => p.PublicPort !== undefined)
    .map((p) => ({ ...(p.IP && p.IP !== '0.0.0.0' ? { hostIp: p.IP } : {}), hostPort: p.PublicPort!, containerPort: p.PrivatePort, protocol: p.Type === 'udp' ? ('udp' as const) : ('tcp' as const) }));
  return {
    id: e.Id,
    name: (e.Names[0] ?? '').replace(/^\//, ''),
    image: e.Image,
    command: e.Command,
    created: new Date(e.Created * 1000).toISOString(),
    state: e.State,
    status: e.Status,
    imageId: e.ImageID,
    ...(e.State === 'exited' && exited ? { exitCode: Number(exited[1]) } : {}),
    labels: e.Labels ?? {},
    mounts: (e.Mounts as Array<{ Source?: string }>).map((m) => m.Source ?? ''),
    networks: Object.keys(e.NetworkSettings?.Networks ?? {}),
    ports,
  };
}

/** The `GET /containers/{id}/json` document. */
export function inspectContainer(c: Container): Record<string, unknown> {
  const s = c.state;
  const running = s.status === 'running';
  const st = c.config.settings ?? {};
  return {
    Id: c.id,
    Created: c.config.created,
    Path: c.config.command[0],
    Args: c.config.command.slice(1),
    State: {
      Status: s.status,
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? (s.ownerPid ?? 0) : 0,
      ExitCode: s.exitCode ?? 0,
      Error: s.error ?? '',
      StartedAt: s.startedAt ?? '0001-01-01T00:00:00Z',
      FinishedAt: s.finishedAt ?? '0001-01-01T00:00:00Z',
    },
    Image: c.config.imageId,
    Name: `/${c.name}`,
    RestartCount: 0,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: hostConfigOf(c),
    Mounts: mountsOf(c),
    Config: {
      Hostname: c.config.hostname,
      User: c.config.user,
      Tty: c.config.tty,
      OpenStdin: c.config.openStdin,
      // Keys sent without '=' stay listed, as dockerd keeps them in Config.Env (they unset the image's value).
      Env: [...c.config.env, ...(st.unsetEnv ?? [])],
      Cmd: c.config.command,
      Image: c.config.image,
      WorkingDir: c.config.workdir,
      Entrypoint: null,
      Labels: st.labels ?? {},
      OnBuild: st.onBuild ?? null,
      ...(st.healthcheck ? { Healthcheck: st.healthcheck } : {}),
      ExposedPorts: st.exposedPorts ?? null,
      StdinOnce: st.stdinOnce === true,
      Domainname: '',
      Volumes: st.configVolumes ? Object.fromEntries(st.configVolumes.map((v) => [v, {}])) : null,
      ...(c.config.stopSignal ? { StopSignal: c.config.stopSignal } : {}),
      ...(st.stopTimeout !== undefined ? { StopTimeout: st.stopTimeout } : {}),
    },
    NetworkSettings: { Networks: {}, Ports: running ? portsOf(c) : {} },
  };
}

/** Inspect's NetworkSettings.Ports: each exposed or published port, with its host bindings (null when not published). */
export function portsOf(c: Container): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const k of Object.keys(c.config.settings?.exposedPorts ?? {})) out[k.includes('/') ? k : `${k}/tcp`] = null;
  for (const p of c.config.publish ?? []) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp ?? '0.0.0.0', HostPort: String(p.hostPort) });
  return out;
}

/** The `Mounts` of inspect and list: binds (`-v`, `--mount type=bind`) and tmpfs mounts. */
export function mountsOf(c: Container): Record<string, unknown>[] {
  return [
    ...(c.config.volumes ?? []).map((v) =>
      v.volume
        ? { Type: 'volume', Name: v.volume, Source: v.source, Destination: v.target, Driver: 'local', Mode: v.origin === 'binds' ? 'z' : '', RW: !v.readonly, Propagation: '' }
        : { Type: 'bind', Source: v.source, Destination: v.target, Mode: v.readonly ? 'ro' : '', RW: !v.readonly, Propagation: 'rprivate' },
    ),
    ...(c.config.settings?.mounts ?? []).filter((m) => m.type === 'tmpfs').map((m) => ({ Type: 'tmpfs', Source: '', Destination: m.target, Mode: '', RW: !m.readonly, Propagation: '' })),
  ];
}

/** Inspect's `HostConfig.Binds`: the `-v` entries as given (host paths and named volumes). */
function bindsOf(c: Container): string[] | null {
  const b = c.config.volumes.filter((v) => (v.origin ?? 'binds') === 'binds');
  const mode = (v: VolumeSpec): string => [v.readonly ? 'ro' : '', v.nocopy ? 'nocopy' : ''].filter(Boolean).join(',');
  return b.length ? b.map((v) => `${v.volume ?? v.source}:${v.target}${mode(v) ? `:${mode(v)}` : ''}`) : null;
}

/** Docker's HostConfig.PortBindings (`{"80/tcp": [{HostIp, HostPort}]}`) of the published ports. */
export function portBindingsOf(ports: readonly PublishedPort[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp && p.hostIp !== '0.0.0.0' ? p.hostIp : '', HostPort: String(p.hostPort) });
  return out;
}

/** Inspect's `HostConfig`: what the container was created with, in dockerd's keys and zero values. */
export function hostConfigOf(c: Container): Record<string, unknown> {
  const st = c.config.settings ?? {};
  const r = st.resources ?? {};
  const cpuQuota = r.cpu?.quota ?? 0;
  const nano = r.cpu?.period === 100000 && cpuQuota ? (cpuQuota * 1e9) / 100000 : 0;
  return {
    Binds: bindsOf(c),
    ContainerIDFile: '',
    LogConfig: { Type: st.logConfig?.type ?? 'json-file', Config: st.logConfig?.config ?? {} },
    NetworkMode: c.config.networkMode ?? networkModeName(c.config.network),
    PortBindings: portBindingsOf(c.config.publish ?? []),
    RestartPolicy: { Name: st.restartPolicy?.name ?? 'no', MaximumRetryCount: st.restartPolicy?.maximumRetryCount ?? 0 },
    AutoRemove: c.config.autoRemove,
    VolumeDriver: st.volumeDriver ?? '',
    VolumesFrom: st.volumesFrom ?? null,
    CapAdd: st.capAdd ?? null,
    CapDrop: st.capDrop ?? null,
    CgroupnsMode: 'host',
    Dns: st.dns ?? [],
    DnsOptions: st.dnsOptions ?? [],
    DnsSearch: st.dnsSearch ?? [],
    ExtraHosts: st.extraHosts ?? null,
    GroupAdd: st.groupAdd ?? null,
    IpcMode: st.hostNamespaces?.includes('ipc') ? 'host' : 'private',
    Cgroup: '',
    Links: null,
    OomScoreAdj: st.oomScoreAdj ?? 0,
    PidMode: st.hostNamespaces?.includes('pid') ? 'host' : '',
    Privileged: st.privileged === true,
    PublishAllPorts: false,
    ReadonlyRootfs: st.readonlyRootfs === true,
    SecurityOpt: null,
    Tmpfs: Object.fromEntries((st.mounts ?? []).filter((m) => m.type === 'tmpfs').map((m) => [m.target, [...m.options, ...(m.readonly ? ['ro'] : [])].join(',')])),
    UTSMode: st.hostNamespaces?.includes('uts') ? 'host' : '',
    UsernsMode: '',
    ShmSize: st.shmSize ?? 67108864,
    Sysctls: st.sysctl ?? {},
    Runtime: 'runc',
    Isolation: st.isolation ?? '',
    CpuShares: r.cpu?.shares ?? 0,
    Memory: r.memory?.limit ?? 0,
    NanoCpus: nano,
    CgroupParent: '',
    CpuPeriod: nano ? 0 : (r.cpu?.period ?? 0),
    CpuQuota: nano ? 0 : cpuQuota,
    CpusetCpus: r.cpu?.cpus ?? '',
    CpusetMems: r.cpu?.mems ?? '',
    Devices: [],
    DeviceCgroupRules: st.deviceCgroupRules ?? null,
    MemoryReservation: r.memory?.reservation ?? 0,
    MemorySwap: r.memory?.swap ?? 0,
    MemorySwappiness: r.memory?.swappiness ?? null,
    OomKillDisable: r.memory?.disableOOMKiller === true,
    PidsLimit: r.pids?.limit ?? null,
    Ulimits: (st.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    Init: st.init === true ? true : null,
    Mounts: [
      ...c.config.volumes.filter((v) => v.origin === 'mounts').map((v) => ({ Type: v.volume ? 'volume' : 'bind', Source: v.volume ?? v.source, Target: v.target, ReadOnly: v.readonly })),
      ...(st.mounts ?? []).map((m) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readonly })),
    ],
  };
}
