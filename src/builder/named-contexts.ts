/**
 * Named contexts (`--build-context NAME=VALUE`, buildx): a name that `FROM NAME`, `COPY
 * --from=NAME` and `RUN --mount=from=NAME` resolve to before any image of that name, and a stage
 * `AS NAME` that the context replaces (BuildKit's dockerfile2llb: a stage whose name is a named
 * context is not built; its base and commands are the context's). Names are compared as
 * dockerui does: the familiar form of a reference without `:latest` (`docker.io/library/alpine:latest`
 * is `alpine`).
 *
 * Values, as buildx reads them:
 * - `docker-image://REF`: the image REF (store or registry, as FROM);
 * - `oci-layout://PATH[:TAG|@DIGEST]`: an image of a local OCI layout, imported into the store's
 *   content (no ref is tagged);
 * - a git URL or an http(s) tarball: fetched (src/context/remote.ts) into a directory;
 * - anything else: a local directory.
 * A directory becomes one layer (its files, with their owners and modes; its own .dockerignore
 * honoured) on an empty config, so it can be a base, a COPY source and a RUN mount alike.
 */
import { readFileSync } from 'node:fs';
import { lstat, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { BuildError, UsageError } from '../errors.js';
import { emptyConfig } from '../image/config.js';
import { importArchive } from '../image/formats/import.js';
import type { LayerEntry } from '../image/layer-entry.js';
import { writeLayer } from '../image/layer-writer.js';
import { layersOf } from '../image/layers.js';
import { parseReference } from '../image/reference.js';
import type { Platform } from '../oci/types.js';
import { fetchContext } from '../context/remote.js';
import { parseIgnoreFile, PatternMatcher } from '../context/dockerignore.js';
import { isGitSource, isUrlSource } from '../plan/copy-sources.js';
import { cacheKey } from '../cache/key.js';
import { entryFromDisk } from './fs-entries.js';
import type { SourceFs } from './instructions/handler.js';
import type { BuildSession } from './session.js';
import { storeLayout } from '../store/layout.js';

/** A named context as the build uses it: an image reference, or a filesystem. */
export type NamedContextTarget = { kind: 'image'; ref: string } | { kind: 'fs'; fs: SourceFs & { created?: string } };

/** dockerui's key of a name: the familiar reference without `:latest`, else the name lower-cased. */
export function namedContextKey(name: string): string {
  try {
    const ref = parseReference(name.toLowerCase());
    return ref.familiar().replace(/:latest$/, '');
  } catch {
    return name.toLowerCase();
  }
}

/** Checks and normalises `--build-context` values (local paths made absolute against `cwd`). */
export function parseBuildContexts(values: readonly string[], cwd: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw new UsageError(`invalid --build-context "${v}": expected NAME=VALUE`, { hint: 'e.g. --build-context base=docker-image://alpine:3.20 or --build-context src=../src' });
    const name = v.slice(0, i);
    let value = v.slice(i + 1);
    if (value.startsWith('target:')) throw new UsageError(`--build-context ${name}=${value}: target: contexts are a bake feature, not supported by mybuild`);
    if (value.startsWith('oci-layout://')) {
      const rest = value.slice('oci-layout://'.length);
      value = `oci-layout://${path.resolve(cwd, rest)}`;
    } else if (!value.startsWith('docker-image://') && !isGitSource(value) && !isUrlSource(value)) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw new UsageError(`--build-context ${name}=${value}: unsupported context source`, { hint: 'docker-image://REF, oci-layout://PATH[:TAG], a git or http(s) URL, or a local directory' });
      value = path.resolve(cwd, value);
    }
    out[namedContextKey(name)] = value;
  }
  return out;
}

/** Splits `PATH[:TAG|@DIGEST]` of an oci-layout value (a `:` after the last `/` starts the tag). */
function splitLayout(rest: string): { dir: string; tag?: string; digest?: string } {
  const at = rest.lastIndexOf('@');
  if (at > rest.lastIndexOf('/')) return { dir: rest.slice(0, at), digest: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) return { dir: rest.slice(0, colon), tag: rest.slice(colon + 1) };
  return { dir: rest };
}

/** The named contexts of one build; each is loaded once, when first named. */
export class NamedContexts {
  private loaded = new Map<string, Promise<NamedContextTarget>>();
  private cleanups: (() => Promise<void>)[] = [];

  constructor(private readonly session: BuildSession, private readonly values: Record<string, string>) {}

