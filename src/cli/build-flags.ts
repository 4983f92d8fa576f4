/**
 * The buildx flags of `mybuild build` beyond docker build's classic set (issue 17), parsed into
 * BuildOptions or refused naming the flag: `--add-host`, `--ulimit`, `--shm-size`,
 * `--no-cache-filter`, `--annotation`, `--load`, `--provenance`/`--attest` (SLSA provenance:
 * src/builder/provenance-spec.ts; `--sbom`/`type=sbom` refused unless disabled), and the refused
 * `--cgroup-parent`. Formats as buildx and docker's go-units parse them. (`--ssh` is parsed
 * with the environment: src/builder/ssh-agents.ts parseSshSpec.)
 */
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';
import type { BuildOptions } from '../builder/options.js';
import { parseAttestFlags } from '../builder/provenance-spec.js';

/** The flags this module handles, in parseArgs' table form. */
export const BUILDX_FLAGS = {
  'add-host': { type: 'string', multiple: true, arg: 'strings', description: 'Add a custom host-to-IP mapping (format: "host:ip")' },
  ulimit: { type: 'string', multiple: true, arg: 'ulimit', description: 'Ulimit options (e.g., nofile=1024:2048)' },
  'shm-size': { type: 'string', arg: 'bytes', description: 'Size of /dev/shm for RUN steps' },
  'no-cache-filter': { type: 'string', multiple: true, arg: 'stringArray', description: 'Do not cache specified stages' },
  annotation: { type: 'string', multiple: true, arg: 'stringArray', description: 'Add annotation to the image (manifest: prefix or none)' },
  load: { type: 'boolean', description: 'Shorthand for "--output=type=docker" (the image is in the store already)' },
  provenance: { type: 'string', description: 'Shorthand for "--attest=type=provenance" (true, false, mode=min|max, version=v1|v0.2)' },
  attest: { type: 'string', multiple: true, arg: 'stringArray', description: 'Attestation parameters (format: "type=provenance,mode=max"; sbom only disabled)' },
  sbom: { type: 'string', description: 'SBOM attestation (not supported: only false)' },
  'cgroup-parent': { type: 'string', description: 'Parent cgroup for RUN steps (not supported: refused)' },
  ssh: { type: 'string', multiple: true, arg: 'stringArray', description: 'SSH agent socket or keys to expose to the build (format: "default|<id>[=<socket>|<key>[,<key>]]")' },
} as const;

type Values = { [K in keyof typeof BUILDX_FLAGS]?: (typeof BUILDX_FLAGS)[K] extends { type: 'boolean' } ? boolean : (typeof BUILDX_FLAGS)[K] extends { multiple: true } ? string[] : string };

/** buildx's `--add-host NAME:IP` (or `NAME=IP`); `host-gateway` has no meaning without a bridge. */
export function parseAddHost(value: string): { host: string; ip: string } {
  let i = value.indexOf('=');
  if (i < 0) i = value.indexOf(':');
  const host = i < 0 ? '' : value.slice(0, i);
  let ip = i < 0 ? '' : value.slice(i + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (!host || !ip) throw new UsageError(`invalid --add-host "${value}": expected HOST:IP`, { hint: 'e.g. --add-host db.local:10.0.0.5' });
  if (ip === 'host-gateway') throw new UsageError(`--add-host ${value}: host-gateway is not supported (mybuild creates no bridge, so there is no gateway)`, { hint: 'give the IP address; with --network=host the host is 127.0.0.1' });
  if (!isIP(ip)) throw new UsageError(`invalid --add-host "${value}": invalid IP address "${ip}"`);
  return { host, ip };
}

const ULIMITS = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

/** go-units' ParseUlimit: `NAME=SOFT[:HARD]`, -1 for unlimited, soft ≤ hard. */
export function parseUlimit(value: string): { name: string; soft: number; hard: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
  if (!m) throw new UsageError(`invalid --ulimit "${value}": expected NAME=SOFT[:HARD]`, { hint: 'e.g. --ulimit nofile=1024:2048' });
  const name = m[1]!;
  if (!ULIMITS.has(name)) throw new UsageError(`invalid --ulimit "${value}": unknown ulimit type "${name}"`, { hint: `one of ${[...ULIMITS].join(', ')}` });
  const num = (s: string) => (Number(s) === -1 ? 2 ** 64 - 1 : Number(s));
  const soft = num(m[2]!);
  const hard = m[3] !== undefined ? num(m[3]) : soft;
  if (soft > hard) throw new UsageError(`invalid --ulimit "${value}": soft limit ${m[2]} is larger than the hard limit ${m[3]}`);
  return { name, soft, hard };
}

/** go-units' RAMInBytes: a number with an optional b, k, m, g, t, p suffix (powers of 1024). */
export function parseShmSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgtp])?i?b?$/i.exec(value.trim());
  if (!m) throw new UsageError(`invalid --shm-size "${value}": expected a size such as 64m or 1g`);
  const pow = { b: 0, k: 1, m: 2, g: 3, t: 4, p: 5 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  const bytes = Math.floor(Number(m[1]) * 1024 ** pow);
  if (bytes <= 0) throw new UsageError(`invalid --shm-size "${value}": must be greater than 0`);
  return bytes;
}

