/**
 * The OCI runtime-spec `config.json` of a RUN step, with the defaults Docker (moby
 * oci/defaults.go) and BuildKit (executor/oci/spec.go) use: the default capability set, masked
 * and read-only /proc and /sys paths, new mount/pid/ipc/uts (and network, unless host)
 * namespaces, /proc, a tmpfs /dev with devpts, shm and mqueue, a read-only /sys, no new
 * privileges, and /etc/hosts, /etc/resolv.conf and /etc/hostname bind-mounted read-only from the
 * bundle so they never land in the layer. runc itself creates the standard devices (null, zero,
 * full, random, urandom, tty, ptmx) in /dev and allows only them in the device cgroup.
 * No seccomp profile is applied (Docker's default profile is not bundled). A privileged spec
 * (`RUN --security=insecure`) has every capability, no masked paths and the host's devices.
 * The additional gids always include the primary one (containerd's and BuildKit's
 * ensureAdditionalGids, the CVE-2023-25173 fix): `id` as root shows `groups=0(root),…`.
 */
import type { Readable, Writable } from 'node:stream';
import type { Mount } from './mount.js';
import type { PublishedPort } from './usernet.js';

/** How a step's network is set up: see `ExecSpec.network`. */
export type NetworkMode = 'sandbox' | 'none' | 'host' | 'bridge';

/** What `ExecSpec.attachNetworks` set up in a `bridge` container's namespace. */
export interface NetworkAttachment {
  /** /etc/hosts lines for the container's own addresses. */
  hosts: { host: string; ip: string }[];
  /** Undoes the attachment (veths, published ports, DNS names); never throws. */
  detach(): Promise<void>;
}

export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** What a RUN (or `mybuild run`) executes. */
export interface ExecSpec {
  args: string[];
  /** `KEY=value` pairs; a default PATH is added when none is given. */
  env: string[];
  /** Absolute working directory in the container (created by runc if missing). */
  cwd: string;
  /** Required unless `resolveUser` is given. */
  user?: ExecUser;
  /**
   * When set, the user comes from this instead of `user`, called with the container's rootfs
   * once it is mounted (so a RUN reads /etc/passwd from the snapshot it runs on, without
   * mounting a view of the parent just for that). Its errors propagate from `run`.
   */
  resolveUser?: (rootfs: string) => Promise<ExecUser>;
  hostname: string;
  /**
   * `sandbox`: own network namespace reaching the outside through slirp4netns (usernet.ts);
   * `none`: own namespace with only `lo`; `host`: the host's; `bridge`: own namespace that
   * `attachNetworks` connects to the daemon's networks (src/runtime/netns.ts).
   */
  network: NetworkMode;
  /** `bridge`: called with the pid holding the new network namespace, before the process starts. */
  attachNetworks?: (holderPid: number) => Promise<NetworkAttachment>;
  /** Host ports forwarded into a `sandbox` network (`mybuild run -p`). */
  publish?: PublishedPort[];
  /** Extra mounts (RUN --mount): each with `target` (absolute, in the container). */
  mounts?: Mount[];
  /** Fed to the process' stdin (not closed by the executor when it ends first); else /dev/null. */
  stdin?: Readable;
  /** Receive the process' output; never ended by the executor. */
  stdout?: Writable;
  stderr?: Writable;
  /** Run with a pseudo-terminal (stdout and stderr then arrive merged on `stdout`). */
  tty?: boolean;
  /** With `tty`: the terminal's size at start, and later sizes (`docker run -t` and SIGWINCH). */
  terminal?: TerminalSource;
  /**
   * `RUN --security=insecure` / `docker run --privileged`: every capability, no masked or
   * read-only /proc and /sys paths, a writable /sys, the host's devices, any device access.
   */
  privileged?: boolean;
  /** Container settings of `docker run` (the daemon's create request) beyond the fields below; absent for RUN steps. */
  container?: ContainerRunSettings;
  /** `--add-host`: extra /etc/hosts lines, after the loopback ones (BuildKit's ExtraHosts). */
  extraHosts?: { host: string; ip: string }[];
  /** `--ulimit`: rlimits by lower-case name (`nofile`, `nproc`, …); they replace the defaults. */
  ulimits?: { name: string; soft: number; hard: number }[];
  /** `--shm-size`: bytes of the /dev/shm tmpfs (default 64 MiB, as Docker). */
  shmSize?: number;
  /** A RUN step's cgroup limits (`mybuild build --memory`, `--cpu-*`); a container's are `container.resources`. */
  resources?: ContainerResources;
}

/** The cgroup limits a container runs with (runtime-spec config-linux.md "Control groups"). */
export interface ContainerResources {
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
}

