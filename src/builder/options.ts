/**
 * Build options: what `mybuild build` flags, the daemon's POST /build and the library API
 * `build(options)` all turn into. Parsing helpers here are pure.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { CacheExportSpec, CacheImportSpec } from '../cache/remote/spec.js';
import type { Credentials } from '../registry/auth.js';
import type { ContainerResources } from '../runtime/spec.js';
import { parseCsv, type OutputSpec } from './output-spec.js';
import type { SshSpec } from './ssh-agents.js';
import type { ProvenanceSpec } from './provenance-spec.js';

export interface SecretSpec {
  id: string;
  src?: string;
  env?: string;
}

export interface BuildOptions {
  /** The context directory (absolute). */
  contextDir: string;
  /** Path of the Dockerfile, or undefined when `dockerfileText` is given (`-f -`). */
  dockerfilePath?: string;
  dockerfileText?: string;
  /** Name errors are reported against (default: the Dockerfile's path relative to cwd, or "Dockerfile"). */
  dockerfileName?: string;
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  labels: Record<string, string>;
  platform?: string;
  outputs: OutputSpec[];
  iidfile?: string;
  metadataFile?: string;
  push: boolean;
  network: 'default' | 'none' | 'host';
  secrets: SecretSpec[];
  /** OCI (default) or Docker schema2 media types. */
  format: 'oci' | 'docker';
  /** The compression of the layers pushed and exported (the store keeps build layers uncompressed: src/store/layer-variants.ts). */
  compression: 'gzip' | 'zstd';
  /** `--ssh`: the agents RUN --mount=type=ssh forwards, by id (./ssh-agents.ts). */
  ssh?: SshSpec[];
  /** `--memory`, `--cpu-*`…: runc's cgroup limits of every RUN step (not in its cache key, as BuildKit's op metadata). */
  runResources?: ContainerResources;
  /** SOURCE_DATE_EPOCH in seconds from the environment (a SOURCE_DATE_EPOCH build arg wins: ./source-date-epoch.ts). */
  sourceDateEpoch?: number;
  /** The context's own time, for SOURCE_DATE_EPOCH=context (seconds): a git context's commit time, a URL context's Last-Modified or newest archived file. */
  contextEpoch?: number;
  /** Entitlements (`--allow security.insecure`). */
  allow: string[];
  /** OCI runtime binary (default runc). */
  runtime?: string;
  explain: boolean;
  /** `--cache-from`: remote cache sources, asked in order after the local cache (src/cache/remote). */
  cacheFrom?: CacheImportSpec[];
  /** `--cache-to`: where the build's cache is exported after the build (src/cache/remote). */
  cacheTo?: CacheExportSpec[];
  /** `--add-host NAME:IP`: /etc/hosts entries of RUN steps (part of their cache key, as BuildKit's ExtraHosts). */
  extraHosts?: { host: string; ip: string }[];
  /** `--ulimit NAME=SOFT[:HARD]`: rlimits of RUN steps (part of their key, as BuildKit's ExecOp Ulimit). */
  ulimits?: { name: string; soft: number; hard: number }[];
  /** `--shm-size`: bytes of RUN steps' /dev/shm. */
  shmSize?: number;
  /** `--no-cache-filter STAGE`: stages (by name, `stage-N` for unnamed ones) built without the cache. */
  noCacheFilter?: string[];
  /** `--annotation KEY=VALUE` / `manifest:KEY=VALUE`: annotations of the image manifest. */
  annotations?: Record<string, string>;
  /** `--build-context NAME=VALUE` by dockerui's name key (src/builder/named-contexts.ts). */
  buildContexts?: Record<string, string>;
  /**
   * Registry credentials by normalised registry domain (`127.0.0.1:5000`, `docker.io`) for FROM
   * pulls and `--push`; a domain not listed uses this process's docker config. The daemon fills
   * it from the client's `X-Registry-Config`.
   */
  registryAuth?: Record<string, Credentials>;
  /**
   * `--provenance` / `--attest type=provenance` (src/builder/provenance-spec.ts): the SLSA
   * provenance to attach (`implicit`: buildx's default, which the CLI asks for: mode=min on
   * pushes only); undefined or null: none, as BuildKit without an `attest:provenance` option.
   */
  provenance?: ProvenanceSpec | null;
  /** A remote build context (git URL or tarball URL) and the commit it was checked out at: the provenance's configSource. */
  contextSource?: { url: string; commit?: string };
  /** The provenance invocation id shared by the platforms of one multi-platform build (src/builder/multi-platform.ts). */
  invocationId?: string;
}

export function defaultBuildOptions(contextDir: string): BuildOptions {
  return {
    contextDir,
    tags: [],
    buildArgs: {},
    noCache: false,
    pull: false,
    labels: {},
    outputs: [],
    push: false,
    network: 'default',
    secrets: [],
    format: 'oci',
    compression: 'gzip',
    allow: [],
    explain: false,
  };
}

function csvFields(flag: string, value: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of parseCsv(value)) {
    if (f === '') continue;
    const i = f.indexOf('=');
    if (i < 0) throw new UsageError(`invalid value for ${flag}: "${f}" is not key=value`, { hint: `e.g. ${flag} type=local,dest=out` });
    m.set(f.slice(0, i).trim().toLowerCase(), f.slice(i + 1));
  }
  return m;
}

/** The bytes of the `--secret` named `id` (its file, or its environment variable in `env`), or undefined. */
export function secretBytes(secrets: readonly SecretSpec[], id: string, env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const spec = secrets.find((s) => s.id === id);
  if (spec?.src) return readFileSync(spec.src);
  if (spec?.env !== undefined && env[spec.env] !== undefined) return Buffer.from(env[spec.env]!);
  return undefined;
}

/** `--secret id=x,src=path` / `id=x,env=VAR` / `id=x` (env var of the same name). */
export function parseSecret(value: string): SecretSpec {
  const f = csvFields('--secret', value);
  const id = f.get('id');
  if (!id) throw new UsageError(`--secret needs id=NAME: "${value}"`);
  const src = f.get('src') ?? f.get('source');
  const env = f.get('env');
  if (src && env) throw new UsageError(`--secret ${id}: give src= or env=, not both`);
  return { id, ...(src ? { src } : {}), ...(env ? { env } : env === undefined && !src ? { env: id } : {}) };
}

/** `K=V` → [K, V]; a bare `K` takes its value from `env` (docker's behaviour), or is dropped if unset. */
export function parseKeyValue(flag: string, value: string, env: NodeJS.ProcessEnv): [string, string] | null {
  const i = value.indexOf('=');
  if (i === 0) throw new UsageError(`invalid ${flag} "${value}": empty name`);
  if (i < 0) {
    const v = env[value];
    return v === undefined ? null : [value, v];
  }
  return [value.slice(0, i), value.slice(i + 1)];
}

/** SOURCE_DATE_EPOCH from the environment or a build arg, validated. */
export function parseSourceDateEpoch(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`SOURCE_DATE_EPOCH must be a number of seconds, got "${value}"`);
  return Number(value);
}
