/**
 * RUN: executes the command in a container (src/runtime, runc) on a writable snapshot of the
 * stage's filesystem; what it changes becomes the next layer (an empty one when nothing changed). The cache key covers the command
 * as given, the env it runs with, user, workdir, network mode, heredoc bodies and the mounts'
 * sources. Secrets are mounted from files outside the snapshot and never enter key, layer or
 * history (only their ids do).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, lchownSync, linkSync, lstatSync, mkdirSync, symlinkSync, utimesSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { secretBytes } from '../options.js';
import path from 'node:path';
import { Writable } from 'node:stream';
import { BuildError, isAlreadyExists, PlanError } from '../../errors.js';
import { writeLayer, BUILD_LAYER_COMPRESSION } from '../../image/layer-writer.js';
import type { HeredocFile, MountSpec, RunCommand } from '../../plan/index.js';
import { diffSnapshot } from '../../runtime/diff.js';
import { mountAll, mountOne, unmountAll, type Mount } from '../../runtime/mount.js';
import { tieRemoval } from '../../runtime/watchdog.js';
import { secureJoin } from '../../runtime/secure-join.js';
import { chainId, onChain } from '../../runtime/snapshotter.js';
import { lockFile } from '../../runtime/flock.js';
import { resolveUser } from '../../runtime/user.js';
import type { NetworkMode } from '../../runtime/spec.js';
import { StepSecrets } from '../../runtime/secrets.js';
import { relaySocket } from '../ssh-agents.js';
import { envParts } from '../../cache/key.js';
import { hashSources } from '../../context/hash.js';
import type { ContextEntry } from '../../context/context.js';
import type { SourceLocation } from '../../errors.js';
import { matchSources } from '../../context/sources.js';
import { shell, workdir } from '../state.js';
import type { Handler, LayerStep, SourceFs, StepContext } from './handler.js';
import { storeLayout } from '../../store/layout.js';

const TAIL_LINES = 10;

/** `RUN <<EOF` with nothing else on the line. */
const HEREDOC_ONLY = /^\s*\d*<<-?\s*["']?\w+["']?\s*$/;

/** Where BuildKit mounts the script of a `RUN <<EOF` whose body starts with `#!`. */
export const SHEBANG_SCRIPT_DIR = '/dev/pipes';

/**
 * The heredoc of a `RUN <<EOF` alone whose body starts with `#!` (`#!/usr/bin/env python3`):
 * BuildKit writes the body to a file (0755, mounted read-only under /dev/pipes) and executes
 * that file, so the interpreter is the script's own, not the shell.
 */
export function shebangScript(cmd: RunCommand): HeredocFile | undefined {
  if (!cmd.prependShell || cmd.heredocs.length !== 1 || !HEREDOC_ONLY.test(cmd.args[0] ?? '')) return undefined;
  return cmd.heredocs[0]!.data.startsWith('#!') ? cmd.heredocs[0] : undefined;
}

/** The argv a RUN executes, with BuildKit's heredoc rules. */
export function runArgs(cmd: RunCommand, shellArgv: string[]): string[] {
  if (!cmd.prependShell) return [...cmd.args];
  const line = cmd.args[0] ?? '';
  if (cmd.heredocs.length === 0) return [...shellArgv, line];
  const h = cmd.heredocs[0];
  const script = shebangScript(cmd);
  if (script) return [path.posix.join(SHEBANG_SCRIPT_DIR, script.name)];
  // `RUN <<EOF` alone: the body is the script.
  if (cmd.heredocs.length === 1 && HEREDOC_ONLY.test(line)) return [...shellArgv, h.data];
  // Otherwise the command line with its heredocs is one shell script (`RUN python3 <<EOF`).
  return [...shellArgv, `${line}\n${cmd.heredocs.map((d) => `${d.data}${d.name}\n`).join('')}`];
}

function hint(exitCode: number, output: string, network: string, user: string): string | undefined {
  if (exitCode === 127 || /not found/.test(output)) return 'a command was not found: install it in an earlier step, or check its name and PATH';
  if (network === 'none' && /(bad address|resolv|network is unreachable|could not connect)/i.test(output)) return 'the step ran with --network=none (only loopback); drop it for the default network, which reaches the outside';
  if (user && user !== 'root' && user !== '0' && /permission denied/i.test(output)) return `the step runs as USER ${user}: switch to USER root for steps that write system paths`;
  return undefined;
}

const DEFAULT_HOSTNAME = 'buildkitsandbox';

/** The RUN hostname: the BUILDKIT_SANDBOX_HOSTNAME build arg (dockerfile2llb's), else BuildKit's default. */
function sandboxHostname(buildArgs: Readonly<Record<string, string>>): string {
  return Object.prototype.hasOwnProperty.call(buildArgs, 'BUILDKIT_SANDBOX_HOSTNAME') && buildArgs.BUILDKIT_SANDBOX_HOSTNAME ? buildArgs.BUILDKIT_SANDBOX_HOSTNAME : DEFAULT_HOSTNAME;
}

export const runHandler: Handler<RunCommand> = {
  async apply(ctx) {
    const { session, stage, options, cmd } = ctx;
    const source = session.source(cmd.node.range);
    if (cmd.security === 'insecure' && !options.allow.includes('security.insecure')) {
      throw new PlanError('RUN --security=insecure needs the security.insecure entitlement', { source, hint: 'pass --allow security.insecure to the build' });
    }
    const args = runArgs(cmd, shell(stage));
    // `default` is BuildKit's sandbox: an own namespace that reaches the outside (slirp4netns).
    const network: NetworkMode = cmd.network && cmd.network !== 'default' ? cmd.network : options.network === 'default' ? 'sandbox' : options.network;
    // RUN sees the state env (config Env and ARGs in scope, the later one set winning, as
    // BuildKit's); the proxy args come after it.
    const env = new Map<string, string>(stage.env.vars);
    const user = stage.config.config?.User || 'root';
    const wd = workdir(stage);
    const mounts = cmd.mounts ?? [];
    const hostname = sandboxHostname(options.buildArgs ?? {});
    const parts = [
      `cmd=RUN ${JSON.stringify(args)}`,
      // A shebang script runs as a file: its body is not in the argv.
      ...(shebangScript(cmd) ? [`script=${JSON.stringify(shebangScript(cmd)!.data)}`] : []),
      `user=${user}`,
      `workdir=${wd}`,
      `network=${network}`,
      // The hostname is in BuildKit's ExecOp meta (so its key); the default keeps the old keys.
      ...(hostname !== DEFAULT_HOSTNAME ? [`hostname=${hostname}`] : []),
      // BuildKit's ExecOp carries the security mode: a privileged step is another step.
      ...(cmd.security === 'insecure' ? ['security=insecure'] : []),
      // --add-host, --ulimit and --shm-size are part of BuildKit's ExecOp (keys without them are unchanged).
      ...(options.extraHosts?.length ? [`hosts=${options.extraHosts.map((h) => `${h.host}=${h.ip}`).join(',')}`] : []),
      ...(options.ulimits?.length ? [`ulimits=${options.ulimits.map((u) => `${u.name}=${u.soft}:${u.hard}`).join(',')}`] : []),
      ...(options.shmSize !== undefined ? [`shm=${options.shmSize}`] : []),
      // Config env as `env:K`, build args in scope whose value the RUN sees (not an ENV's) as
      // `arg:K`, so a miss says which one changed; proxy args stay out of the key, as BuildKit
      // keeps them out.
      ...envParts('env', stage.env.env),
      ...envParts('arg', [...env].filter(([k, v]) => stage.env.args.has(k) && stage.env.env.get(k) !== v)),
    ];
    const mountSources: SourceFs[] = [];
    for (const m of mounts) {
      parts.push(`mount:${m.type === 'ssh' ? sshTarget(mounts, m) : m.target}=${await mountKey(ctx, m, mountSources)}`);
    }
    // BuildKit's runCommandString: `RUN |2 A=1 B=2 /bin/sh -c cmd # buildkit`.
    const createdBy = `RUN ${[...stage.env.historyArgs, ...args].join(' ')} # buildkit`;
    const step: LayerStep = { parts, createdBy, alwaysLayer: true, produce: () => produce(ctx, cmd, { args, env, proxyEnv: stage.env.proxyEnv, user, userSet: Boolean(stage.config.config?.User), wd, network, hostname, mounts }) };
    // BuildKit's ExecOp as its provenance shows it (pb.NetMode: host 1, none 2).
    const meta = { args, env: [...env].map(([k, v]) => `${k}=${v}`), cwd: wd, ...(stage.config.config?.User ? { user } : {}) };
    step.provenance = {
      op: { exec: { meta, ...(network === 'host' ? { network: 1 } : network === 'none' ? { network: 2 } : {}) } },
      secrets: mounts.filter((m) => m.type === 'secret').map((m) => ({ id: m.source || m.id || path.posix.basename(m.target ?? ''), optional: !m.required })),
      network: network !== 'none',
    };
    return step;
  },
};

/**
 * The key part of a mount: its type and options, and its source's content identity. Options
 * given only for some mounts (sharing, mode, uid, gid, size, required) are written only when
 * set, so keys of mounts without them stay what they were.
 */
async function mountKey(ctx: StepContext<RunCommand>, m: MountSpec, sources: SourceFs[]): Promise<string> {
  const opt = (name: string, v: string | number | undefined) => (v === undefined ? '' : `,${name}=${v}`);
  const base = `${m.type},ro=${m.readOnly}${m.id ? `,id=${m.id}` : ''}${m.source ? `,source=${m.source}` : ''}` +
    `${opt('sharing', m.sharing)}${opt('mode', m.mode?.toString(8))}${opt('uid', m.uid)}${opt('gid', m.gid)}${opt('size', m.size)}${m.required ? ',required=true' : ''}${opt('env', m.env)}`;
  if (m.type === 'bind') {
    if (m.from) {
      const fs = await ctx.from(m.from, ctx.cmd.mountSources?.[m.from]);
      sources.push(fs);
      return `${base},from=${fs.fsKey}`;
    }
    const bc = await ctx.session.context();
    const matches = await matchSources(bc, [m.source ?? '.'], { source: ctx.session.source(ctx.cmd.node.range) });
    return `${base},context=${(await hashSources(bc, matches, { statCache: await ctx.session.statCache() })).digest}`;
  }
  return base; // cache, tmpfs, secret, ssh: contents are not part of the key (secrets never are)
}

interface RunPlan {
  args: string[];
  env: Map<string, string>;
  /** The proxy build args, both spellings, appended after `env` as BuildKit does (not in the key). */
  proxyEnv: string[];
  user: string;
  /** The stage has a USER (else `user` is `root` for the key and messages). */
  userSet: boolean;
  wd: string;
  network: NetworkMode;
  hostname: string;
  mounts: MountSpec[];
}

async function produce(ctx: StepContext<RunCommand>, cmd: RunCommand, p: RunPlan) {
  const { session, stage, info, worker, options } = ctx;
  const rootfs = await worker.layers();
  const sn = rootfs.snapshotter;
  const parent = await rootfs.chain(stage.layers);
  // USER is resolved from the /etc/passwd and /etc/group of the snapshot the RUN runs on, once
  // the executor has mounted it (same files as the parent's; no separate view to mount).
  // Without a USER, BuildKit resolves uid 0 (its passwd name gives the groups) and falls back
  // to 0:0 when the rootfs has no passwd entry for it.
  const userFrom = (dir: string) =>
    resolveUser(dir, p.userSet ? p.user : '0').catch((err: Error) => {
      throw new PlanError(`RUN: cannot resolve USER ${p.user}: ${err.message}`, { source: session.source(cmd.node.range) });
    });
  const key = `run-${process.pid}-${randomBytes(6).toString('hex')}`;
  const scratch = await mkdtemp(path.join(storeLayout(options.root).tmp, 'run-'));
  const untieScratch = tieRemoval(scratch); // removed by the watchdog if the build is killed
  const tail: string[] = [];
  let partial = '';
  const sink = (stream: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        const text = chunk.toString();
        session.emit({ type: 'step-output', step: info.step, stream, data: text });
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        tail.push(...lines);
        if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
        done();
      },
    });
  const rootMounts = await onChain(() => rootfs.chain(stage.layers), (p) => sn.prepare(key, p || undefined), parent);
  let committed = false;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const secretEnv: string[] = [];
    const extra = await runMounts(ctx, p.mounts, scratch, cleanups, secretEnv);
    const script = shebangScript(cmd);
    if (script) {
      const dir = path.join(scratch, 'pipes');
      mkdirSync(dir, { mode: 0o755 });
      await writeFile(path.join(dir, script.name), script.data, { mode: 0o755 });
      extra.push({ type: 'bind', source: dir, target: SHEBANG_SCRIPT_DIR, options: ['rbind', 'ro'] });
    }
    const env = [...p.env].map(([k, v]) => `${k}=${v}`);
    if (!p.env.has('PATH')) env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    // As BuildKit's ExecOp: the stage env, then the proxy variables, then the secret ones;
    // SSH_AUTH_SOCK names the first ssh mount's socket unless the stage sets it.
    env.push(...p.proxyEnv, ...secretEnv);
    const firstSsh = p.mounts.find((m) => m.type === 'ssh');
    if (firstSsh && !p.env.has('SSH_AUTH_SOCK')) env.push(`SSH_AUTH_SOCK=${sshTarget(p.mounts, firstSsh)}`);
    const status = await worker.executor.run(
      {
        args: p.args,
        env,
        cwd: p.wd,
        resolveUser: userFrom,
        hostname: p.hostname,
        network: p.network,
        mounts: extra,
        ...(cmd.security === 'insecure' ? { privileged: true } : {}),
        ...(options.extraHosts?.length ? { extraHosts: options.extraHosts } : {}),
        ...(options.ulimits?.length ? { ulimits: options.ulimits } : {}),
        ...(options.shmSize !== undefined ? { shmSize: options.shmSize } : {}),
        ...(options.runResources ? { resources: options.runResources } : {}),
        stdout: sink('stdout'),
        stderr: sink('stderr'),
      },
      rootMounts,
      session.signal,
    ).catch((err: unknown) => {
      throw sourcedRuntimeError(err, session.source(cmd.node.range));
    });
    if (partial) tail.push(partial);
    if (status.exitCode !== 0) {
      const output = tail.join('\n');
      throw new BuildError('STEP_FAILED', `process "${p.args.join(' ')}" did not complete successfully: exit code: ${status.exitCode}`, {
        source: session.source(cmd.node.range),
        details: tail.length ? ['last output:', ...tail.map((l) => `  ${l}`)] : undefined,
        hint: hint(status.exitCode, output, p.network, p.user),
      });
    }
    // A RUN always makes a layer, as BuildKit's (commitToHistory withLayer): an empty tar when
    // nothing changed, so layer counts and history match BuildKit's.
    const entries = await diffSnapshot(sn, key);
    const layer = await writeLayer(entries, worker.content, { compression: BUILD_LAYER_COMPRESSION, sourceDateEpoch: options.sourceDateEpoch });
    // Keep the upperdir as the new layer's snapshot so the next RUN need not extract it. Not
    // with SOURCE_DATE_EPOCH: the layer's mtimes are clamped, the upperdir's are not, and the
    // snapshot of a chain must hold exactly what its layers hold (the next build extracts it).
    if (options.sourceDateEpoch === undefined) {
      try {
        await sn.commit(chainId([...stage.layers.map((l) => l.diffId), layer.diffId]), key, { diffId: layer.diffId });
        committed = true;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    return layer;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (!committed) await sn.remove(key).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
    untieScratch();
  }
}

