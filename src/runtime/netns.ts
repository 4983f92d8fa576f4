/**
 * Network namespaces for user-defined (bridge) networks, never configured in the host's
 * namespace: every command runs through `nsenter --net=/proc/<pid>/ns/net` of a namespace this
 * module created, after checking that the namespace is not the one mybuild itself runs in.
 *
 * A network (`NetworkNamespace.start`) is a namespace held by its DNS agent (dns-agent.ts,
 * `unshare --net node -e …`; it ends, and the namespace with it, when our end of its stdin
 * closes) holding a bridge `br0` with the gateway address of each subnet, IP forwarding on, and
 * — unless the network is internal — slirp4netns attached as `tap0` (10.0.2.100, the user-mode
 * stack that reaches the outside as ordinary sockets of its process) with the subnets
 * masqueraded behind it. Published ports are slirp4netns host forwards to 10.0.2.100:HOSTPORT,
 * DNAT-ed in the namespace to the container's address.
 *
 * A container's namespace (`startNetnsHolder`, made by the executor before runc starts) gets a
 * veth per network: `ve-<id>` on the bridge, `ethN` inside with the endpoint's addresses and MAC,
 * the default route via the first network's gateway, and 127.0.0.11:53 (UDP and TCP) DNAT-ed to
 * that gateway's DNS agent (route_localnet on the interface, SNAT of the loopback source).
 * Removing the veth (detach, or the end of either namespace) removes both ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readlink, mkdtemp, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { BuildError } from '../errors.js';
import { execCapture } from './exec.js';
import { dnsAgentScript, type DnsRecords } from './dns-agent.js';
import { addHostForward, findBinary, removeHostForward, SLIRP_DNS_ADDR, SLIRP_GUEST_ADDR, type PublishedPort } from './usernet.js';

/** The embedded DNS address in every container on a user-defined network (dockerd's). */
export const EMBEDDED_DNS = '127.0.0.11';
const START_TIMEOUT_MS = 15_000;

/** An address of an interface: `ip` with its prefix length. */
export interface IfAddress {
  ip: string;
  prefix: number;
}

