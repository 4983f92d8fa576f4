/**
 * The default ("sandbox") network of a RUN step or `mybuild run`: a network namespace of its own
 * that reaches the outside through slirp4netns, a user-mode TCP/IP stack, as rootless Podman and
 * rootless BuildKit do. Nothing changes in the host's network namespace (no bridge, veth, route,
 * address or iptables rule): slirp4netns turns the namespace's `tap0` traffic into ordinary
 * sockets of its own process on the host.
 *
 * One `startUserNetwork()` = a holder process (`unshare --net`, the namespace's owner until the
 * step ends) + slirp4netns attached to it (`--configure`: tap0 is 10.0.2.100/24, gateway
 * 10.0.2.2, DNS forwarder 10.0.2.3; `--disable-host-loopback`: the host's 127.0.0.1 is not
 * reachable from inside, the default of Podman and BuildKit). Both die with mybuild even on
 * SIGKILL: the holder reads its stdin pipe to EOF, slirp4netns watches `--exit-fd`.
 * Published ports (`-p`) go through slirp4netns' API socket (`add_hostfwd`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, readlink, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BuildError } from '../errors.js';
import { inUserNamespace } from './userns.js';

/** slirp4netns' fixed addresses with `--configure`. */
export const SLIRP_GUEST_ADDR = '10.0.2.100';
export const SLIRP_DNS_ADDR = '10.0.2.3';