/**
 * Host-side mounts for RUN --mount (secrets on a tmpfs of the step's own, src/runtime/secrets.ts;
 * never in the rootfs or on the store's disk); `env=` secrets are pushed on `secretEnv` as
 * `NAME=value`.
 * What must be undone after the step (views of other stages) is pushed on `cleanups`; the
 * caller runs them, last first, whatever happens.
 */
async function runMounts(ctx: StepContext<RunCommand>, specs: MountSpec[], scratch: string, cleanups: (() => Promise<void>)[], secretEnv: string[]): Promise<Mount[]> {
  const { session, options } = ctx;
  const out: Mount[] = [];
  let secrets: StepSecrets | undefined;
  for (const m of specs) {
    const source = session.source(ctx.cmd.node.range);
    switch (m.type) {
      case 'tmpfs':
        out.push({ type: 'tmpfs', source: 'tmpfs', target: m.target!, options: ['nosuid', 'nodev', ...(m.size ? [`size=${m.size}`] : [])] });
        break;
      case 'cache':
        out.push({ type: 'bind', source: await cacheDir(ctx, m, cleanups), target: m.target!, options: ['rbind', m.readOnly ? 'ro' : 'rw'] });
        break;
      case 'secret': {
        // BuildKit's dispatchSecret: the id is source=, else id=, else the target's base name.
        const id = m.source || m.id || path.posix.basename(m.target ?? '');
        const data = secretBytes(options.secrets, id);
        if (!data && m.required) throw new PlanError(`secret ${id} not found`, { source, hint: `pass it with --secret id=${id},src=FILE` });
        // env=NAME: the variable (empty for a missing optional secret, as BuildKit's
        // loadSecretEnv); a file as well only when a target is given.
        if (m.env !== undefined) secretEnv.push(`${m.env}=${data?.toString() ?? ''}`);
        if (!data || (m.env !== undefined && m.target === undefined)) break;
        if (!secrets) {
          const opened = (secrets = await StepSecrets.open(options.root));
          cleanups.push(() => opened.close());
        }
        // 0:0 0400 unless uid, gid or mode say otherwise (BuildKit's SecretFileOpt defaults).
        const file = await secrets.add(data, { mode: m.mode ?? 0o400, uid: m.uid ?? 0, gid: m.gid ?? 0 });
        out.push({ type: 'bind', source: file, target: m.target ?? `/run/secrets/${path.posix.basename(id)}`, options: ['rbind', 'ro'] });
        break;
      }
      case 'bind': {
        // As BuildKit: the mount shows what the context sends (.dockerignore applied), and `rw`
        // writes go to a throwaway layer over it, never into the user's files or another stage.
        const src = m.from ? await viewOf(ctx, m, scratch, out.length, cleanups) : await contextTree(ctx, m, scratch, out.length, source);
        const dir = path.join(scratch, `bind-${out.length}`);
        out.push({ type: 'bind', source: m.readOnly ? src : await writableOver(src, dir, cleanups), target: m.target!, options: ['rbind', m.readOnly ? 'ro' : 'rw'] });
        break;
      }
      case 'ssh': {
        // BuildKit's dispatchSSH: id `default` unless given; optional unless `required`.
        const id = m.id || 'default';
        const agent = await session.sshAgent(id);
        if (!agent) {
          if (m.required) throw new PlanError(`no SSH key ${JSON.stringify(id)} forwarded from the client`, { source, hint: `pass it with --ssh ${id === 'default' ? 'default' : `${id}=SOCKET|KEYFILE`}` });
          break;
        }
        // A socket of the step's own (0:0 0600 unless uid, gid or mode say otherwise) relaying to the agent.
        const relay = await relaySocket(agent, path.join(scratch, `ssh-${out.length}.sock`), { uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o600 });
        cleanups.push(() => relay.close());
        out.push({ type: 'bind', source: relay.path, target: sshTarget(specs, m), options: ['rbind'] });
        break;
      }
    }
  }
  return out;
}