/** What `docker run` sets beyond a RUN step (applied by generateSpec and the executor). */
export interface ContainerRunSettings {
  readonlyRootfs?: boolean;
  /** `CAP_X` names added to / dropped from the default set (`ALL` for every one). */
  capAdd?: string[];
  capDrop?: string[];
  /** Replaces /etc/resolv.conf when any is set. */
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  resources?: ContainerResources;
  /** The cgroup path (`/mybuild/<container id>`), so stats, top and pause find it. */
  cgroupsPath?: string;
  sysctl?: Record<string, string>;
  oomScoreAdj?: number;
  /** Share the host's PID, UTS (hostname) or IPC namespace (`--pid host`, `--uts host`, `--ipc host`). */
  hostNamespaces?: ('pid' | 'uts' | 'ipc')[];
  /** Device cgroup rules added to the default deny-all (`--device-cgroup-rule 'c 7:128 rwm'`). */
  deviceRules?: { allow: boolean; type: 'a' | 'b' | 'c'; major?: number; minor?: number; access: string }[];
}

/** A device node runc creates in the container (runtime-spec config-linux.md "Devices"). */
export interface LinuxDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** Every capability in capability.h order (0 … 40); the kernel may know fewer (cap_last_cap). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Where the generated /etc files are on the host (bind sources). */
export interface EtcFiles {
  hosts: string;
  resolvConf: string;
  hostname: string;
}

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** moby oci/caps/defaults.go DefaultCapabilities. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The subset of the runtime-spec we write (see opencontainers/runtime-spec config.md). */
export interface RuntimeSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    /** The console's size at creation (with `terminal`), before the process runs. */
    consoleSize?: { height: number; width: number };
    user: { uid: number; gid: number; additionalGids: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: {
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    devices?: LinuxDevice[];
    resources: { devices: { allow: boolean; access: string; type?: string; major?: number; minor?: number }[] } & ContainerResources;
    cgroupsPath?: string;
    sysctl?: Record<string, string>;
  };
}

/**
 * Builds the config for `spec` with the rootfs at `rootfs` (a path; runc takes it relative to
 * the bundle or absolute). Pure. `netnsPath` is the network namespace to join (a `sandbox`
 * network); `mappedIds` the ids of a rootless user namespace. Non-root users get the bounding set only (no effective or
 * permitted capabilities), as Docker does. `maxOpenFiles` caps RLIMIT_NOFILE (pass our own hard
 * limit: see `hardNofileLimit` in executor.ts).
 */
