/**
 * The daemon's networks (GET/POST /networks…): records (records.ts), addresses (ipam.ts) and the
 * live namespaces (src/runtime/netns.ts), one per network while any of its containers runs.
 *
 * A container on user-defined networks (`network: 'bridge'`, HostConfig.NetworkMode = a network
 * name or `bridge`) gets its endpoints recorded at create and at connect (addresses are assigned
 * then, so they are stable); when it starts, `attacher()` connects its fresh namespace to each
 * network's bridge (starting the network's namespace if needed) and the DNS agents learn its
 * names: its name, short ID, aliases (Compose's service names) and links. When it stops, the
 * veths go, and a network with no running container left is shut down (agent, slirp4netns,
 * namespace). `close()` (daemon stop) shuts every network down; `open()` ends what a killed
 * daemon left (recorded PIDs of agents and slirp4netns, checked by start time).
 *
 * As with dockerd, a container created without a network (NetworkMode `default`) joins the
 * predefined `bridge` network (172.17.0.0/16; its -p ports through bridge's slirp4netns), so it
 * can be connected to others. `mybuild run` (daemonless) keeps its per-container user-mode
 * network (src/runtime/usernet.ts).
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AlreadyExistsError, BuildError, NotFoundError } from '../../errors.js';
import { NetworkNamespace, type EndpointSpec } from '../../runtime/netns.js';
import type { DnsRecords } from '../../runtime/dns-agent.js';
import type { NetworkAttachment } from '../../runtime/spec.js';
import type { PublishedPort } from '../../runtime/usernet.js';
import { storeDir } from '../../store/store-dirs.js';
import { processStartTimeSync } from '../../store/fs-util.js';
import type { Container, ContainerConfigRecord } from '../manager.js';
import { contains, firstHost, formatCidr, formatIp, macOf, nextFree, overlaps, parseCidr, parseIp, pickPool, type Cidr } from './ipam.js';
import { newId, NetworkRecords, PREDEFINED, type EndpointRecord, type IpamPool, type NetworkRecord } from './records.js';

/** EndpointSettings of a create or connect request (the fields mybuild applies). */
export interface EndpointRequest {
  Aliases?: string[] | null;
  Links?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
  DriverOpts?: Record<string, string> | null;
  [k: string]: unknown;
}

/** POST /networks/create's body. */
export interface CreateNetworkRequest {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: IpamPool[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  Scope?: string;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  [k: string]: unknown;
}

interface Running {
  pid: number;
  name: string;
  hostname: string;
  /** Network ID → endpoint key attached in the container's namespace. */
  attached: Map<string, string>;
}

const zero = (v: unknown): boolean => v == null || v === '' || v === false || v === 0 || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0);

/** A request dockerd answers with 403 Forbidden (predefined networks, active endpoints, duplicate connects). */
export class ForbiddenError extends BuildError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

function forbidden(msg: string): ForbiddenError {
  return new ForbiddenError(msg);
}


export class NetworkService {
  readonly records: NetworkRecords;
  private readonly live = new Map<string, Promise<NetworkNamespace>>();
  private readonly running = new Map<string, Running>();
  private lock: Promise<unknown> = Promise.resolve();
  private closing = false;

  private constructor(root: string, containersDir: string) {
    this.records = new NetworkRecords(root, containersDir);
  }

  /** Opens the records (creating the predefined networks) and ends a killed daemon's leftovers. */
  static async open(root: string, containersDir: string): Promise<NetworkService> {
    const s = new NetworkService(root, containersDir);
    await s.records.init();
    await s.reconcile();
    return s;
  }

  private get runDir(): string {
    return path.join(this.records.dir, 'run');
  }

  /** Kills the agents and slirp4netns of networks a dead daemon ran (their PID files), so their namespaces go. */
  async reconcile(): Promise<number> {
    let n = 0;
    for (const f of await readdir(this.runDir).catch(() => [] as string[])) {
      const file = path.join(this.runDir, f);
      const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      for (const l of lines) {
        const [pid, start] = l.split(' ');
        if (processStartTimeSync(Number(pid)) === start) {
          try {
            process.kill(Number(pid), 'SIGKILL');
            n++;
          } catch {
            // gone meanwhile
          }
        }
      }
      await rm(file, { force: true });
    }
    return n;
  }