/** Where an ssh mount's socket is: its target, else `/run/buildkit/ssh_agent.N` by its place among the ssh mounts (BuildKit's). */
function sshTarget(mounts: readonly MountSpec[], m: MountSpec): string {
  return m.target ?? `/run/buildkit/ssh_agent.${mounts.filter((x) => x.type === 'ssh').indexOf(m)}`;
}

/** The generation a build uses of each cache mount it renewed (see cacheGeneration), by build. */
const renewed = new WeakMap<object, Map<string, string>>();

/**
 * The directory of the current generation of the cache mount at `base`. A mount with `uid`,
 * `gid` or `mode` is, in BuildKit, keyed by the directory op that makes it (llb Mkdir) as well
 * as its id: a `--no-cache` (or `--no-cache-filter`ed) step runs that op again and so gets a new,
 * empty cache, which later builds then use (the newest result wins). Here: `<base>.gen` holds the
 * current generation; such a step moves it on, once per build. Other mounts have one directory.
 */
async function cacheGeneration(ctx: StepContext<RunCommand>, m: MountSpec, base: string): Promise<string> {
  if (m.uid === undefined && m.gid === undefined && m.mode === undefined) return base;
  const dirOf = (n: number) => (n === 0 ? base : `${base}.g${n}`);
  const genFile = `${base}.gen`;
  const current = async () => Number((await readFile(genFile, 'utf8').catch(() => '0')).trim()) || 0;
  const { options, stage, session } = ctx;
  const noCache = options.noCache || (options.noCacheFilter?.includes(stage.name.toLowerCase()) ?? false);
  if (!noCache) return dirOf(await current());
  let mine = renewed.get(session);
  if (!mine) renewed.set(session, (mine = new Map()));
  const done = mine.get(base);
  if (done) return done;
  mkdirSync(path.dirname(base), { recursive: true, mode: 0o700 });
  const next = (await current()) + 1;
  await writeFile(`${genFile}.tmp-${process.pid}`, String(next));
  await rename(`${genFile}.tmp-${process.pid}`, genFile);
  mine.set(base, dirOf(next));
  return dirOf(next);
}