/**
 * buildx's `--annotation`: `KEY=VALUE` or `manifest:KEY=VALUE` go on the image manifest (every
 * platform's); the other types (`index:`, `manifest-descriptor:`, `index-descriptor:`,
 * platform-qualified) are refused.
 */
export function parseAnnotation(value: string, into: Record<string, string>): void {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UsageError(`invalid --annotation "${value}": expected [TYPE:]KEY=VALUE`);
  let key = value.slice(0, eq);
  const m = /^([a-z-]+)(\[[^\]]*\])?:(.+)$/.exec(key);
  if (m && ['manifest', 'index', 'manifest-descriptor', 'index-descriptor'].includes(m[1]!)) {
    if (m[1] !== 'manifest' || m[2]) throw new UsageError(`--annotation ${value}: ${m[1]}${m[2] ?? ''} annotations are not supported by mybuild yet (only the image manifest's)`, { hint: 'use KEY=VALUE or manifest:KEY=VALUE (the image manifest)' });
    key = m[3]!;
  }
  into[key] = value.slice(eq + 1);
}

/** Refuses a flag mybuild does not implement, naming it. */
function refuse(flag: string, why: string, hint?: string): never {
  throw new UsageError(`${flag} is not supported by mybuild: ${why}`, hint ? { hint } : {});
}

/** Applies the parsed values of BUILDX_FLAGS to `o` (after the outputs are known, for --load). */
export function applyBuildxFlags(o: BuildOptions, v: Values, env: NodeJS.ProcessEnv = {}): void {
  // buildx's default provenance (mode=min, pushes only) unless a flag or BUILDX_NO_DEFAULT_ATTESTATIONS says otherwise.
  o.provenance = parseAttestFlags({ ...(v.provenance !== undefined ? { provenance: v.provenance } : {}), ...(v.sbom !== undefined ? { sbom: v.sbom } : {}), ...(v.attest ? { attest: v.attest } : {}) }, env);
  if (v['cgroup-parent'] !== undefined) refuse('--cgroup-parent', 'RUN steps run in the cgroup runc gives them; mybuild does not place them under another parent');
  if (v['add-host']?.length) o.extraHosts = v['add-host'].map(parseAddHost);
  if (v.ulimit?.length) {
    const byName = new Map(v.ulimit.map(parseUlimit).map((u) => [u.name, u]));
    o.ulimits = [...byName.values()];
  }
  if (v['shm-size'] !== undefined) o.shmSize = parseShmSize(v['shm-size']);
  if (v['no-cache-filter']?.length) o.noCacheFilter = v['no-cache-filter'].flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (v.annotation?.length) {
    const a: Record<string, string> = {};
    for (const x of v.annotation) parseAnnotation(x, a);
    if (o.format === 'docker') throw new UsageError('--annotation needs OCI media types: manifest annotations are not part of the Docker schema2 format', { hint: 'drop --format docker' });
    o.annotations = a;
  }
  // buildx --load puts the image into the local image store: mybuild's store, which gets it
  // unless the outputs say otherwise; then --load adds the store as an output.
  if (v.load && o.outputs.length && !o.outputs.some((x) => x.type === 'image' && x.store !== false)) o.outputs = [...o.outputs, { type: 'image' }];
}