  /** Runs `fn` after every earlier mutation (one at a time in this process). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lock.then(fn, fn);
    this.lock = p.catch(() => undefined);
    return p;
  }

  // ---- networks ----

  /** POST /networks/create: returns the new network (see CreateNetworkRequest). */
  create(req: CreateNetworkRequest): Promise<NetworkRecord> {
    return this.serial(async () => {
      const name = String(req.Name ?? '');
      if (!name) throw new BuildError('INVALID_ARGUMENT', 'network name is required');
      const driver = req.Driver || 'bridge';
      if ((PREDEFINED as readonly string[]).includes(name)) throw forbidden(`${name} is a pre-defined network and cannot be created`);
      if (driver === 'host' || driver === 'null') throw forbidden(`only one instance of "${driver}" network is allowed`);
      if (driver !== 'bridge') throw new BuildError('INVALID_ARGUMENT', `network driver "${driver}" is not supported by mybuild (only bridge)`, { hint: 'overlay, macvlan and ipvlan networks need a swarm or the host network, which mybuild never changes' });
      for (const k of ['Ingress', 'ConfigOnly', 'ConfigFrom'] as const) if (!zero(req[k])) throw new BuildError('INVALID_ARGUMENT', `${k} is not supported by mybuild`);
      if (req.Scope && req.Scope !== 'local') throw new BuildError('INVALID_ARGUMENT', `scope "${req.Scope}" is not supported by mybuild (only local)`);
      const ipamDriver = req.IPAM?.Driver || 'default';
      if (ipamDriver !== 'default') throw new BuildError('INVALID_ARGUMENT', `IPAM driver "${ipamDriver}" is not supported by mybuild (only default)`);
      const options = req.Options ?? {};
      for (const k of Object.keys(options)) {
        if (!['com.docker.network.bridge.name', 'com.docker.network.driver.mtu', 'com.docker.network.bridge.enable_icc', 'com.docker.network.bridge.enable_ip_masquerade'].includes(k)) {
          throw new BuildError('INVALID_ARGUMENT', `network option "${k}" is not supported by mybuild`);
        }
      }
      const all = await this.records.list();
      if (req.CheckDuplicate && all.some((n) => n.Name === name)) throw new AlreadyExistsError(`network with name ${name} already exists`);
      const used = all.flatMap((n) => n.IPAM.Config.map((c) => parseCidr(c.Subnet)));
      const config: IpamPool[] = [];
      for (const c of req.IPAM?.Config ?? []) {
        if (!c.Subnet) throw new BuildError('INVALID_ARGUMENT', 'IPAM.Config: a pool needs a Subnet');
        const sub = parseCidr(c.Subnet);
        const clash = all.find((n) => n.IPAM.Config.some((x) => overlaps(parseCidr(x.Subnet), sub)));
        if (clash) throw new ForbiddenError(`Pool overlaps with other one on this address space (network ${clash.Name})`);
        if (c.IPRange) {
          const r = parseCidr(c.IPRange);
          if (r.family !== sub.family || !contains(sub, formatIp(r.family, r.base))) throw new BuildError('INVALID_ARGUMENT', `IPRange ${c.IPRange} is not in subnet ${c.Subnet}`);
        }
        if (c.Gateway && !contains(sub, c.Gateway)) throw new BuildError('INVALID_ARGUMENT', `gateway ${c.Gateway} is not in subnet ${c.Subnet}`);
        for (const [k, a] of Object.entries(c.AuxiliaryAddresses ?? {})) if (!contains(sub, a)) throw new BuildError('INVALID_ARGUMENT', `auxiliary address ${k}=${a} is not in subnet ${c.Subnet}`);
        config.push({ Subnet: c.Subnet, ...(c.IPRange ? { IPRange: c.IPRange } : {}), Gateway: c.Gateway || firstHost(sub), ...(c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length ? { AuxiliaryAddresses: c.AuxiliaryAddresses } : {}) });
      }
      if (!config.some((c) => parseCidr(c.Subnet).family === 4)) {
        const pool = pickPool(used);
        config.unshift({ Subnet: formatCidr(pool), Gateway: firstHost(pool) });
      }
      const rec: NetworkRecord = {
        Name: name,
        Id: newId(),
        Created: new Date().toISOString(),
        Scope: 'local',
        Driver: driver,
        EnableIPv6: req.EnableIPv6 === true,
        IPAM: { Driver: ipamDriver, Options: req.IPAM?.Options && Object.keys(req.IPAM.Options).length ? req.IPAM.Options : null, Config: config },
        Internal: req.Internal === true,
        Attachable: req.Attachable === true,
        Ingress: false,
        ConfigFrom: { Network: '' },
        ConfigOnly: false,
        Options: options,
        Labels: req.Labels ?? {},
      };
      await this.records.write(rec);
      return rec;
    });
  }

