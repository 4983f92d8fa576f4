/**
 * What the daemon records about networks, in the store's layout:
 * - `<root>/networks/<id>.json`: one network as GET /networks/{id} shows it (dockerd's keys);
 *   the predefined `bridge`, `host` and `none` are written on first open;
 * - `<root>/containers/<id>/networks.json`: a container's endpoints, in the order it was
 *   connected (the first carries its default route and DNS), removed with the container.
 * Writes are atomic (a temporary file renamed over the old one).
 */
import { randomBytes } from 'node:crypto';
import { storeLayout } from '../../store/layout.js';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { BuildError, NotFoundError } from '../../errors.js';
import { writeFileAtomic } from '../../store/fs-util.js';
import { storeDir } from '../../store/store-dirs.js';

export interface IpamPool {
  Subnet: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** GET /networks/{id} without `Containers` (which is live state). */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IpamPool[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** One container's attachment to one network (NetworkSettings.Networks[name] comes from it). */
export interface EndpointRecord {
  networkId: string;
  endpointId: string;
  aliases: string[];
  /** `container:alias` (dockerd's Links of an endpoint). */
  links: string[];
  /** What was asked (EndpointSettings.IPAMConfig), null when nothing. */
  ipamConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  driverOpts: Record<string, string> | null;
  /** The addresses given to it (from ipamConfig or the network's pool). */
  ipv4?: string;
  ipv6?: string;
  mac: string;
}

export const PREDEFINED = ['bridge', 'host', 'none'] as const;

export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** The network records of a store (see the module comment). */
export class NetworkRecords {
  readonly dir: string;

  constructor(
    root: string,
    readonly containersDir: string,
  ) {
    this.dir = storeLayout(root).networks;
  }

  /** Creates the directory and the predefined networks when missing. */
  async init(): Promise<void> {
    await storeDir(this.dir);
    const have = new Set((await this.list()).map((n) => n.Name));
    const base = (name: string, driver: string): NetworkRecord => ({
      Name: name,
      Id: newId(),
      Created: new Date().toISOString(),
      Scope: 'local',
      Driver: driver,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: [] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Options: {},
      Labels: {},
    });
    if (!have.has('bridge')) {
      await this.write({
        ...base('bridge', 'bridge'),
        IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] },
        Options: { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true', 'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.name': 'docker0', 'com.docker.network.driver.mtu': '1500' },
      });
    }
    if (!have.has('host')) await this.write(base('host', 'host'));
    if (!have.has('none')) await this.write(base('none', 'null'));
  }

  async list(): Promise<NetworkRecord[]> {
    const out: NetworkRecord[] = [];
    for (const f of await readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}\.json$/.test(f)) continue;
      const rec = await readFile(path.join(this.dir, f), 'utf8').then((t) => JSON.parse(t) as NetworkRecord, () => undefined);
      if (rec) out.push(rec);
    }
    return out.sort((a, b) => (a.Created < b.Created ? -1 : a.Created > b.Created ? 1 : 0));
  }

  async write(n: NetworkRecord): Promise<void> {
    await writeFileAtomic(path.join(this.dir, `${n.Id}.json`), JSON.stringify(n, null, 2), this.dir);
  }

  async delete(id: string): Promise<void> {
    await rm(path.join(this.dir, `${id}.json`), { force: true });
  }

  /**
   * The network `ref` names: its full ID, its name, or a unique ID prefix (dockerd's order).
   * NotFoundError `network X not found`; BuildError when a name or prefix is ambiguous.
   */
  async find(ref: string): Promise<NetworkRecord> {
    const all = await this.list();
    const byId = all.find((n) => n.Id === ref);
    if (byId) return byId;
    const byName = all.filter((n) => n.Name === ref);
    if (byName.length === 1) return byName[0];
    if (byName.length > 1) throw new BuildError('INVALID_ARGUMENT', `network ${ref} is ambiguous (${byName.length} matches found based on name)`);
    const byPrefix = ref !== '' ? all.filter((n) => n.Id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new BuildError('INVALID_ARGUMENT', `network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw new NotFoundError(`network ${ref} not found`, { hint: 'list the networks with docker network ls' });
  }

  private endpointsFile(containerId: string): string {
    return path.join(this.containersDir, containerId, 'networks.json');
  }

  async endpoints(containerId: string): Promise<EndpointRecord[]> {
    return readFile(this.endpointsFile(containerId), 'utf8').then((t) => JSON.parse(t) as EndpointRecord[], () => []);
  }

  async writeEndpoints(containerId: string, eps: EndpointRecord[]): Promise<void> {
    await writeFileAtomic(this.endpointsFile(containerId), JSON.stringify(eps, null, 2), path.join(this.containersDir, containerId));
  }

  /** Every container's endpoints (containers with none are left out). */
  async allEndpoints(): Promise<Map<string, EndpointRecord[]>> {
    const out = new Map<string, EndpointRecord[]>();
    for (const id of await readdir(this.containersDir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const eps = await this.endpoints(id);
      if (eps.length) out.set(id, eps);
    }
    return out;
  }
}