/** Runs `cmd args` in the network namespace of `pid` (never our own: throws if it is). */
export async function inNetns(pid: number, cmd: string, args: string[], input?: string): Promise<string> {
  const [own, theirs] = await Promise.all([readlink('/proc/self/ns/net'), readlink(`/proc/${pid}/ns/net`).catch(() => '')]);
  if (theirs === '') throw new BuildError('RUNTIME', `the network namespace of process ${pid} is gone`);
  if (own === theirs) throw new BuildError('RUNTIME', `refusing to configure the host's network namespace (process ${pid} shares it)`);
  const r = await execCapture('nsenter', [`--net=/proc/${pid}/ns/net`, '--', cmd, ...args], { pkg: 'util-linux', ...(input !== undefined ? { input } : {}) });
  if (r.code !== 0) throw new BuildError('RUNTIME', `${cmd} ${args.join(' ')} (in the network namespace of ${pid}) failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout.toString('utf8');
}

/** `ip -batch -` of `lines` in the namespace of `pid`. */
function ipBatch(pid: number, lines: string[]): Promise<string> {
  return inNetns(pid, 'ip', ['-batch', '-'], lines.join('\n') + '\n');
}

function isV6(ip: string): boolean {
  return ip.includes(':');
}

/** Resolves with the first line of `child`'s stdout (or rejects when it exits or time runs out). */
function firstLine(child: ChildProcess, what: string, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => done(new BuildError('RUNTIME', `${what} did not start within ${START_TIMEOUT_MS / 1000}s ${stderr()}`)), START_TIMEOUT_MS);
    const onExit = (code: number | null): void => done(new BuildError('RUNTIME', `${what} exited (${code ?? 'signal'}) before it was ready: ${stderr()}`));
    function done(err?: Error, line?: string): void {
      clearTimeout(timer);
      rl.removeAllListeners('line');
      rl.close();
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(line ?? '');
    }
    rl.once('line', (l) => done(undefined, l));
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function checkOwnNamespace(pid: number, what: string): Promise<void> {
  const [own, theirs] = await Promise.all([readlink('/proc/self/ns/net'), readlink(`/proc/${pid}/ns/net`)]);
  if (own === theirs) throw new BuildError('RUNTIME', `${what} did not create a network namespace`);
}

/** A container's network namespace, held by a process until `close` (or our death). */
export interface NetnsHolder {
  pid: number;
  netnsPath: string;
  close(): Promise<void>;
}

/** Starts `unshare --net` holding a fresh network namespace (only `lo`, down). */
export async function startNetnsHolder(): Promise<NetnsHolder> {
  const unshareBin = await findBinary('unshare', 'util-linux');
  const holder = spawn(unshareBin, ['--net', '--', '/bin/sh', '-c', 'echo ready; exec cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  holder.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const close = async (): Promise<void> => {
    if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
    for (const s of holder.stdio) s?.destroy();
    await exited(holder);
  };
  try {
    await firstLine(holder, 'unshare --net', () => err.trim());
    holder.stdout!.resume();
    await checkOwnNamespace(holder.pid!, 'unshare --net');
    return { pid: holder.pid!, netnsPath: `/proc/${holder.pid}/ns/net`, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export interface NetworkNamespaceOptions {
  /** The bridge's gateway addresses (one per subnet), e.g. `172.18.0.1/16`. */
  gateways: IfAddress[];
  /** The IPv4 subnets to masquerade behind slirp4netns (CIDR). */
  subnets: string[];
  /** No outside access (no slirp4netns, no upstream DNS). */
  internal: boolean;
}

/** One container interface on the network (see `NetworkNamespace.attach`). */
export interface EndpointSpec {
  /** Short unique name part (hex) of the bridge-side veth `ve-<key>`. */
  key: string;
  mac: string;
  addresses: IfAddress[];
  /** Route the container's default traffic and its 127.0.0.11 DNS through this network. */
  primary: boolean;
  /** Host ports published to this endpoint (through slirp4netns, then DNAT). */
  publish?: PublishedPort[];
}

/** A user-defined network's namespace (see the module comment). */
export class NetworkNamespace {
  private closed = false;
  private readonly forwards = new Map<string, { ids: number[]; rules: string[][] }>();

  private constructor(
    private readonly agent: ChildProcess,
    private readonly slirp: ChildProcess | undefined,
    private readonly apiDir: string | undefined,
    readonly opts: NetworkNamespaceOptions,
    private readonly replies: AsyncIterator<string>,
  ) {}

  get pid(): number {
    return this.agent.pid!;
  }

  /** PIDs of the processes this network runs (agent, slirp4netns), for leftover cleanup. */
  get pids(): number[] {
    return [this.agent.pid!, ...(this.slirp?.pid ? [this.slirp.pid] : [])];
  }

  static async start(opts: NetworkNamespaceOptions): Promise<NetworkNamespace> {
    const unshareBin = await findBinary('unshare', 'util-linux');
    const agent = spawn(unshareBin, ['--net', '--', process.execPath, '-e', dnsAgentScript()], { stdio: ['pipe', 'pipe', 'pipe'] });
    let agentErr = '';
    agent.stderr!.on('data', (d: Buffer) => agentErr.length < 4096 && (agentErr += d.toString('utf8')));
    const rl = createInterface({ input: agent.stdout! });
    const replies = rl[Symbol.asyncIterator]();
    let slirp: ChildProcess | undefined;
    let apiDir: string | undefined;
    const kill = async (): Promise<void> => {
      for (const c of [slirp, agent]) {
        if (!c) continue;
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        for (const s of c.stdio) s?.destroy();
        await exited(c);
      }
      if (apiDir) await rm(apiDir, { recursive: true, force: true });
    };
    try {
      let timer: NodeJS.Timeout | undefined;
      const ready = await Promise.race([replies.next(), exited(agent).then(() => undefined), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), START_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (!ready || ready.done) throw new BuildError('RUNTIME', `the network's DNS agent did not start: ${agentErr.trim() || 'no answer'}`);
      const pid = agent.pid!;
      await checkOwnNamespace(pid, 'unshare --net');
      await ipBatch(pid, [
        'link set lo up',
        'link add br0 type bridge',
        ...opts.gateways.map((g) => `addr add ${g.ip}/${g.prefix} dev br0${isV6(g.ip) ? ' nodad' : ''}`),
        'link set br0 up',
      ]);
      await inNetns(pid, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
      if (!opts.internal) {
        const slirpBin = await findBinary('slirp4netns', 'slirp4netns');
        const tmp = os.tmpdir().length < 64 ? os.tmpdir() : '/tmp';
        apiDir = await mkdtemp(path.join(tmp, 'mybuild-net-'));
        const args = ['--configure', '--mtu=65520', '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp', '--ready-fd=3', '--exit-fd=4', `--api-socket=${path.join(apiDir, 'api.sock')}`, String(pid), 'tap0'];
        slirp = spawn(slirpBin, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
        let slirpLog = '';
        slirp.stdout!.on('data', (d: Buffer) => slirpLog.length < 4096 && (slirpLog += d.toString('utf8')));
        slirp.stderr!.on('data', (d: Buffer) => slirpLog.length < 4096 && (slirpLog += d.toString('utf8')));
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new BuildError('RUNTIME', `slirp4netns did not start: ${slirpLog.trim()}`)), START_TIMEOUT_MS);
          slirp!.stdio[3]!.once('data', () => (clearTimeout(t), resolve()));
          slirp!.once('exit', (code) => (clearTimeout(t), reject(new BuildError('RUNTIME', `slirp4netns exited (${code}) before it was ready: ${slirpLog.trim()}`))));
        });
        for (const s of opts.subnets) await inNetns(pid, 'iptables', ['-w', '-t', 'nat', '-A', 'POSTROUTING', '-s', s, '!', '-o', 'br0', '-j', 'MASQUERADE']);
      }
      const v4 = opts.gateways.filter((g) => !isV6(g.ip)).map((g) => g.ip);
      agent.stdin!.write(`${JSON.stringify({ listen: v4, upstream: opts.internal ? [] : [SLIRP_DNS_ADDR] })}\n`);
      const listening = await replies.next();
      if (listening.done || !/"ok":"listen"/.test(listening.value)) throw new BuildError('RUNTIME', `the network's DNS agent cannot listen: ${listening.value ?? agentErr}`);
      return new NetworkNamespace(agent, slirp, apiDir, opts, replies);
    } catch (err) {
      await kill();
      throw err;
    }
  }

  private primaryGateway(): string | undefined {
    return this.opts.gateways.find((g) => !isV6(g.ip))?.ip;
  }

  /**
   * Adds a veth from the bridge into the namespace of `containerPid` (see the module comment);
   * returns the interface name inside. Publishes `spec.publish`.
   */
  async attach(containerPid: number, spec: EndpointSpec): Promise<string> {
    const host = `ve-${spec.key.slice(0, 12)}`;
    const links = await inNetns(containerPid, 'ip', ['-o', 'link', 'show']);
    let n = 0;
    while (new RegExp(`: eth${n}[@:]`).test(links)) n++;
    const ifname = `eth${n}`;
    await ipBatch(this.pid, [`link add ${host} type veth peer name ${ifname} netns ${containerPid}`, `link set ${host} master br0`, `link set ${host} up`]);
    try {
      const gw4 = this.primaryGateway();
      const gw6 = this.opts.gateways.find((g) => isV6(g.ip))?.ip;
      await ipBatch(containerPid, [
        'link set lo up',
        `link set ${ifname} address ${spec.mac}`,
        ...spec.addresses.map((a) => `addr add ${a.ip}/${a.prefix} dev ${ifname}${isV6(a.ip) ? ' nodad' : ''}`),
        `link set ${ifname} up`,
        ...(spec.primary && gw4 ? [`route add default via ${gw4} dev ${ifname}`] : []),
        ...(spec.primary && gw6 && spec.addresses.some((a) => isV6(a.ip)) ? [`route add default via ${gw6} dev ${ifname}`] : []),
      ]);
      const ip4 = spec.addresses.find((a) => !isV6(a.ip))?.ip;
      if (spec.primary && gw4 && ip4) {
        await inNetns(containerPid, 'sysctl', ['-q', '-w', `net.ipv4.conf.${ifname}.route_localnet=1`]);
        for (const proto of ['udp', 'tcp']) {
          await inNetns(containerPid, 'iptables', ['-w', '-t', 'nat', '-A', 'OUTPUT', '-d', `${EMBEDDED_DNS}/32`, '-p', proto, '--dport', '53', '-j', 'DNAT', '--to-destination', `${gw4}:53`]);
        }
        await inNetns(containerPid, 'iptables', ['-w', '-t', 'nat', '-A', 'POSTROUTING', '-s', '127.0.0.0/8', '-d', `${gw4}/32`, '-j', 'SNAT', '--to-source', ip4]);
      }
      if (spec.publish?.length && ip4) await this.publish(spec.key, ip4, spec.publish);
    } catch (err) {
      await this.detach(spec.key).catch(() => undefined);
      throw err;
    }
    return ifname;
  }

  private async publish(key: string, ip: string, ports: PublishedPort[]): Promise<void> {
    if (!this.apiDir) throw new BuildError('INVALID_ARGUMENT', 'ports cannot be published on an internal network');
    const entry = { ids: [] as number[], rules: [] as string[][] };
    this.forwards.set(key, entry);
    for (const p of ports) {
      entry.ids.push(await addHostForward(path.join(this.apiDir, 'api.sock'), { ...p, containerPort: p.hostPort }, SLIRP_GUEST_ADDR));
      const rule = ['-t', 'nat', '-A', 'PREROUTING', '-i', 'tap0', '-p', p.protocol, '--dport', String(p.hostPort), '-j', 'DNAT', '--to-destination', `${ip}:${p.containerPort}`];
      await inNetns(this.pid, 'iptables', ['-w', ...rule]);
      entry.rules.push(rule);
    }
  }

  /** Removes the endpoint's veth (both ends) and its published ports; idempotent. */
  async detach(key: string): Promise<void> {
    if (this.closed) return;
    const fwd = this.forwards.get(key);
    this.forwards.delete(key);
    for (const id of fwd?.ids ?? []) await removeHostForward(path.join(this.apiDir!, 'api.sock'), id).catch(() => undefined);
    for (const rule of fwd?.rules ?? []) await inNetns(this.pid, 'iptables', ['-w', ...rule.map((a) => (a === '-A' ? '-D' : a))]).catch(() => undefined);
    const host = `ve-${key.slice(0, 12)}`;
    const links = await inNetns(this.pid, 'ip', ['-o', 'link', 'show']).catch(() => '');
    if (links.includes(`: ${host}@`)) await inNetns(this.pid, 'ip', ['link', 'del', host]);
  }

  /** Replaces the names the DNS agent answers. */
  async setRecords(records: DnsRecords): Promise<void> {
    if (this.closed) return;
    this.agent.stdin!.write(`${JSON.stringify(records)}\n`);
    const r = await this.replies.next();
    if (r.done || !/"ok":"views"/.test(r.value)) throw new BuildError('RUNTIME', `the network's DNS agent did not take its records: ${r.value ?? 'it exited'}`);
  }

  /** Ends slirp4netns and the agent (and so the namespace, its bridge and every veth); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [this.slirp, this.agent]) {
      if (!c) continue;
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const s of c.stdio) s?.destroy();
      await exited(c);
    }
    if (this.apiDir) await rm(this.apiDir, { recursive: true, force: true });
  }
}
