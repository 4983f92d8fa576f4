/**
 * RUN: executes the command in a container (src/runtime, runc) on a writable snapshot of the
 * stage's filesystem; what it changes becomes the next layer. The cache key covers the command
 * as given, the env it runs with, user, workdir, network mode, heredoc bodies and the mounts'
 * sources. Secrets are mounted from files outside the snapshot and never enter key, layer or
 * history (only their ids do).
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { BuildError, isAlreadyExists, PlanError } from '../../errors.js';
import { writeLayer } from '../../image/layer-writer.js';
import type { MountSpec, RunCommand } from '../../plan/index.js';
import { diffSnapshot } from '../../runtime/diff.js';
import { RuncExecutor } from '../../runtime/executor.js';
import { mountAll, unmountAll, type Mount } from '../../runtime/mount.js';
import { secureJoin } from '../../runtime/secure-join.js';
import { chainId } from '../../runtime/snapshotter.js';
import { resolveUser } from '../../runtime/user.js';
import { AlreadyExistsError } from '../../errors.js';
import { envParts } from '../../cache/key.js';
import { shell, workdir } from '../state.js';
import type { BuildSession } from '../session.js';
import type { Handler, LayerStep, SourceFs, StepContext } from './handler.js';

const TAIL_LINES = 10;

/** The argv a RUN executes, with BuildKit's heredoc rules. */
export function runArgs(cmd: RunCommand, shellArgv: string[]): string[] {
  if (!cmd.prependShell) return [...cmd.args];
  const line = cmd.args[0] ?? '';
  if (cmd.heredocs.length === 0) return [...shellArgv, line];
  const h = cmd.heredocs[0];
  // `RUN <<EOF` alone: the body is the script.
  if (cmd.heredocs.length === 1 && /^\s*\d*<<-?\s*["']?\w+["']?\s*$/.test(line)) return [...shellArgv, h.data];
  // Otherwise the command line with its heredocs is one shell script (`RUN python3 <<EOF`).
  return [...shellArgv, `${line}\n${cmd.heredocs.map((d) => `${d.data}${d.name}\n`).join('')}`];
}

function hint(exitCode: number, output: string, network: string, user: string): string | undefined {
  if (exitCode === 127 || /not found/.test(output)) return 'a command was not found: install it in an earlier step, or check its name and PATH';
  if (network === 'none' && /(bad address|resolve|network is unreachable|could not connect)/i.test(output)) return 'RUN steps have no network by default in mybuild (no bridges are created); use RUN --network=host if the step must reach the network';
  if (user && user !== 'root' && user !== '0' && /permission denied/i.test(output)) return `the step runs as USER ${user}: switch to USER root for steps that write system paths`;
  return undefined;
}

export const runHandler: Handler<RunCommand> = {
  async apply(ctx) {
    const { b, st } = ctx;
    const cmd = st.env.expand(ctx.cmd).cmd;
    const source = b.source(cmd.node.range);
    if (cmd.security === 'insecure' && !b.req.allow.includes('security.insecure')) {
      throw new PlanError('RUN --security=insecure needs the security.insecure entitlement', { source, hint: 'pass --allow security.insecure to the build' });
    }
    const args = runArgs(cmd, shell(st));
    const network = cmd.network && cmd.network !== 'default' ? cmd.network : b.req.network === 'host' ? 'host' : 'none';
    // RUN sees the config Env plus the ARGs in scope (ENV wins) and the proxy args.
    const env = new Map<string, string>([...st.env.proxyArgs, ...st.env.args]);
    for (const [k, v] of st.env.env) env.set(k, v);
    const user = st.config.config?.User || 'root';
    const wd = workdir(st);
    const mounts = cmd.mounts ?? [];
    const parts = [
      `cmd=RUN ${JSON.stringify(args)}`,
      `user=${user}`,
      `workdir=${wd}`,
      `network=${network}`,
      // Config env as `env:K`, build args in scope (not shadowed by ENV) as `arg:K`, so a miss
      // says which one changed; proxy args stay out of the key, as BuildKit keeps them out.
      ...envParts('env', st.env.env),
      ...envParts('arg', [...st.env.args].filter(([k]) => !st.env.env.has(k))),
    ];
    const mountSources: SourceFs[] = [];
    for (const m of mounts) {
      parts.push(`mount:${m.target}=${await mountKey(ctx, m, mountSources)}`);
    }
    const createdBy = `RUN ${args.join(' ')} # buildkit`;
    const step: LayerStep = { parts, createdBy, produce: () => produce(ctx, cmd, { args, env, user, wd, network, mounts }) };
    return step;
  },
};

/** The key part of a mount: its type and options, and its source's content identity. */
async function mountKey(ctx: StepContext<RunCommand>, m: MountSpec, sources: SourceFs[]): Promise<string> {
  const base = `${m.type},ro=${m.readOnly}${m.id ? `,id=${m.id}` : ''}${m.source ? `,source=${m.source}` : ''}`;
  if (m.type === 'bind') {
    if (m.from) {
      const fs = await ctx.from(m.from);
      sources.push(fs);
      return `${base},from=${fs.fsKey}`;
    }
    const bc = await ctx.b.context();
    const { matchSources } = await import('../../context/sources.js');
    const { hashSources } = await import('../../context/hash.js');
    const matches = await matchSources(bc, [m.source ?? '.'], { source: ctx.b.source(ctx.cmd.node.range) });
    return `${base},context=${(await hashSources(bc, matches, { statCache: await ctx.b.statCache() })).digest}`;
  }
  return base; // cache, tmpfs, secret, ssh: contents are not part of the key (secrets never are)
}

interface RunPlan {
  args: string[];
  env: Map<string, string>;
  user: string;
  wd: string;
  network: 'none' | 'host';
  mounts: MountSpec[];
}

async function produce(ctx: StepContext<RunCommand>, cmd: RunCommand, p: RunPlan) {
  const { b, st, info } = ctx;
  const rootfs = await b.rootfs();
  const sn = rootfs.snapshotter;
  const parent = await rootfs.chain(st.layers);
  // USER is resolved from the /etc/passwd and /etc/group of the snapshot the RUN runs on, once
  // the executor has mounted it (same files as the parent's; no separate view to mount).
  const userFrom = (dir: string) =>
    resolveUser(dir, p.user).catch((err: Error) => {
      throw new PlanError(`RUN: cannot resolve USER ${p.user}: ${err.message}`, { source: b.source(cmd.node.range) });
    });
  const key = `run-${process.pid}-${randomBytes(6).toString('hex')}`;
  const scratch = await mkdtemp(path.join(b.req.root, 'tmp', 'run-'));
  const tail: string[] = [];
  let partial = '';
  const sink = (stream: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        const text = chunk.toString();
        b.emit({ type: 'step-output', step: info.step, stream, data: text });
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        tail.push(...lines);
        if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
        done();
      },
    });
  const rootMounts = await sn.prepare(key, parent || undefined);
  let committed = false;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const extra = await runMounts(ctx, p.mounts, scratch, cleanups);
    const executor = new RuncExecutor({ root: path.join(b.req.root, 'runtime'), runtime: b.req.runtime });
    const env = [...p.env].map(([k, v]) => `${k}=${v}`);
    if (!p.env.has('PATH')) env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const status = await executor.run(
      {
        args: p.args,
        env,
        cwd: p.wd,
        resolveUser: userFrom,
        hostname: 'buildkitsandbox',
        network: p.network,
        mounts: extra,
        stdout: sink('stdout'),
        stderr: sink('stderr'),
      },
      rootMounts,
      b.signal,
    );
    if (partial) tail.push(partial);
    if (status.exitCode !== 0) {
      const output = tail.join('\n');
      throw new BuildError('STEP_FAILED', `process "${p.args.join(' ')}" did not complete successfully: exit code: ${status.exitCode}`, {
        source: b.source(cmd.node.range),
        details: tail.length ? ['last output:', ...tail.map((l) => `  ${l}`)] : undefined,
        hint: hint(status.exitCode, output, p.network, p.user),
      });
    }
    const entries = await diffSnapshot(sn, key);
    if (entries.length === 0) return null;
    const layer = await writeLayer(entries, b.content, { compression: b.req.compression, sourceDateEpoch: b.sourceDateEpoch });
    // Keep the upperdir as the new layer's snapshot so the next RUN need not extract it. Not
    // with SOURCE_DATE_EPOCH: the layer's mtimes are clamped, the upperdir's are not, and the
    // snapshot of a chain must hold exactly what its layers hold (the next build extracts it).
    if (b.sourceDateEpoch === undefined) {
      try {
        await sn.commit(chainId([...st.layers.map((l) => l.diffId), layer.diffId]), key);
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
  }
}

/**
 * Host-side mounts for RUN --mount (secrets in a private scratch dir, never in the rootfs).
 * What must be undone after the step (views of other stages) is pushed on `cleanups`; the
 * caller runs them, last first, whatever happens.
 */
async function runMounts(ctx: StepContext<RunCommand>, specs: MountSpec[], scratch: string, cleanups: (() => Promise<void>)[]): Promise<Mount[]> {
  const { b } = ctx;
  const out: Mount[] = [];
  for (const m of specs) {
    const source = b.source(ctx.cmd.node.range);
    switch (m.type) {
      case 'tmpfs':
        out.push({ type: 'tmpfs', source: 'tmpfs', target: m.target!, options: ['nosuid', 'nodev', ...(m.size ? [`size=${m.size}`] : [])] });
        break;
      case 'cache': {
        const id = m.id ?? m.target!;
        const dir = path.join(b.req.root, 'cache-mounts', createHash('sha256').update(id).digest('hex').slice(0, 32));
        await mkdir(dir, { recursive: true, mode: m.mode ?? 0o755 });
        out.push({ type: 'bind', source: dir, target: m.target!, options: ['rbind', m.readOnly ? 'ro' : 'rw'] });
        break;
      }
      case 'secret': {
        const id = m.id ?? path.posix.basename(m.target ?? '');
        const spec = b.req.secrets.find((s) => s.id === id);
        let data: Buffer | undefined;
        if (spec?.src) data = await readFile(spec.src);
        else if (spec?.env !== undefined && process.env[spec.env] !== undefined) data = Buffer.from(process.env[spec.env]!);
        if (!data) {
          if (m.required) throw new PlanError(`secret ${id} not found`, { source, hint: `pass it with --secret id=${id},src=FILE` });
          break;
        }
        const file = path.join(scratch, `secret-${out.length}`);
        await writeFile(file, data, { mode: m.mode ?? 0o400 });
        out.push({ type: 'bind', source: file, target: m.target ?? `/run/secrets/${id}`, options: ['rbind', 'ro'] });
        break;
      }
      case 'bind': {
        if (m.from) {
          out.push({ type: 'bind', source: await viewOf(ctx, m, scratch, out.length, cleanups), target: m.target!, options: ['rbind', m.readOnly ? 'ro' : 'rw'] });
          break;
        }
        const bc = await b.context();
        const resolved = await bc.resolve(m.source ?? '.', { followFinal: true, source });
        out.push({ type: 'bind', source: resolved.abs, target: m.target!, options: ['rbind', m.readOnly ? 'ro' : 'rw'] });
        break;
      }
      case 'ssh':
        throw new PlanError('RUN --mount=type=ssh is not supported', { source });
    }
  }
  return out;
}

/**
 * A read-only view of the filesystem `m.from` names (a stage or an image), mounted under
 * `scratch` for the time of the step; returns the host path of `m.source` inside it (resolved
 * within the view, symlinks included). The view is unmounted by the cleanup it pushes.
 */
async function viewOf(ctx: StepContext<RunCommand>, m: MountSpec, scratch: string, n: number, cleanups: (() => Promise<void>)[]): Promise<string> {
  const { b } = ctx;
  const fs = await ctx.from(m.from!);
  const rootfs = await b.rootfs();
  const parent = await rootfs.chain(fs.layers);
  const dir = path.join(scratch, `from-${n}`);
  await mkdir(dir, { recursive: true });
  const key = `bindfrom-${process.pid}-${randomBytes(6).toString('hex')}`;
  const mounts = await rootfs.snapshotter.view(key, parent || undefined);
  cleanups.push(async () => {
    await unmountAll(dir);
    await rootfs.snapshotter.remove(key).catch(() => undefined);
  });
  await mountAll(mounts, dir);
  const src = m.source && m.source !== '/' && m.source !== '.' ? secureJoin(dir, m.source) : dir;
  try {
    await lstat(src);
  } catch {
    throw new BuildError('CONTEXT', `RUN --mount from=${m.from}: ${m.source} does not exist in that ${/^\d+$/.test(m.from!) ? 'stage' : 'filesystem'}`, { source: b.source(ctx.cmd.node.range) });
  }
  return src;
}

export type { BuildSession };