/** A port to publish from the host to the container (`-p [IP:]HOST:CONTAINER[/PROTO]`). */
export interface PublishedPort {
  /** Host address to listen on; default 0.0.0.0. */
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export interface UserNetwork {
  /** The namespace to give runc (`linux.namespaces[].path`). */
  netnsPath: string;
  /** Stops slirp4netns and the holder; idempotent, never throws. */
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;

/** Finds `name` in PATH (+ /usr/sbin, /sbin); BuildError RUNTIME naming the Debian package when missing. */
export async function findBinary(name: string, pkg: string): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d !== ''), '/usr/local/bin', '/usr/bin', '/usr/sbin', '/sbin', '/bin'];
  for (const d of dirs) {
    const c = path.join(d, name);
    try {
      await access(c, fsConstants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new BuildError('RUNTIME', `${name} not found: the default network of RUN steps needs it`, {
    hint: `install it (apt-get install ${pkg}), or use --network=none or --network=host`,
  });
}

/** Resolves with the first chunk `stream` gives, or rejects when `child` exits first or time runs out. */
function firstData(stream: Readable, child: ChildProcess, what: string, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new BuildError('RUNTIME', `${what} did not start within ${START_TIMEOUT_MS / 1000}s${stderr() ? `: ${stderr()}` : ''}`)), START_TIMEOUT_MS);
    const onData = (d: Buffer): void => done(undefined, d.toString('utf8'));
    const onExit = (code: number | null): void => done(new BuildError('RUNTIME', `${what} exited (${code ?? 'signal'}) before it was ready${stderr() ? `: ${stderr()}` : ''}`));
    const onError = (err: Error): void => done(new BuildError('RUNTIME', `cannot start ${what}: ${err.message}`, { cause: err }));
    function done(err?: Error, v?: string): void {
      clearTimeout(timer);
      stream.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (err) reject(err);
      else resolve(v ?? '');
    }
    stream.on('data', onData);
    child.on('exit', onExit);
    child.on('error', onError);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a user-mode network: see the module comment. `ports` are forwarded through the
 * slirp4netns API socket (in a private temporary directory: a socket path must be shorter than
 * 108 bytes). Throws BuildError RUNTIME when unshare or slirp4netns is missing or fails, or a
 * port cannot be published; leaves nothing running when it throws.
 */
export async function startUserNetwork(opts: { ports?: PublishedPort[] } = {}): Promise<UserNetwork> {
  const slirpBin = await findBinary('slirp4netns', 'slirp4netns');
  const unshareBin = await findBinary('unshare', 'util-linux');
  // slirp4netns opens /dev/net/tun as the calling user: rootless, its mode decides.
  try {
    await access('/dev/net/tun', fsConstants.R_OK | fsConstants.W_OK);
  } catch (err) {
    throw new BuildError('RUNTIME', `the default network needs /dev/net/tun, which ${inUserNamespace() ? 'mybuild (rootless)' : 'mybuild'} cannot open: ${(err as Error).message}`, {
      hint: 'make it usable by all users as Debian\'s udev rules do (chmod 0666 /dev/net/tun), or use --network=none or --network=host',
    });
  }
  const children: ChildProcess[] = [];
  let apiDir: string | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const c of [...children].reverse()) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const s of c.stdio) s?.destroy();
      await exited(c);
    }
    if (apiDir) await rm(apiDir, { recursive: true, force: true });
  };
  try {
    // The holder: in a new network namespace (and only then does it print), then `cat` until
    // its stdin — our pipe — ends, which it does when we die.
    const holder = spawn(unshareBin, ['--net', '--', '/bin/sh', '-c', 'echo ready; exec cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(holder);
    let holderErr = '';
    holder.stderr!.on('data', (d: Buffer) => (holderErr += d.toString('utf8')));
    await firstData(holder.stdout!, holder, 'unshare --net', () => holderErr.trim());
    holder.stdout!.resume();
    const pid = holder.pid!;
    const netnsPath = `/proc/${pid}/ns/net`;
    // Never configure the host's namespace: the holder's must be another one.
    const [own, theirs] = await Promise.all([readlink('/proc/self/ns/net'), readlink(netnsPath)]);
    if (own === theirs) throw new BuildError('RUNTIME', 'unshare --net did not create a network namespace');

    const args = ['--configure', '--mtu=65520', '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp', '--ready-fd=3', '--exit-fd=4'];
    let apiSocket: string | undefined;
    if (opts.ports?.length) {
      const tmp = os.tmpdir().length < 64 ? os.tmpdir() : '/tmp';
      apiDir = await mkdtemp(path.join(tmp, 'mybuild-slirp-'));
      apiSocket = path.join(apiDir, 'api.sock');
      args.push(`--api-socket=${apiSocket}`);
    }
    args.push(String(pid), 'tap0');
    // fd 3: slirp4netns writes "1" when tap0 is configured; fd 4: it exits when its peer closes.
    const slirp = spawn(slirpBin, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
    children.push(slirp);
    let slirpLog = '';
    const collect = (d: Buffer): void => {
      if (slirpLog.length < 4096) slirpLog += d.toString('utf8');
    };
    slirp.stdout!.on('data', collect);
    slirp.stderr!.on('data', collect);
    // Its own messages, without the banner (`Starting slirp`, `* MTU: …`) and fd chatter.
    const slirpErrors = (): string => slirpLog.split('\n').filter((l) => l && !/^\s*\*|^Starting slirp|tapfd|WARNING: Support for seccomp/.test(l)).join('; ');
    await firstData(slirp.stdio[3] as Readable, slirp, 'slirp4netns', slirpErrors);
    for (const p of opts.ports ?? []) await addHostForward(apiSocket!, p);
    return { netnsPath, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** One request to slirp4netns' API socket; resolves with its JSON reply. */
function apiRequest(socket: string, req: unknown): Promise<{ return?: unknown; error?: { desc?: string } }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = '';
    c.on('connect', () => c.end(JSON.stringify(req)));
    c.on('data', (d: Buffer) => (buf += d.toString('utf8')));
    c.on('error', reject);
    c.on('close', () => {
      try {
        resolve(JSON.parse(buf) as { return?: unknown; error?: { desc?: string } });
      } catch {
        reject(new Error(`slirp4netns API: unexpected reply ${JSON.stringify(buf)}`));
      }
    });
  });
}

/** Forwards `p` from the host to `guestAddr` (default the sandbox's address); resolves with slirp4netns' forward ID. */
export async function addHostForward(socket: string, p: PublishedPort, guestAddr = SLIRP_GUEST_ADDR): Promise<number> {
  const reply = await apiRequest(socket, {
    execute: 'add_hostfwd',
    arguments: { proto: p.protocol, host_addr: p.hostIp ?? '0.0.0.0', host_port: p.hostPort, guest_addr: guestAddr, guest_port: p.containerPort },
  }).catch((err: Error) => ({ error: { desc: err.message } }));
  if (reply.error) {
    throw new BuildError('RUNTIME', `cannot publish ${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}:${p.containerPort}/${p.protocol}: ${reply.error.desc ?? 'failed'}`, {
      hint: 'is the host port already in use?',
    });
  }
  return Number(('return' in reply ? (reply.return as { id?: number } | undefined)?.id : undefined) ?? 0);
}

/** Removes the host forward `id` (of addHostForward). */
export async function removeHostForward(socket: string, id: number): Promise<void> {
  const reply = await apiRequest(socket, { execute: 'remove_hostfwd', arguments: { id } });
  if (reply.error) throw new BuildError('RUNTIME', `cannot remove port forward ${id}: ${reply.error.desc ?? 'failed'}`);
}

/**
 * /etc/resolv.conf for a step on the user-mode network: slirp4netns' DNS forwarder (which asks
 * the host's resolvers) as the nameserver, the host's search and options lines kept.
 */
export function sandboxResolvConf(hostResolvConf: string, nameserver = SLIRP_DNS_ADDR): string {
  const kept = hostResolvConf.split('\n').filter((l) => /^\s*(search|domain|options)\s/.test(l));
  return [`nameserver ${nameserver}`, ...kept, ''].join('\n');
}
