/**
 * Address management of user-defined networks (dockerd's default IPAM driver): subnets in CIDR
 * form for IPv4 and IPv6, docker's default pools (172.17.0.0/16 for `bridge`, then 172.18 …
 * 172.31 /16s, then 192.168.0.0/20 … /20s), the gateway (the subnet's first address unless
 * given), and the next free address of a subnet or its IPRange. Pure.
 */
import { isIP } from 'node:net';
import { BuildError } from '../../errors.js';

export interface Cidr {
  family: 4 | 6;
  /** The network address as a number. */
  base: bigint;
  prefix: number;
}

function bits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

export function parseIp(ip: string): { family: 4 | 6; value: bigint } {
  const fam = isIP(ip);
  if (fam === 4) return { family: 4, value: ip.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n) };
  if (fam === 6) {
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail !== undefined ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    return { family: 6, value: groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
  }
  throw new BuildError('INVALID_ARGUMENT', `invalid IP address: ${ip}`);
}

export function formatIp(family: 4 | 6, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const groups = [...Array(8).keys()].map((i) => ((v >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // The longest run of zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** `a.b.c.d/n` or `x::/n` (host bits are cleared, as dockerd reports `2001:389::1/64` as given but uses its network). */
export function parseCidr(s: string): Cidr {
  const m = /^([^/]+)\/(\d+)$/.exec(s);
  if (!m) throw new BuildError('INVALID_ARGUMENT', `invalid CIDR address: ${s}`);
  const { family, value } = parseIp(m[1]);
  const prefix = Number(m[2]);
  if (prefix > bits(family)) throw new BuildError('INVALID_ARGUMENT', `invalid CIDR address: ${s}`);
  const hostBits = BigInt(bits(family) - prefix);
  return { family, base: (value >> hostBits) << hostBits, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.base)}/${c.prefix}`;
}

export function size(c: Cidr): bigint {
  return 1n << BigInt(bits(c.family) - c.prefix);
}

export function contains(c: Cidr, ip: string): boolean {
  const p = parseIp(ip);
  return p.family === c.family && p.value >= c.base && p.value < c.base + size(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** docker's default local pools, in order (`bridge` takes the first). */
export function defaultPools(): Cidr[] {
  const out: Cidr[] = [];
  for (let i = 17; i <= 31; i++) out.push(parseCidr(`172.${i}.0.0/16`));
  for (let i = 0; i < 256; i += 16) out.push(parseCidr(`192.168.${i}.0/20`));
  return out;
}

/** The first default pool that overlaps none of `used`. */
export function pickPool(used: Cidr[]): Cidr {
  const free = defaultPools().find((p) => !used.some((u) => overlaps(u, p)));
  if (!free) throw new BuildError('INVALID_ARGUMENT', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  return free;
}

/** The subnet's first host address (dockerd's default gateway). */
export function firstHost(c: Cidr): string {
  return formatIp(c.family, c.base + 1n);
}

/**
 * The first address of `range` (default: the subnet) that is not in `taken`, not the network
 * address and, for IPv4, not the broadcast address. Throws when the range is full.
 */
export function nextFree(subnet: Cidr, range: Cidr | undefined, taken: Set<string>): string {
  const r = range ?? subnet;
  const last = r.base + size(r) - 1n;
  const subnetLast = subnet.base + size(subnet) - 1n;
  for (let v = r.base; v <= last && v - r.base < 65536n; v++) {
    if (v === subnet.base || (subnet.family === 4 && v === subnetLast)) continue;
    const ip = formatIp(subnet.family, v);
    if (!taken.has(ip)) return ip;
  }
  throw new BuildError('INVALID_ARGUMENT', `no available IP addresses on the network (subnet ${formatCidr(subnet)})`);
}

/** docker's MAC of an IPv4 address: 02:42 and the address' four bytes. */
export function macOf(ip4: string | undefined, seed: string): string {
  const bytes = ip4 ? ip4.split('.').map(Number) : [...Buffer.from(seed.slice(0, 8), 'hex')];
  return ['02', '42', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