  /** The network `ref` names (ID, name, ID prefix); NotFoundError otherwise. */
  find(ref: string): Promise<NetworkRecord> {
    return this.records.find(ref);
  }

  list(): Promise<NetworkRecord[]> {
    return this.records.list();
  }

  /** IDs of the containers with an endpoint on `networkId` (running or not). */
  async members(networkId: string): Promise<string[]> {
    const out: string[] = [];
    for (const [cid, eps] of await this.records.allEndpoints()) if (eps.some((e) => e.networkId === networkId)) out.push(cid);
    return out;
  }

  /** GET /networks/{id}'s `Containers`: the running containers' endpoints. */
  async containersOf(n: NetworkRecord): Promise<Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>> {
    const out: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> = {};
    for (const [cid, r] of this.running) {
      if (!r.attached.has(n.Id)) continue;
      const ep = (await this.records.endpoints(cid)).find((e) => e.networkId === n.Id);
      if (!ep) continue;
      out[cid] = { Name: r.name, EndpointID: ep.endpointId, MacAddress: ep.mac, IPv4Address: ep.ipv4 ? `${ep.ipv4}/${prefixOf(n, ep.ipv4)}` : '', IPv6Address: ep.ipv6 ? `${ep.ipv6}/${prefixOf(n, ep.ipv6)}` : '' };
    }
    return out;
  }

