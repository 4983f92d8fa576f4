/**
 * End-to-end build helpers for tests: a store root with the busybox base loaded as
 * `busybox:latest`, contexts written from `{ path: content }` maps, and builds run in-process
 * (`build()`, events collected) or through the compiled CLI. Every built image goes through
 * `validateImage`.
 *
 *     const skip = buildSkipReason();                 // string when real builds cannot run here
 *     const root = await makeStoreRoot();             // temp store with busybox:latest
 *     const r = await buildFiles(root, { Dockerfile: 'FROM busybox\nRUN echo hi > /x\n' });
 *     r.config.config?.Env; r.events; r.result.imageId
 *
 * Temp dirs are created under `${TMPDIR:-/tmp}/mybuild-test-*`; `cleanupTemp()` removes the
 * ones this process made (call it in `after`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type BuildResult } from '../../src/builder/session.js';
import { build } from '../../src/builder/build.js';
import type { BuildEvent } from '../../src/builder/events.js';
import { defaultBuildOptions, type BuildOptions } from '../../src/builder/options.js';
import { importArchive } from '../../src/image/formats/import.js';
import { validateImage } from '../../src/image/validate.js';
import { isIndexType, parseJsonBlob } from '../../src/image/manifest.js';
import type { Descriptor, ImageConfig, Index, Manifest } from '../../src/oci/types.js';
import { ImageStore } from '../../src/store/image-store.js';
import { distributable, LayerVariants } from '../../src/store/layer-variants.js';
import { check, type Problem } from '../../src/store/gc.js';
import { baseImageSkipReason, ensureBaseImage, ensureMultiArchBaseImage } from './base-image.js';
import { cliPath } from './paths.js';

/** A file of a test context: its text, or text with a mode, or a symlink. */
export type ContextFile = string | { content: string | Buffer; mode?: number } | { symlink: string };

const made: string[] = [];

