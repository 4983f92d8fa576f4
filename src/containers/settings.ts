/**
 * The `docker create` settings beyond image, command and I/O that a container keeps in its
 * record (`ContainerConfigRecord.settings`) and runs with: labels, read-only rootfs,
 * capabilities, privileged, tmpfs and bind mounts, init, /etc/hosts and DNS entries, extra
 * groups, ulimits, cgroup limits, sysctls, log config. The daemon's create route fills it from
 * the Engine API body (src/daemon/create-request.ts); `toRunSettings` and `execSpecFields` turn
 * it into what the runtime applies. Pure.
 */
import type { ContainerResources, ContainerRunSettings, ExecSpec } from '../runtime/spec.js';
import type { Mount } from '../runtime/mount.js';
import type { HealthConfig } from '../oci/types.js';
import { inUserNamespace } from '../runtime/userns.js';
import { UsageError } from '../errors.js';

/** A tmpfs or bind mount of `--mount`/`--tmpfs` (binds of `-v` stay in `volumes`). */
export interface ExtraMount {
  type: 'tmpfs' | 'bind';
  /** Host path for a bind; unused for tmpfs. */
  source: string;
  target: string;
  readonly: boolean;
  /** tmpfs options (`size=64m`, `mode=1777`, …) or bind propagation (`rprivate`, …). */
  options: string[];
}

export interface ContainerSettings {
  labels?: Record<string, string>;
  /** Keys (`KEY`, no `=`) removed from the image's environment. */
  unsetEnv?: string[];
  readonlyRootfs?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  mounts?: ExtraMount[];
  /** Run tini (`docker-init`) as PID 1. */
  init?: boolean;
  extraHosts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** Groups (names or numbers) added to the user's supplementary groups. */
  groupAdd?: string[];
  ulimits?: { name: string; soft: number; hard: number }[];
  resources?: ContainerResources;
  sysctl?: Record<string, string>;
  oomScoreAdj?: number;
  shmSize?: number;
  /** Seconds `stop` waits before SIGKILL (default 10). */
  stopTimeout?: number;
  /** `json-file` (the only driver) and its options. */
  logConfig?: { type: string; config: Record<string, string> };
  /** Recorded as given (Config.ExposedPorts, Config.OnBuild, Config.Domainname …) for inspect. */
  exposedPorts?: Record<string, unknown>;
  onBuild?: string[];
  stdinOnce?: boolean;
  consoleSize?: [number, number];
  /** HostConfig.RestartPolicy (the daemon restarts the container by it when it exits on its own). */
  restartPolicy?: { name: 'always' | 'unless-stopped' | 'on-failure'; maximumRetryCount: number };
  /** HostConfig.Isolation as given ('default' or absent). */
  isolation?: string;
  /** As given, for inspect (applied by `create`: CreateOptions.volumesFrom, volumeDriver, anonymousVolumes). */
  volumesFrom?: string[];
  volumeDriver?: string;
  configVolumes?: string[];
  /** Namespaces shared with the host (`--pid host`, `--uts host`, `--ipc host`). */
  hostNamespaces?: ('pid' | 'uts' | 'ipc')[];
  /** `--device-cgroup-rule` entries as given (`c 7:128 rwm`). */
  deviceCgroupRules?: string[];
  /** The healthcheck (the create's merged over the image's; health.ts runs it in the daemon). */
  healthcheck?: HealthConfig;
}

/** Where tini is bind-mounted in the container (dockerd's path). */
export const INIT_PATH = '/sbin/docker-init';

/**
 * The runtime's view of `s` for container `id`. Rootless, the container gets no cgroup of its
 * own (cgroups v1 are not delegated to users: runc could not create `/mybuild/<id>`), so limits
 * are refused there rather than dropped.
 */
export function toRunSettings(s: ContainerSettings, id: string): ContainerRunSettings {
  const rootless = inUserNamespace();
  if (rootless && s.resources && Object.values(s.resources).some((group) => group && Object.values(group).some((v) => v !== undefined && v !== 0 && v !== '' && v !== false))) {
    throw new UsageError('memory, CPU and pids limits are not supported by a rootless mybuild (it has no cgroup of its own to set them in)', { hint: 'run the daemon as root to set resource limits' });
  }
  return {
    readonlyRootfs: s.readonlyRootfs,
    capAdd: s.capAdd,
    capDrop: s.capDrop,
    dns: s.dns,
    dnsSearch: s.dnsSearch,
    dnsOptions: s.dnsOptions,
    resources: s.resources,
    ...(rootless ? {} : { cgroupsPath: `/mybuild/${id}` }),
    sysctl: s.sysctl,
    oomScoreAdj: s.oomScoreAdj,
    ...(s.hostNamespaces?.length ? { hostNamespaces: s.hostNamespaces } : {}),
    ...(s.deviceCgroupRules?.length ? { deviceRules: s.deviceCgroupRules.map(deviceRule) } : {}),
  };
}

/** `c 7:128 rwm` as the runtime's device rule (checked at create). */
function deviceRule(rule: string): NonNullable<ContainerRunSettings['deviceRules']>[number] {
  const [type, nums, access] = rule.trim().split(' ');
  const [major, minor] = nums.split(':');
  return { allow: true, type: type as 'a' | 'b' | 'c', ...(major !== '*' ? { major: Number(major) } : {}), ...(minor !== '*' ? { minor: Number(minor) } : {}), access };
}

/**
 * The settings the runtime shares with RUN's `--add-host`/`--ulimit`/`--shm-size` (ExecSpec's
 * extraHosts, ulimits, shmSize), so a container and a build step take one path.
 */
export function execSpecFields(s: ContainerSettings): Pick<ExecSpec, 'extraHosts' | 'ulimits' | 'shmSize'> {
  return {
    ...(s.extraHosts?.length ? { extraHosts: s.extraHosts.map(splitHost) } : {}),
    ...(s.ulimits?.length ? { ulimits: s.ulimits } : {}),
    ...(s.shmSize !== undefined ? { shmSize: s.shmSize } : {}),
  };
}

/** `name:ip` (Engine API ExtraHosts; the ip may hold colons) as ExecSpec's `{ host, ip }`. */
function splitHost(entry: string): { host: string; ip: string } {
  const i = entry.indexOf(':');
  return { host: entry.slice(0, i), ip: entry.slice(i + 1) };
}

/** The extra mounts of `s` (tmpfs and binds), plus tini's bind when `init` (`initBinary` on the host). */
export function extraMounts(s: ContainerSettings, initBinary: string | undefined): Mount[] {
  const out: Mount[] = (s.mounts ?? []).map((m) =>
    m.type === 'tmpfs'
      ? { type: 'tmpfs', source: 'tmpfs', target: m.target, options: ['nosuid', 'nodev', 'noexec', ...m.options, ...(m.readonly ? ['ro'] : [])] }
      : { type: 'bind', source: m.source, target: m.target, options: ['rbind', m.readonly ? 'ro' : 'rw', ...m.options] },
  );
  if (s.init && initBinary) out.push({ type: 'bind', source: initBinary, target: INIT_PATH, options: ['rbind', 'ro'] });
  return out;
}

/** The process' arguments: `command` under tini when `init`. */
export function withInit(s: ContainerSettings, command: string[]): string[] {
  return s.init ? [INIT_PATH, '--', ...command] : command;
}