export function generateSpec(spec: ExecSpec & { user: ExecUser }, rootfs: string, etc: EtcFiles, opts: { maxOpenFiles?: number; hostDevices?: LinuxDevice[]; capabilities?: number[]; netnsPath?: string; mappedIds?: number } = {}): RuntimeSpec {
  const privileged = spec.privileged === true;
  const held = (opts.capabilities ?? ALL_CAPABILITIES.map((_, i) => i)).filter((i) => i < ALL_CAPABILITIES.length).map((i) => ALL_CAPABILITIES[i]!);
  const cs = spec.container ?? {};
  const caps = privileged ? held : applyCapChanges(DEFAULT_CAPABILITIES, held, cs.capAdd ?? [], cs.capDrop ?? []);
  const sysRo = privileged ? [] : ['ro'];
  // Docker's 1048576, but never above what we may grant (raising a hard limit needs CAP_SYS_RESOURCE).
  const nofile = Math.min(1048576, opts.maxOpenFiles ?? 1048576);
  const env = spec.env.some((e) => e.startsWith('PATH=')) ? [...spec.env] : [DEFAULT_PATH, ...spec.env];
  if (spec.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  const root = spec.user.uid === 0;
  const mounts: RuntimeSpec['mounts'] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    // gid 5 (tty) only where it is mapped (rootless with a one-id mapping has only 0).
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(opts.mappedIds !== undefined && opts.mappedIds <= 5 ? [] : ['gid=5'])] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${spec.shmSize !== undefined ? `${Math.ceil(spec.shmSize / 1024)}k` : '65536k'}`] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // sysfs can only be mounted in a network namespace we own; with the host's, bind it.
    spec.network === 'host'
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', ...sysRo] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...sysRo] },
    // The container's own cgroups, read-only, as containerd's default spec (BuildKit, Docker) has
    // them: a RUN sees its --memory limit. Not rootless (no cgroup of its own to show).
    ...(spec.network !== 'host' && opts.mappedIds === undefined ? [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] }] : []),
    { destination: '/etc/hosts', type: 'bind', source: etc.hosts, options: ['rbind', 'ro'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: etc.resolvConf, options: ['rbind', 'ro'] },
    { destination: '/etc/hostname', type: 'bind', source: etc.hostname, options: ['rbind', 'ro'] },
  ];
  for (const m of spec.mounts ?? []) {
    const isBind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
    mounts.push({ destination: m.target ?? '/', type: isBind ? 'bind' : m.type, source: m.source, options: isBind && !m.options.some((o) => o === 'bind' || o === 'rbind') ? ['rbind', ...m.options] : [...m.options] });
  }
  const shared = new Set(cs.hostNamespaces ?? []);
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' as const }, { type: 'ipc' as const }, { type: 'uts' as const }].filter((n) => !shared.has(n.type)).map((n) => ({ type: n.type }));
  namespaces.push({ type: 'mount' });
  // A container's cgroup, read-only, where dockerd mounts it (a container with a cgroup of its own).
  if (cs.cgroupsPath) mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] });
  // A sandbox network is a namespace made beforehand (usernet.ts) that runc joins.
  if (spec.network !== 'host') namespaces.push(opts.netnsPath ? { type: 'network', path: opts.netnsPath } : { type: 'network' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.tty === true,
      ...consoleSize(spec),
      user: { uid: spec.user.uid, gid: spec.user.gid, additionalGids: withPrimaryGid(spec.user) },
      args: spec.args,
      env,
      cwd: spec.cwd || '/',
      capabilities: { bounding: caps, effective: root ? caps : [], permitted: root ? caps : [] },
      rlimits: [
        ...(spec.ulimits?.some((u) => u.name === 'nofile') ? [] : [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }]),
        ...(spec.ulimits ?? []).map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, hard: u.hard, soft: u.soft })),
      ],
      ...(cs.oomScoreAdj ? { oomScoreAdj: cs.oomScoreAdj } : {}),
      // Docker's --privileged leaves no_new_privs off (setuid programs keep working).
      noNewPrivileges: !privileged,
    },
    root: { path: rootfs, readonly: cs.readonlyRootfs === true },
    // Without a UTS namespace of its own the container has the host's name (runc may not set one).
    ...(shared.has('uts') ? {} : { hostname: spec.hostname }),
    mounts,
    linux: {
      namespaces,
      maskedPaths: privileged ? [] : MASKED_PATHS,
      readonlyPaths: privileged ? [] : READONLY_PATHS,
      ...(privileged && opts.hostDevices?.length ? { devices: opts.hostDevices } : {}),
      resources: { devices: [{ allow: privileged, access: 'rwm' }, ...(cs.deviceRules ?? [])], ...(cs.resources ?? spec.resources ?? {}) },
      ...(cs.cgroupsPath ? { cgroupsPath: cs.cgroupsPath } : {}),
      ...(cs.sysctl && Object.keys(cs.sysctl).length ? { sysctl: cs.sysctl } : {}),
    },
  };
}

/** The user's additional gids with its primary gid first unless listed (BuildKit's ensureAdditionalGids). */
export function withPrimaryGid(user: ExecUser): number[] {
  const gids = user.additionalGids ?? [];
  return gids.includes(user.gid) ? [...gids] : [user.gid, ...gids];
}

/** /etc/hosts for the container: loopback names, the hostname, then `--add-host` entries. */
export function hostsFile(hostname: string, extraHosts: readonly { host: string; ip: string }[] = []): string {
  return ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.0.1\t${hostname}`, ...extraHosts.map((h) => `${h.ip}\t${h.host}`), ''].join('\n');
}

/** /etc/resolv.conf from `--dns`, `--dns-search`, `--dns-option`; undefined when none is set. */
export function resolvConf(c: ContainerRunSettings | undefined): string | undefined {
  if (!c || !(c.dns?.length || c.dnsSearch?.length || c.dnsOptions?.length)) return undefined;
  return [...(c.dns ?? []).map((d) => `nameserver ${d}`), ...(c.dnsSearch?.length ? [`search ${c.dnsSearch.join(' ')}`] : []), ...(c.dnsOptions?.length ? [`options ${c.dnsOptions.join(' ')}`] : []), ''].join('\n');
}

/** The CAP_ name of `c` (`net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN`). */
export function capName(c: string): string {
  const up = c.toUpperCase();
  return up === 'ALL' ? up : up.startsWith('CAP_') ? up : `CAP_${up}`;
}

/** Docker's cap-add/cap-drop over `base`: ALL adds every held one / drops all; drops apply after adds only for named ones. */
function applyCapChanges(base: string[], held: string[], add: string[], drop: string[]): string[] {
  const adds = add.map(capName);
  const drops = drop.map(capName);
  let out = drops.includes('ALL') ? [] : [...base];
  if (adds.includes('ALL')) out = [...held];
  for (const a of adds) if (a !== 'ALL' && !out.includes(a)) out.push(a);
  return out.filter((c) => !drops.includes(c) || adds.includes(c));
}

/** runtime-spec's process.consoleSize of a tty spec with a known terminal size (runc sizes the console before the process starts). */
function consoleSize(spec: ExecSpec): { consoleSize?: { height: number; width: number } } {
  const size = spec.tty ? spec.terminal?.size() : undefined;
  return size ? { consoleSize: { height: size.rows, width: size.cols } } : {};
}

/** A terminal's size in character cells. */
export interface TerminalSize {
  rows: number;
  cols: number;
}

/** Where a tty container's size comes from: the size now, and a subscription to its changes (returns the unsubscribe). */
export interface TerminalSource {
  size(): TerminalSize | undefined;
  onResize(listener: () => void): () => void;
}