/**
 * The host directory of a cache mount, made on first use with the mount's `uid`, `gid` and
 * `mode` (0:0 and 0755 by default, as BuildKit). `sharing`: `shared` (default) lets every step
 * use it at once; `locked` holds its lock for the step (concurrent builds wait: across
 * processes, released by the kernel if the holder dies); `private` takes the first instance
 * (`<dir>`, `<dir>-1`, …) no other step holds, making a new one when all are busy.
 */
async function cacheDir(ctx: StepContext<RunCommand>, m: MountSpec, cleanups: (() => Promise<void>)[]): Promise<string> {
  const base = await cacheGeneration(ctx, m, path.join(storeLayout(ctx.options.root).cacheMounts, createHash('sha256').update(m.id ?? m.target!).digest('hex').slice(0, 32)));
  const make = (dir: string): string => {
    mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return dir;
      throw err;
    }
    chownSync(dir, m.uid ?? 0, m.gid ?? 0);
    chmodSync(dir, m.mode ?? 0o755);
    return dir;
  };
  if (m.sharing === 'locked') {
    const release = await lockFile(`${base}.lock`, { wait: true, signal: ctx.session.signal });
    cleanups.push(release!);
    return make(base);
  }
  if (m.sharing === 'private') {
    for (let i = 0; ; i++) {
      const dir = i === 0 ? base : `${base}-${i}`;
      mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
      const release = await lockFile(`${dir}.lock`, { wait: false, signal: ctx.session.signal });
      if (!release) continue;
      cleanups.push(release);
      return make(dir);
    }
  }
  return make(base);
}