  /** DELETE /networks/{id}: refused for predefined networks and while a container runs on it (403). */
  remove(ref: string): Promise<void> {
    return this.serial(async () => {
      const n = await this.records.find(ref);
      if ((PREDEFINED as readonly string[]).includes(n.Name)) throw forbidden(`${n.Name} is a pre-defined network and cannot be removed`);
      const active = [...this.running.values()].filter((r) => r.attached.has(n.Id));
      if (active.length) throw forbidden(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
      await this.shutdown(n.Id);
      await this.records.delete(n.Id);
    });
  }

  // ---- containers ----

  /**
   * The network a create request's NetworkMode names, checked before the container exists:
   * `{ id, name }` of a bridge network (by name, ID or prefix). NotFoundError when missing;
   * refuses endpoint settings mybuild does not apply.
   */
  async resolveMode(mode: string, endpoints: Record<string, EndpointRequest>): Promise<NetworkRecord> {
    const n = await this.records.find(mode === 'default' ? 'bridge' : mode);
    if (n.Driver !== 'bridge') throw new BuildError('INVALID_ARGUMENT', `network ${n.Name} (driver ${n.Driver}) cannot be joined by name: use NetworkMode "${n.Name === 'none' ? 'none' : 'host'}"`);
    for (const [k, ep] of Object.entries(endpoints)) {
      const other = await this.records.find(k === 'default' ? 'bridge' : k);
      if (other.Id !== n.Id) throw new BuildError('INVALID_ARGUMENT', `NetworkingConfig.EndpointsConfig["${k}"]: a container is created on one network (its NetworkMode, ${n.Name}); connect it to others afterwards`);
      checkEndpointRequest(k, ep);
    }
    return n;
  }

  /** Records the endpoint of a new container on its NetworkMode network. */
  createEndpoint(containerId: string, net: NetworkRecord, req: EndpointRequest | undefined): Promise<void> {
    return this.serial(async () => {
      const ep = await this.newEndpoint(net, req ?? {}, containerId);
      await this.records.writeEndpoints(containerId, [ep]);
    });
  }

  private async newEndpoint(net: NetworkRecord, req: EndpointRequest, containerId: string): Promise<EndpointRecord> {
    checkEndpointRequest(net.Name, req);
    const taken = new Set<string>();
    for (const pool of net.IPAM.Config) {
      if (pool.Gateway) taken.add(pool.Gateway);
      for (const a of Object.values(pool.AuxiliaryAddresses ?? {})) taken.add(a);
    }
    for (const eps of (await this.records.allEndpoints()).values()) {
      for (const e of eps) {
        if (e.networkId !== net.Id) continue;
        if (e.ipv4) taken.add(e.ipv4);
        if (e.ipv6) taken.add(e.ipv6);
      }
    }
    const v4 = net.IPAM.Config.find((c) => parseCidr(c.Subnet).family === 4);
    const v6 = net.IPAM.Config.find((c) => parseCidr(c.Subnet).family === 6);
    const want4 = req.IPAMConfig?.IPv4Address || undefined;
    const want6 = req.IPAMConfig?.IPv6Address || undefined;
    const pick = (pool: IpamPool | undefined, want: string | undefined, fam: 4 | 6): string | undefined => {
      if (want) {
        if (parseIp(want).family !== fam) throw new BuildError('INVALID_ARGUMENT', `invalid IPv${fam} address: ${want}`);
        if (!pool || !contains(parseCidr(pool.Subnet), want)) throw new BuildError('INVALID_ARGUMENT', `no configured subnet of network ${net.Name} contains the IP address ${want}`, { hint: 'a fixed address needs a network created with a Subnet that holds it' });
        if (taken.has(want)) throw new AlreadyExistsError(`Address already in use: ${want} on network ${net.Name}`);
        return want;
      }
      if (!pool || (fam === 6 && !net.EnableIPv6)) return undefined;
      const sub: Cidr = parseCidr(pool.Subnet);
      return nextFree(sub, pool.IPRange ? parseCidr(pool.IPRange) : undefined, taken);
    };
    const ipv4 = pick(v4, want4, 4);
    const ipv6 = pick(v6, want6, 6);
    const ipam = req.IPAMConfig && !zero(req.IPAMConfig) ? { ...(want4 ? { IPv4Address: want4 } : {}), ...(want6 ? { IPv6Address: want6 } : {}), ...(req.IPAMConfig.LinkLocalIPs?.length ? { LinkLocalIPs: req.IPAMConfig.LinkLocalIPs } : {}) } : null;
    const endpointId = newId();
    return {
      networkId: net.Id,
      endpointId,
      aliases: [...new Set([...(req.Aliases ?? []), containerId.slice(0, 12)])],
      links: req.Links ?? [],
      ipamConfig: ipam,
      driverOpts: req.DriverOpts && Object.keys(req.DriverOpts).length ? req.DriverOpts : null,
      ...(ipv4 ? { ipv4 } : {}),
      ...(ipv6 ? { ipv6 } : {}),
      mac: macOf(ipv4, endpointId),
    };
  }

  /**
   * POST /networks/{id}/connect: records the endpoint, and attaches it now when the container
   * runs. 403 when already connected; refused for host/none networks and containers.
   */
  connect(ref: string, container: Container, req: EndpointRequest): Promise<void> {
    return this.serial(async () => {
      const n = await this.records.find(ref);
      if (n.Driver !== 'bridge') throw forbidden(`container cannot be connected to network ${n.Name} (driver ${n.Driver})`);
      if (container.config.network !== 'bridge') throw forbidden(`container ${container.name} runs with network mode ${container.config.network === 'sandbox' ? 'default' : container.config.network}, which cannot be connected to a network`, );
      const eps = await this.records.endpoints(container.id);
      if (eps.some((e) => e.networkId === n.Id)) throw forbidden(`endpoint with name ${container.name} already exists in network ${n.Name}`);
      const ep = await this.newEndpoint(n, req, container.id);
      const r = this.running.get(container.id);
      if (r) await this.attachOne(r, n, ep, eps.length === 0, []);
      await this.records.writeEndpoints(container.id, [...eps, ep]);
      await this.refreshDns();
    });
  }

  /** POST /networks/{id}/disconnect: detaches (when running) and forgets the endpoint; 404-ish error when not connected. */
  disconnect(ref: string, container: Container): Promise<void> {
    return this.serial(async () => {
      const n = await this.records.find(ref);
      const eps = await this.records.endpoints(container.id);
      const ep = eps.find((e) => e.networkId === n.Id);
      if (!ep) throw forbidden(`container ${container.id} is not connected to network ${n.Name}`);
      const r = this.running.get(container.id);
      const key = r?.attached.get(n.Id);
      if (r && key) {
        const ns = await this.live.get(n.Id);
        await ns?.detach(key);
        r.attached.delete(n.Id);
      }
      await this.records.writeEndpoints(container.id, eps.filter((e) => e !== ep));
      await this.refreshDns();
      await this.shutdownIdle();
    });
  }

  /** `ExecSpec.attachNetworks` of a container's start (see the module comment). */
  attacher(config: ContainerConfigRecord): (pid: number) => Promise<NetworkAttachment> {
    return (pid) =>
      this.serial(async () => {
        if (this.closing) throw new BuildError('RUNTIME', 'the daemon is shutting down');
        const eps = await this.records.endpoints(config.id);
        if (eps.length === 0) throw new BuildError('INVALID_ARGUMENT', `container ${config.name} is connected to no network`, { hint: 'connect it to one (docker network connect), or create it with --network' });
        const r: Running = { pid, name: config.name, hostname: config.hostname, attached: new Map() };
        this.running.set(config.id, r);
        try {
          for (const [i, ep] of eps.entries()) {
            const n = await this.records.find(ep.networkId).catch(() => {
              throw new NotFoundError(`network ${ep.networkId} not found`, { hint: 'the network was removed: disconnect the container from it, or connect it to another' });
            });
            await this.attachOne(r, n, ep, i === 0, i === 0 ? (config.publish ?? []) : []);
          }
          await this.refreshDns();
        } catch (err) {
          await this.detachAll(config.id);
          throw err;
        }
        const primary = eps[0];
        return {
          hosts: primary.ipv4 ? [{ host: config.hostname, ip: primary.ipv4 }] : [],
          detach: () => this.serial(() => this.detachAll(config.id)).catch(() => undefined),
        };
      });
  }

  private async attachOne(r: Running, n: NetworkRecord, ep: EndpointRecord, primary: boolean, publish: PublishedPort[]): Promise<void> {
    const ns = await this.namespace(n);
    const spec: EndpointSpec = {
      key: ep.endpointId,
      mac: ep.mac,
      addresses: [
        ...(ep.ipv4 ? [{ ip: ep.ipv4, prefix: prefixOf(n, ep.ipv4) }] : []),
        ...(ep.ipv6 ? [{ ip: ep.ipv6, prefix: prefixOf(n, ep.ipv6) }] : []),
        ...(ep.ipamConfig?.LinkLocalIPs ?? []).map((ip) => ({ ip, prefix: ip.includes(':') ? 64 : 16 })),
      ],
      primary,
      ...(publish.length ? { publish } : {}),
    };
    await ns.attach(r.pid, spec);
    r.attached.set(n.Id, ep.endpointId);
  }

  private async detachAll(cid: string): Promise<void> {
    const r = this.running.get(cid);
    if (!r) return;
    this.running.delete(cid);
    for (const [nid, key] of r.attached) {
      const ns = await this.live.get(nid)?.catch(() => undefined);
      await ns?.detach(key).catch(() => undefined);
    }
    await this.refreshDns().catch(() => undefined);
    await this.shutdownIdle();
  }

  /** The live namespace of `n`, started when needed. */
  private namespace(n: NetworkRecord): Promise<NetworkNamespace> {
    let p = this.live.get(n.Id);
    if (!p) {
      const pools = n.IPAM.Config.map((c) => ({ c, sub: parseCidr(c.Subnet) }));
      p = NetworkNamespace.start({
        gateways: pools.filter(({ c }) => c.Gateway).map(({ c, sub }) => ({ ip: c.Gateway!, prefix: sub.prefix })),
        subnets: pools.filter(({ sub }) => sub.family === 4).map(({ sub }) => formatCidr(sub)),
        internal: n.Internal,
      });
      this.live.set(n.Id, p);
      p.then(
        async (ns) => {
          await storeDir(this.runDir);
          await writeFile(path.join(this.runDir, n.Id), ns.pids.map((pid) => `${pid} ${processStartTimeSync(pid) ?? ''}\n`).join(''));
        },
        () => this.live.delete(n.Id),
      );
    }
    return p;
  }

  /** Shuts down the namespace of network `id` (if it runs). */
  private async shutdown(id: string): Promise<void> {
    const p = this.live.get(id);
    this.live.delete(id);
    const ns = await p?.catch(() => undefined);
    await ns?.close();
    await rm(path.join(this.runDir, id), { force: true });
  }

  private async shutdownIdle(): Promise<void> {
    for (const id of [...this.live.keys()]) {
      if (![...this.running.values()].some((r) => r.attached.has(id))) await this.shutdown(id);
    }
  }

  /** Sends every live network's agent the names each of its containers can resolve. */
  private async refreshDns(): Promise<void> {
    const nets = new Map((await this.records.list()).map((n) => [n.Id, n]));
    const eps = new Map<string, EndpointRecord[]>();
    for (const cid of this.running.keys()) eps.set(cid, await this.records.endpoints(cid));
    // network → [container, endpoint] of running, attached endpoints
    const members = new Map<string, { cid: string; ep: EndpointRecord }[]>();
    for (const [cid, r] of this.running) {
      for (const ep of eps.get(cid) ?? []) if (r.attached.has(ep.networkId)) (members.get(ep.networkId) ?? members.set(ep.networkId, []).get(ep.networkId)!).push({ cid, ep });
    }
    const add = (view: DnsRecords['views'][string], name: string, ep: EndpointRecord): void => {
      const e = (view[name.toLowerCase()] ??= { v4: [], v6: [] });
      if (ep.ipv4 && !e.v4.includes(ep.ipv4)) e.v4.push(ep.ipv4);
      if (ep.ipv6 && !e.v6.includes(ep.ipv6)) e.v6.push(ep.ipv6);
    };
    for (const [nid, p] of this.live) {
      const ns = await p.catch(() => undefined);
      if (!ns) continue;
      const records: DnsRecords = { views: {}, ptr: {} };
      for (const { cid, ep } of members.get(nid) ?? []) {
        const view: DnsRecords['views'][string] = {};
        // Names on every network this container is on.
        for (const mine of eps.get(cid) ?? []) {
          const net = nets.get(mine.networkId);
          for (const other of members.get(mine.networkId) ?? []) {
            const r = this.running.get(other.cid)!;
            for (const name of [r.name, other.cid.slice(0, 12), ...other.ep.aliases]) {
              add(view, name, other.ep);
              if (net) add(view, `${name}.${net.Name}`, other.ep);
            }
          }
          for (const link of mine.links) {
            const [target, alias] = link.split(':');
            const hit = [...this.running.entries()].find(([, r]) => r.name === target.replace(/^\//, ''));
            const tep = hit && (eps.get(hit[0]) ?? []).find((e) => e.networkId === mine.networkId);
            if (tep) add(view, alias || target, tep);
          }
        }
        if (ep.ipv4) records.views[ep.ipv4] = view;
        if (ep.ipv6) records.views[ep.ipv6] = view;
      }
      for (const { cid, ep } of members.get(nid) ?? []) {
        const name = `${this.running.get(cid)!.name}.${nets.get(nid)?.Name ?? ''}`;
        if (ep.ipv4) records.ptr[ep.ipv4] = name;
      }
      // A network whose agent died must not stop the others from learning their names.
      await ns.setRecords(records).catch(() => undefined);
    }
  }

  /** Inspect's `NetworkSettings` of a `bridge` container (dockerd's keys; addresses while it runs). */
  async networkSettings(c: Container): Promise<Record<string, unknown>> {
    const eps = await this.records.endpoints(c.id);
    const nets = new Map((await this.records.list()).map((n) => [n.Id, n]));
    const running = this.running.get(c.id);
    const networks: Record<string, unknown> = {};
    for (const ep of eps) {
      const n = nets.get(ep.networkId);
      const up = running?.attached.has(ep.networkId) === true;
      const gw4 = n?.IPAM.Config.find((p) => parseCidr(p.Subnet).family === 4)?.Gateway ?? '';
      const gw6 = n?.IPAM.Config.find((p) => parseCidr(p.Subnet).family === 6)?.Gateway ?? '';
      networks[n?.Name ?? ep.networkId] = {
        IPAMConfig: ep.ipamConfig,
        Links: ep.links.length ? ep.links : null,
        Aliases: ep.aliases,
        NetworkID: ep.networkId,
        EndpointID: up ? ep.endpointId : '',
        Gateway: up ? gw4 : '',
        IPAddress: up ? (ep.ipv4 ?? '') : '',
        IPPrefixLen: up && ep.ipv4 && n ? prefixOf(n, ep.ipv4) : 0,
        IPv6Gateway: up && ep.ipv6 ? gw6 : '',
        GlobalIPv6Address: up ? (ep.ipv6 ?? '') : '',
        GlobalIPv6PrefixLen: up && ep.ipv6 && n ? prefixOf(n, ep.ipv6) : 0,
        MacAddress: up ? ep.mac : '',
        DriverOpts: ep.driverOpts,
      };
    }
    const first = eps[0] ? (networks[nets.get(eps[0].networkId)?.Name ?? eps[0].networkId] as Record<string, unknown>) : undefined;
    return {
      Bridge: '',
      SandboxID: '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SandboxKey: running ? `/proc/${running.pid}/ns/net` : '',
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: first?.EndpointID ?? '',
      Gateway: first?.Gateway ?? '',
      GlobalIPv6Address: first?.GlobalIPv6Address ?? '',
      GlobalIPv6PrefixLen: first?.GlobalIPv6PrefixLen ?? 0,
      IPAddress: first?.IPAddress ?? '',
      IPPrefixLen: first?.IPPrefixLen ?? 0,
      IPv6Gateway: first?.IPv6Gateway ?? '',
      MacAddress: first?.MacAddress ?? '',
      Networks: networks,
    };
  }

  /** Daemon stop: every network's namespace ends (agents, slirp4netns, bridges, veths). */
  async close(): Promise<void> {
    this.closing = true;
    await this.serial(async () => {
      this.running.clear();
      for (const id of [...this.live.keys()]) await this.shutdown(id);
    });
  }
}

/** The prefix length of the subnet of `n` holding `ip`. */
function prefixOf(n: NetworkRecord, ip: string): number {
  for (const c of n.IPAM.Config) {
    const sub = parseCidr(c.Subnet);
    if (contains(sub, ip)) return sub.prefix;
  }
  return parseIp(ip).family === 4 ? 32 : 128;
}

const ENDPOINT_FIELDS = new Set(['Aliases', 'Links', 'IPAMConfig', 'DriverOpts', 'NetworkID', 'EndpointID', 'Gateway', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'MacAddress']);

/** Refuses endpoint settings that are not applied (400 naming the field). */
function checkEndpointRequest(net: string, ep: EndpointRequest): void {
  for (const [k, v] of Object.entries(ep ?? {})) {
    if (!ENDPOINT_FIELDS.has(k) && !zero(v)) throw new BuildError('INVALID_ARGUMENT', `NetworkingConfig.EndpointsConfig["${net}"].${k} is not supported by mybuild`);
  }
  if (!zero(ep?.MacAddress)) throw new BuildError('INVALID_ARGUMENT', `NetworkingConfig.EndpointsConfig["${net}"].MacAddress is not supported by mybuild`);
  if (ep?.IPAMConfig?.LinkLocalIPs?.length) {
    for (const ip of ep.IPAMConfig.LinkLocalIPs) if (!contains(parseCidr('169.254.0.0/16'), ip) && !ip.startsWith('fe80:')) throw new BuildError('INVALID_ARGUMENT', `invalid link-local IP address: ${ip}`);
  }
  for (const l of ep?.Links ?? []) if (!/^[^:]+(:[^:]+)?$/.test(l)) throw new BuildError('INVALID_ARGUMENT', `invalid link: ${l} (expected container:alias)`);
}