/** A fresh temp dir (removed by cleanupTemp). */
export async function tempDir(prefix = 'mybuild-test-'): Promise<string> {
  const d = await mkdtemp(path.join(process.env.TMPDIR || os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Removes every temp dir this process made through these helpers. Idempotent. */
export async function cleanupTemp(): Promise<void> {
  for (const d of made.splice(0)) {
    // A failed test may leave a mount behind: lazily unmount anything under d first.
    spawnSync('sh', ['-c', `grep -o " ${d}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`], { stdio: 'ignore' });
    await rm(d, { recursive: true, force: true }).catch(() => undefined);
  }
}

function onPath(tool: string): boolean {
  return [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'].some((d) => d && existsSync(path.join(d, tool)));
}

/** Why real builds (RUN on runc, overlay snapshots) cannot run here, or false. */
export function buildSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'real builds need root (mounts and runc)';
  if (!onPath('runc')) return 'runc is not installed (scripts/install-system-deps.sh)';
  return baseImageSkipReason();
}

/** Why a test needing `tools` cannot run here, or false. */
export function toolSkipReason(...tools: string[]): string | false {
  for (const t of tools) if (!onPath(t)) return `${t} is not installed (scripts/install-system-deps.sh)`;
  return false;
}

/** A temp store root with the busybox base loaded and tagged `busybox:latest`. */
export async function makeStoreRoot(): Promise<string> {
  const root = await tempDir('mybuild-root-');
  await loadBase(root);
  return root;
}

/** Loads the busybox base into the store at `root` as `busybox:latest`; returns its manifest digest. */
export async function loadBase(root: string): Promise<string> {
  const layout = await ensureBaseImage();
  const store = await ImageStore.open(root);
  const { images } = await importArchive(store.content, layout);
  const img = images[0];
  await store.setRef('docker.io/library/busybox:latest', img.manifestDescriptor);
  return img.manifestDescriptor.digest;
}

/** Writes `files` (relative paths) into `dir` (created). */
export async function writeFiles(dir: string, files: Record<string, ContextFile>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [rel, f] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await rm(p, { force: true, recursive: true });
    if (typeof f === 'string') await writeFile(p, f);
    else if ('symlink' in f) await symlink(f.symlink, p);
    else {
      await writeFile(p, f.content);
      if (f.mode !== undefined) await chmod(p, f.mode);
    }
  }
}

/** A new context dir holding `files`. */
export async function writeContext(files: Record<string, ContextFile>): Promise<string> {
  const dir = await tempDir('mybuild-ctx-');
  await writeFiles(dir, files);
  return dir;
}

export interface InProcessBuild {
  result: BuildResult;
  events: BuildEvent[];
  manifest: Manifest;
  config: ImageConfig;
  contextDir: string;
  /** Step numbers whose cache was hit / missed (from step-cache events). */
  hits: number[];
  misses: number[];
  /** stdout+stderr of each step, by step number. */
  output: Map<number, string>;
  /**
   * The image as a push sends it (its uncompressed build layers as their gzip variants, made
   * when missing: src/store/layer-variants.ts): the manifest digest a registry would serve.
   */
  distributable(): Promise<{ digest: string; manifest: Manifest }>;
}

/** The gzip form of the stored manifest `desc` in the store at `root`, as a push sends it. */
export async function distributableOf(root: string, desc: Descriptor): Promise<{ digest: string; manifest: Manifest }> {
  const store = await ImageStore.open(root);
  const d = await distributable(new LayerVariants(root), store.content, desc, { compression: 'gzip' });
  return { digest: d.digest, manifest: JSON.parse((await store.content.readBytes(d.digest)).toString('utf8')) as Manifest };
}

/**
 * Builds `contextDir` (Dockerfile in it unless `opts` says otherwise) into the store at `root`,
 * in-process, collecting events; validates the built image. Errors of the build pass through
 * (with the events so far on `err.events`).
 */
export async function buildContext(root: string, contextDir: string, opts: Partial<BuildOptions> = {}): Promise<InProcessBuild> {
  const events: BuildEvent[] = [];
  const req = { ...defaultBuildOptions(contextDir), ...opts, root };
  let result: BuildResult;
  try {
    result = await build(req, { onEvent: (e) => events.push(e) });
  } catch (err) {
    if (err && typeof err === 'object') Object.assign(err, { events });
    throw err;
  }
  const store = await ImageStore.open(root);
  const { manifest, config } = await validateResult(store, result);
  const hits: number[] = [];
  const misses: number[] = [];
  const output = new Map<number, string>();
  for (const e of events) {
    if (e.type === 'step-cache') (e.hit ? hits : misses).push(e.step);
    if (e.type === 'step-output') output.set(e.step, (output.get(e.step) ?? '') + e.data);
  }
  return { result, events, manifest, config, contextDir, hits, misses, output, distributable: () => distributableOf(root, result.manifestDescriptor) };
}

/**
 * Validates a build's image; for a multi-platform build (an index) every manifest of the index,
 * each with the platform its entry names. Returns the index itself as `manifest` then, and the
 * result's config (the first platform's).
 */
async function validateResult(store: ImageStore, result: BuildResult): Promise<{ manifest: Manifest; config: ImageConfig }> {
  const desc = result.manifestDescriptor;
  if (!isIndexType(desc.mediaType)) return validateImage(store.content, desc.digest);
  const index = parseJsonBlob<Index>(await store.content.readBytes(desc.digest), `index ${desc.digest}`);
  if (!index.manifests.length) throw new Error(`invalid image: index ${desc.digest} has no manifests`);
  for (const m of index.manifests) {
    const { config } = await validateImage(store.content, m.digest);
    const p = m.platform;
    if (!p || p.os !== config.os || p.architecture !== config.architecture || (p.variant ?? '') !== (config.variant ?? '')) {
      throw new Error(`invalid image: index entry ${m.digest} says platform ${JSON.stringify(p)}, its config ${config.os}/${config.architecture}${config.variant ? `/${config.variant}` : ''}`);
    }
  }
  return { manifest: index as unknown as Manifest, config: result.config };
}

/** Writes `files` into a new context and builds it (see buildContext). */
export async function buildFiles(root: string, files: Record<string, ContextFile>, opts: Partial<BuildOptions> = {}): Promise<InProcessBuild> {
  return buildContext(root, await writeContext(files), opts);
}

/** The events a failed in-process build emitted (attached by buildContext). */
export function eventsOf(err: unknown): BuildEvent[] {
  return ((err as { events?: BuildEvent[] }).events ?? []);
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the compiled CLI (`dist/bin/mybuild.js`, the bundled bin; run `npm run build` first) with `args`, in `cwd`.
 * The environment is the test's own minus MYBUILD_* and DOCKER_CONFIG, plus `env`.
 */
export function runCliProcess(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MYBUILD_') && k !== 'DOCKER_CONFIG') env[k] = v;
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: opts.cwd, env: { ...env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Why the compiled CLI is unavailable (`npm run build` not run), or false. */
export function cliSkipReason(): string | false {
  return existsSync(cliPath) ? false : `${cliPath} is absent: run "npm run build" first`;
}

/** `check()` of the store at `root`: the problems (empty = consistent). */
export async function storeProblems(root: string): Promise<Problem[]> {
  return check(await ImageStore.open(root));
}

/** Mount points under `dir` in this mount namespace (from /proc/self/mountinfo). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const abs = path.resolve(dir);
  return text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === abs || m.startsWith(`${abs}/`)));
}

/** Container ids runc still knows under `<root>/runtime/runc`. */
export function runcContainers(root: string): string[] {
  const r = spawnSync('runc', ['--root', path.join(root, 'runtime', 'runc'), 'list', '-q'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter((s) => s.trim() !== '') : [];
}

/**
 * Loads the multi-platform busybox base (linux/amd64 + linux/arm64, an index) into the store at
 * `root` as `name`; returns the index descriptor's digest.
 */
export async function loadMultiArchBase(root: string, name = 'docker.io/library/busybox-multi:latest'): Promise<string> {
  const layout = await ensureMultiArchBaseImage();
  const store = await ImageStore.open(root);
  const { images } = await importArchive(store.content, layout);
  await store.setRef(name, images[0].manifestDescriptor);
  return images[0].manifestDescriptor.digest;
}

/**
 * Processes of the store at `root` (other than this one): those whose command line names it
 * (runc, mybuild) and those whose root filesystem is one of its snapshots (a container's
 * processes: the `/` line of their /proc/PID/mountinfo names a directory of the store).
 */
export async function storeProcesses(root: string): Promise<string[]> {
  const abs = path.resolve(root) + '/';
  const out: string[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
    if (cmd === '') continue;
    const rootLine = (await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '')).split('\n').find((l) => l.split(' ')[4] === '/') ?? '';
    if (cmd.includes(abs) || rootLine.includes(abs)) out.push(`${pid} ${cmd}`);
  }
  return out;
}

/** Polls `fn` every 100 ms until it is true (true) or `ms` have passed (false). */
export async function until(fn: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}