/**
 * The part of the build context a bind mount shows, as the context would be sent: a tree under
 * `scratch` of hard links to the included files (copies across file systems), with the
 * directories, symlinks and their owners and modes; excluded paths are absent. A single file is
 * used in place (mounted read-only, or under a writable layer). Sockets and FIFOs are left out.
 */
async function contextTree(ctx: StepContext<RunCommand>, m: MountSpec, scratch: string, n: number, source: SourceLocation): Promise<string> {
  const bc = await ctx.session.context();
  const resolved = await bc.resolve(m.source ?? '.', { followFinal: true, source });
  if (resolved.type !== 'dir') return resolved.abs;
  const tree = path.join(scratch, `context-${n}`);
  mkdirSync(tree, { mode: 0o700 });
  const prefix = resolved.path === '' ? '' : `${resolved.path}/`;
  const dirs: [string, ContextEntry][] = [];
  for (const e of await bc.walk(resolved.path)) {
    const dst = path.join(tree, ...e.path.slice(prefix.length).split('/'));
    if (e.type === 'dir') {
      mkdirSync(dst);
      dirs.push([dst, e]);
    } else if (e.type === 'symlink') {
      symlinkSync(e.linkTarget!, dst);
      lchownSync(dst, Number(e.stat.uid), Number(e.stat.gid));
    } else if (e.type === 'file') {
      try {
        linkSync(bc.abs(e.path), dst);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
        copyFileSync(bc.abs(e.path), dst);
        chownSync(dst, Number(e.stat.uid), Number(e.stat.gid));
        chmodSync(dst, Number(e.stat.mode) & 0o7777);
      }
    }
  }
  // Directories last (children change their mtimes); deepest first does not matter for modes.
  const st = resolved.stat!;
  for (const [dst, e] of [...dirs, [tree, { stat: st } as ContextEntry] as [string, ContextEntry]]) {
    chownSync(dst, Number(e.stat.uid), Number(e.stat.gid));
    chmodSync(dst, Number(e.stat.mode) & 0o7777);
    utimesSync(dst, Number(e.stat.atimeMs), Number(e.stat.mtimeMs) / 1000);
  }
  return tree;
}

