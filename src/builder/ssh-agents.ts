/**
 * SSH agent forwarding for `RUN --mount=type=ssh` (`mybuild build --ssh`, as buildx's):
 *
 * - `--ssh default` (or any `ID` without a path): the agent of `$SSH_AUTH_SOCK`;
 * - `--ssh ID=SOCKET`: the agent listening on that socket;
 * - `--ssh ID=KEY[,KEY…]`: a private `ssh-agent` (Debian's openssh-client) holding those private
 *   keys, started when a RUN first needs it and stopped when the build ends (or when this
 *   process dies: its shell wrapper kills the agent once our end of its stdin closes).
 *
 * A RUN's ssh mount gets a socket of its own (`relaySocket`, in the step's scratch directory)
 * with the mount's uid, gid and mode (0:0 0600 by default, BuildKit's SSHOpt), bound at its target
 * (`/run/buildkit/ssh_agent.N`), relaying every connection to the agent: the container sees
 * neither the host's socket path nor the key files, and nothing of either lands in a layer, the
 * history or a cache key (the RUN's key holds the mount's id and options only).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BuildError, InternalError, UsageError } from '../errors.js';

/** One `--ssh` value, resolved: an agent socket, or key files for a private agent. */
export interface SshSpec {
  id: string;
  socket?: string;
  keys?: string[];
}

/**
 * Parses one `--ssh` value (`ID[=PATH[,PATH…]]`, buildx's form): no path is `$SSH_AUTH_SOCK`;
 * paths are one socket or private key files (`~/` expanded, relative to `cwd`). Throws
 * UsageError naming the value for a missing agent, a missing path, or a socket mixed with keys.
 */
export function parseSshSpec(value: string, env: NodeJS.ProcessEnv, cwd: string): SshSpec {
  const eq = value.indexOf('=');
  const id = (eq < 0 ? value : value.slice(0, eq)).trim();
  if (!id) throw new UsageError(`invalid --ssh "${value}": expected ID[=SOCKET|KEY[,KEY…]]`, { hint: 'e.g. --ssh default, or --ssh default=$HOME/.ssh/id_ed25519' });
  const paths = eq < 0 ? [] : value.slice(eq + 1).split(',').map((p) => p.trim()).filter(Boolean);
  if (paths.length === 0) {
    const sock = env.SSH_AUTH_SOCK;
    if (!sock) throw new UsageError(`--ssh ${value}: SSH_AUTH_SOCK is not set, so there is no agent to forward`, { hint: 'start an agent (eval "$(ssh-agent)"; ssh-add), or give key files: --ssh default=~/.ssh/id_ed25519' });
    paths.push(sock);
  }
  const home = env.HOME ?? os.homedir();
  const abs = paths.map((p) => path.resolve(cwd, p.startsWith('~/') ? path.join(home, p.slice(2)) : p));
  const kinds = abs.map((p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new UsageError(`--ssh ${value}: ${p} does not exist`, { hint: 'give an agent socket or private key files' });
    }
    if (st.isSocket()) return 'socket';
    if (st.isFile()) return 'key';
    throw new UsageError(`--ssh ${value}: ${p} is neither a socket nor a file`);
  });
  if (kinds.includes('socket')) {
    if (abs.length > 1) throw new UsageError(`--ssh ${value}: only one agent socket may be given, and not with key files`);
    return { id, socket: abs[0]! };
  }
  return { id, keys: abs };
}

interface PrivateAgent {
  socket: string;
  dir: string;
  child: ChildProcess;
}

/** The agents of a build's `--ssh` specs: sockets as given, private agents started on first use. */
export class SshAgents {
  private readonly specs: readonly SshSpec[];
  private readonly tmpParent: string;
  private readonly started = new Map<string, Promise<PrivateAgent>>();

  constructor(specs: readonly SshSpec[], tmpParent: string) {
    this.specs = specs;
    this.tmpParent = tmpParent;
  }

  /** The host socket of agent `id`, or undefined when the build was given none. */
  async socketFor(id: string): Promise<string | undefined> {
    const spec = this.specs.find((s) => s.id === id);
    if (!spec) return undefined;
    if (spec.socket) return spec.socket;
    let p = this.started.get(id);
    if (!p) {
      p = startAgent(spec, this.tmpParent);
      this.started.set(id, p);
    }
    return (await p).socket;
  }

  /** Stops the private agents and removes their directories. */
  async close(): Promise<void> {
    for (const p of this.started.values()) {
      const a = await p.catch(() => undefined);
      if (!a) continue;
      await stopAgent(a.child);
      await rm(a.dir, { recursive: true, force: true });
    }
    this.started.clear();
  }
}

/** Starts `ssh-agent` on a socket of a new private directory and adds the spec's keys. */
async function startAgent(spec: SshSpec, tmpParent: string): Promise<PrivateAgent> {
  const dir = await mkdtemp(path.join(tmpParent, 'ssh-'));
  await chmod(dir, 0o700);
  const socket = path.join(dir, 'agent.sock');
  // The wrapper kills the agent when its stdin closes: at close(), or when this process dies.
  const child = spawn('sh', ['-c', 'ssh-agent -D -a "$1" >/dev/null & a=$!; read -r _; kill $a; wait $a', 'sh', socket], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const fail = async (why: string): Promise<never> => {
    await stopAgent(child);
    await rm(dir, { recursive: true, force: true });
    throw new BuildError('RUNTIME', `--ssh ${spec.id}: ${why}`, { hint: 'ssh-agent and ssh-add come with openssh-client (scripts/install-system-deps.sh)' });
  };
  for (let i = 0; !existsSync(socket); i++) {
    if (child.exitCode !== null || i >= 200) return fail(`ssh-agent did not start${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  for (const key of spec.keys ?? []) {
    // From stdin: ssh-add then neither insists on the file's mode nor asks for a passphrase.
    const data = await readFile(key);
    const r = await runAdd(socket, data);
    if (r.code !== 0) return fail(`ssh-add could not load ${key}: ${r.err.trim() || `exit ${r.code}`}`);
  }
  return { socket, dir, child };
}

function runAdd(socket: string, key: Buffer): Promise<{ code: number; err: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, SSH_AUTH_SOCK: socket, SSH_ASKPASS_REQUIRE: 'never' };
    const p = spawn('ssh-add', ['-q', '-'], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => resolve({ code: 127, err: e.message }));
    p.on('close', (code) => resolve({ code: code ?? 1, err }));
    p.stdin.end(key);
  });
}

function stopAgent(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.stdin?.end();
  });
}

/** A listening relay: its socket path and how to close it (and its connections). */
export interface Relay {
  path: string;
  close(): Promise<void>;
}

/**
 * A socket at `file` (a path of the step's scratch directory) owned `uid:gid` with `mode`,
 * relaying each connection to the agent at `agent`.
 */
export async function relaySocket(agent: string, file: string, opts: { uid: number; gid: number; mode: number }): Promise<Relay> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    const up = net.connect(agent);
    conns.add(up);
    const drop = () => {
      c.destroy();
      up.destroy();
      conns.delete(c);
      conns.delete(up);
    };
    c.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
    c.pipe(up).pipe(c);
  });
  await new Promise<void>((resolve, reject) => server.listen(file, resolve).once('error', reject));
  await chown(file, opts.uid, opts.gid);
  await chmod(file, opts.mode);
  if (!(await lstat(file)).isSocket()) throw new InternalError(`ssh relay ${file} is not a socket`);
  return {
    path: file,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}