  /** Whether `name` (a FROM base, a --from, a stage name) is a named context. */
  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.values, namedContextKey(name));
  }

  /** The context `name` names (see the module comment); call only when `has(name)`. */
  target(name: string, platform: Platform): Promise<NamedContextTarget> {
    const key = namedContextKey(name);
    let p = this.loaded.get(key);
    if (!p) {
      p = this.load(key, this.values[key]!, platform);
      this.loaded.set(key, p);
    }
    return p;
  }

  /** Removes fetched directories. */
  async close(): Promise<void> {
    for (const c of this.cleanups.splice(0)) await c().catch(() => undefined);
  }

  private async load(name: string, value: string, platform: Platform): Promise<NamedContextTarget> {
    if (value.startsWith('docker-image://')) return { kind: 'image', ref: value.slice('docker-image://'.length) };
    if (value.startsWith('oci-layout://')) return this.layout(name, value.slice('oci-layout://'.length), platform);
    if (isGitSource(value) || isUrlSource(value)) {
      const fetched = await fetchContext(value, { tmpParent: storeLayout(this.session.req.root).tmp, stdin: process.stdin, signal: this.session.signal, secret: (id) => this.secret(id) });
      this.cleanups.push(fetched.cleanup);
      if (fetched.dockerfileText !== undefined) throw new BuildError('CONTEXT', `--build-context ${name}=${value}: not a git repository or a tar archive`);
      return { kind: 'fs', fs: await this.dirFs(name, fetched.dir, platform) };
    }
    const st = await lstat(value).catch(() => null);
    if (!st?.isDirectory()) throw new BuildError('CONTEXT', `--build-context ${name}=${value}: not a directory`, { hint: 'a local named context is a directory' });
    return { kind: 'fs', fs: await this.dirFs(name, value, platform) };
  }

  private secret(id: string): Buffer | undefined {
    const spec = this.session.req.secrets.find((s) => s.id === id);
    if (spec?.src) return readFileSync(spec.src);
    if (spec?.env !== undefined && process.env[spec.env] !== undefined) return Buffer.from(process.env[spec.env]!);
    return undefined;
  }

  /** An image of an OCI layout: imported into the build's content (leased), resolved for `platform`. */
  private async layout(name: string, rest: string, platform: Platform): Promise<NamedContextTarget> {
    const { dir, tag, digest } = splitLayout(rest);
    let images;
    try {
      ({ images } = await importArchive(this.session.content, dir));
    } catch (err) {
      throw new BuildError('CONTEXT', `--build-context ${name}=oci-layout://${rest}: ${(err as Error).message}`, { cause: err });
    }
    const pick = digest
      ? images.find((i) => i.manifestDescriptor.digest === digest)
      : tag
        ? images.find((i) => i.names.some((n) => n === tag || n.endsWith(`:${tag}`)))
        : images.length === 1 ? images[0] : images.find((i) => i.names.some((n) => n === 'latest' || n.endsWith(':latest')));
    if (!pick) throw new BuildError('CONTEXT', `--build-context ${name}=oci-layout://${rest}: no image ${digest ?? tag ?? '(give :TAG, the layout has several)'} in the layout`, { hint: images.length ? `the layout holds: ${images.map((i) => i.names.join(',') || i.manifestDescriptor.digest).join('; ')}` : undefined });
    const img = await this.session.store.resolveDescriptor(pick.manifestDescriptor, platform);
    await this.session.pin(img.manifestDescriptor.digest, img.configDigest, ...img.manifest.layers.map((l) => l.digest));
    return {
      kind: 'fs',
      fs: { fsKey: img.manifestDescriptor.digest, layers: layersOf(img.manifest, img.config, `image ${img.manifestDescriptor.digest}`).map((l) => ({ ...l, fromImage: true })), config: img.config, ...(img.config.created ? { created: img.config.created } : {}) },
    };
  }

  /** A directory as one layer on an empty config; its cache identity is the layer's diffID. */
  private async dirFs(name: string, dir: string, platform: Platform): Promise<SourceFs> {
    const ignore = await readFile(path.join(dir, '.dockerignore'), 'utf8').then((t) => PatternMatcher.compile(parseIgnoreFile(t)), () => undefined);
    const entries: LayerEntry[] = [];
    const visit = async (rel: string): Promise<void> => {
      for (const d of await readdir(path.join(dir, rel), { withFileTypes: true })) {
        const childRel = rel ? `${rel}/${d.name}` : d.name;
        if (ignore?.matchesOrParentMatches(childRel) && !(d.isDirectory() && ignore.patterns.some((p) => p.exclusion))) continue;
        const e = await entryFromDisk(path.join(dir, childRel), `/${childRel}`);
        if (e) entries.push(e);
        if (d.isDirectory()) await visit(childRel);
      }
    };
    await visit('');
    const { req } = this.session;
    const layer = await writeLayer(entries, this.session.content, { compression: req.compression, sourceDateEpoch: this.session.sourceDateEpoch });
    const time = this.session.sourceDateEpoch !== undefined ? { sourceDateEpoch: this.session.sourceDateEpoch } : {};
    const empty = emptyConfig(platform, time);
    const config = { ...empty, rootfs: { type: 'layers' as const, diff_ids: [layer.diffId] }, history: [{ ...(empty.created ? { created: empty.created } : {}), created_by: `named context ${name}`, comment: 'mybuild --build-context' }] };
    return { fsKey: cacheKey(['named-context', `layer=${layer.diffId}`]).digest, layers: [{ descriptor: layer.descriptor, diffId: layer.diffId }], config };
  }
}

const bySession = new WeakMap<BuildSession, NamedContexts>();

/** The named contexts of `session`'s build (made on first use). */
export function namedContextsOf(session: BuildSession): NamedContexts {
  let n = bySession.get(session);
  if (!n) {
    n = new NamedContexts(session, session.req.buildContexts ?? {});
    bySession.set(session, n);
  }
  return n;
}

/** Removes what the build's named contexts fetched (when the build ends). */
export async function closeNamedContexts(session: BuildSession): Promise<void> {
  await bySession.get(session)?.close();
}