/**
 * `src` (a directory or a file) with a writable layer over it that is thrown away after the
 * step: an overlay for a directory (mounted under `dir`, unmounted by the cleanup it pushes),
 * a private copy for a file. Returns the path to bind into the container.
 */
async function writableOver(src: string, dir: string, cleanups: (() => Promise<void>)[]): Promise<string> {
  mkdirSync(dir, { mode: 0o700 });
  if (!lstatSync(src).isDirectory()) {
    const copy = path.join(dir, 'file');
    copyFileSync(src, copy);
    const st = lstatSync(src);
    chownSync(copy, st.uid, st.gid);
    chmodSync(copy, st.mode & 0o7777);
    return copy;
  }
  const merged = path.join(dir, 'merged');
  for (const d of ['upper', 'work', 'merged']) mkdirSync(path.join(dir, d));
  cleanups.push(() => unmountAll(merged));
  await mountOne({ type: 'overlay', source: 'overlay', options: [`lowerdir=${src}`, `upperdir=${path.join(dir, 'upper')}`, `workdir=${path.join(dir, 'work')}`] }, merged);
  return merged;
}

/**
 * A read-only view of the filesystem `m.from` names (a stage or an image), mounted under
 * `scratch` for the time of the step; returns the host path of `m.source` inside it (resolved
 * within the view, symlinks included). The view is unmounted by the cleanup it pushes.
 */
