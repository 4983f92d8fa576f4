/**
 * The container documents daemon and client share: the `docker ps` row (GET /containers/json,
 * with Docker's STATUS text made once, here), the `docker inspect` document
 * (GET /containers/{id}/json), and the COMMAND column's text.
 */
import type { Container, ContainerConfigRecord } from '../containers/manager.js';
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
  /** The container's labels (mybuild's containers carry none yet). */
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
    labels: {},
    mounts: c.config.volumes.map((v) => v.source),
    networks: [],
    ports,
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
    Mounts: c.config.volumes.map((v) => ({ Type: 'bind', Source: v.source, Destination: v.target, Mode: v.readonly ? 'ro' : '', RW: !v.readonly, Propagation: 'rprivate' })),
    HostConfig: { NetworkMode: networkModeName(c.config.network) },
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
    HostConfig: { AutoRemove: c.config.autoRemove, NetworkMode: networkModeName(c.config.network), Binds: c.config.volumes.map((v) => `${v.source}:${v.target}${v.readonly ? ':ro' : ''}`) },
    Mounts: c.config.volumes.map((v) => ({ Type: 'bind', Source: v.source, Destination: v.target, RW: !v.readonly })),
    Config: {
      Hostname: c.config.hostname,
      User: c.config.user,
      Tty: c.config.tty,
      OpenStdin: c.config.openStdin,
      Env: c.config.env,
      Cmd: c.config.command,
      Image: c.config.image,
      WorkingDir: c.config.workdir,
      Entrypoint: null,
      Labels: {},
      ...(c.config.stopSignal ? { StopSignal: c.config.stopSignal } : {}),
    },
    NetworkSettings: { Networks: {} },
  };
}