async function viewOf(ctx: StepContext<RunCommand>, m: MountSpec, scratch: string, n: number, cleanups: (() => Promise<void>)[]): Promise<string> {
  const { session, worker } = ctx;
  const fs = await ctx.from(m.from!, ctx.cmd.mountSources?.[m.from!]);
  const rootfs = await worker.layers();
  const parent = await rootfs.chain(fs.layers);
  const dir = path.join(scratch, `from-${n}`);
  await mkdir(dir, { recursive: true });
  const key = `bindfrom-${process.pid}-${randomBytes(6).toString('hex')}`;
  const mounts = await onChain(() => rootfs.chain(fs.layers), (p) => rootfs.snapshotter.view(key, p || undefined), parent);
  cleanups.push(async () => {
    await unmountAll(dir);
    await rootfs.snapshotter.remove(key).catch(() => undefined);
  });
  await mountAll(mounts, dir);
  const src = m.source && m.source !== '/' && m.source !== '.' ? secureJoin(dir, m.source) : dir;
  try {
    await lstat(src);
  } catch {
    throw new BuildError('CONTEXT', `RUN --mount from=${m.from}: ${m.source} does not exist in that ${/^\d+$/.test(m.from!) ? 'stage' : 'filesystem'}`, { source: session.source(ctx.cmd.node.range) });
  }
  return src;
}


/**
 * A runtime failure of the RUN's container (runc could not start the process: no /bin/sh in a
 * scratch stage, a missing program) with the RUN's source, as BuildKit's errdefs source map;
 * other errors as they are.
 */
function sourcedRuntimeError(err: unknown, source: SourceLocation): unknown {
  if (!(err instanceof BuildError) || err.code !== 'RUNTIME' || err.source) return err;
  const missing = /exec: "([^"]+)": stat [^:]+: no such file or directory/.exec(err.message);
  const hint = missing ? `${missing[1]} does not exist in the image${missing[1] === '/bin/sh' ? ' (a FROM scratch stage has no shell; use the exec form with a program the stage has)' : ''}` : err.hint;
  return new BuildError('RUNTIME', err.message, { source, hint, cause: err, details: err.details });
}
