/**
 * Daemon listeners: `unix:///path.sock`, `tcp://ADDR:PORT` (plain or TLS). The security rules
 * live here, in pure functions the tests call directly:
 *
 * - a unix socket is created with mode 0660 (umask set around `listen`, then chmod), after
 *   refusing to start when another daemon answers on it and removing a stale socket file; its
 *   directory, when mybuild makes it or owns it, is 0711 (prepareSocketDir);
 * - a TCP address that is not loopback is refused unless TLS with client certificate
 *   verification is on (`--tlsverify`, Docker's semantics) or `insecureTcp` is given; every TCP
 *   listener without `--tlsverify`, loopback too, is warned about at start (as dockerd does);
 * - with `tlsverify` the server requires a client certificate signed by `tlscacert`.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { BuildError, UsageError, AlreadyExistsError } from '../errors.js';
import { MAX_HEADER_BYTES } from './http.js';
import { mkdirMode } from '../util/private-dir.js';

import type { HostAddress } from '../api/host.js';

export interface TlsOptions {
  /** Require and verify client certificates (`--tlsverify`). */
  verify: boolean;
  cacert?: string;
  cert: string;
  key: string;
}

/**
 * rootless mode's real user (src/cli/rootless.ts passes it as MYBUILD_ROOTLESS_UID: inside the
 * user namespace this process is uid 0); undefined outside rootless mode.
 */
function rootlessUid(env: NodeJS.ProcessEnv): string | undefined {
  return env.MYBUILD_ROOTLESS_CHILD === '1' ? env.MYBUILD_ROOTLESS_UID : undefined;
}

/**
 * The socket directory mybuild owns: `/run/mybuild` as root (not rootless mode's uid 0, which
 * cannot create it), `/tmp/mybuild-UID` for another user without XDG_RUNTIME_DIR (the real
 * user's UID in rootless mode); undefined when the socket goes under `$XDG_RUNTIME_DIR` (the user's own).
 */
export function ownSocketDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const rootless = rootlessUid(env);
  if (rootless === undefined && typeof process.getuid === 'function' && process.getuid() === 0) return '/run/mybuild';
  if (env.XDG_RUNTIME_DIR) return undefined;
  return path.join(os.tmpdir(), `mybuild-${rootless ?? process.getuid?.() ?? 'user'}`);
}

/**
 * The default socket: `/run/mybuild/mybuild.sock` as root, `$XDG_RUNTIME_DIR/mybuild/mybuild.sock`
 * otherwise (rootless mode included), `/tmp/mybuild-UID/mybuild.sock` without XDG_RUNTIME_DIR.
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const own = ownSocketDir(env);
  return own !== undefined ? path.join(own, 'mybuild.sock') : path.join(env.XDG_RUNTIME_DIR!, 'mybuild', 'mybuild.sock');
}

/** The mode of socket directories mybuild makes: others pass through to the 0660 socket, never list. */
export const SOCKET_DIR_MODE = 0o711;

/**
 * Makes the directory of the socket `sock`; the directories it creates get 0711. The directory
 * mybuild owns (`own`, see ownSocketDir) is also set to 0711 when it exists with another mode,
 * and refused when another user owns it (made by someone else to take the socket over). Other
 * existing directories (/tmp, $XDG_RUNTIME_DIR) are left as they are.
 */
export async function prepareSocketDir(sock: string, own: string | undefined = ownSocketDir()): Promise<void> {
  const dir = path.dirname(path.resolve(sock));
  await mkdirMode(dir, SOCKET_DIR_MODE);
  if (own === undefined || path.resolve(own) !== dir) return;
  const st = await fsp.lstat(dir);
  const uid = process.geteuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid) {
    throw new BuildError('IO', `refusing to put the daemon socket in ${dir}: ${st.isDirectory() ? `it belongs to uid ${st.uid}, not to uid ${uid}` : 'it is not a directory'}`, {
      hint: 'remove it, or give another -H unix:///path',
    });
  }
  if ((st.mode & 0o7777) !== SOCKET_DIR_MODE) await fsp.chmod(dir, SOCKET_DIR_MODE);
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/**
 * The refusal rule for TCP listeners: returns the warnings to print at start when the listener
 * may start but is insecure (every TCP listener without `--tlsverify`, loopback included, as
 * dockerd warns: anyone who can connect runs root containers with host mounts), none when it
 * verifies client certificates; throws UsageError when it must not start (a non-loopback
 * address without `--tlsverify` and without `--insecure-tcp`).
 */
export function checkTcpSecurity(addr: { host: string; port: number }, tls: TlsOptions | undefined, insecureTcp: boolean): string[] {
  if (tls?.verify) return [];
  const where = `tcp://${addr.host}:${addr.port}`;
  // dockerd's words (cmd/dockerd/daemon.go), with the host as its log field.
  const warnings = [`WARNING: Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network. host="${where}"`];
  if (isLoopbackHost(addr.host)) {
    warnings.push(`WARNING: Binding to an IP address, even on localhost, gives root access to every user of this machine and can also give access to scripts run in a browser; use the unix socket (mode 0660) or --tlsverify. host="${where}"`);
    return warnings;
  }
  if (!insecureTcp) {
    throw new UsageError(`refusing to listen on ${where}: a non-loopback TCP address needs TLS with client certificate verification`, {
      hint: 'use --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY, or listen on 127.0.0.1 or a unix socket; --insecure-tcp overrides this (anyone who can reach the port gets root on this machine)',
    });
  }
  warnings.push(`WARNING: listening on ${where} ${tls ? 'with TLS but without client certificate verification' : 'without TLS'} (--insecure-tcp): anyone who can reach this port controls the daemon and can get root on this machine`);
  return warnings;
}

/**
 * Removes a stale socket file at `p`, or throws BuildError ALREADY_EXISTS when a daemon
 * answers on it. A file there that is not a socket is refused (never deleted).
 */
export async function clearStaleSocket(p: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new AlreadyExistsError(`refusing to use ${p} as the daemon socket: a file that is not a socket is there`, { hint: 'remove it or give another -H unix:///path' });
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.connect(p);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new AlreadyExistsError(`another daemon is listening on ${p}`, { hint: 'stop it first, or give another -H unix:///path' });
  await fsp.unlink(p);
}

/** An HTTP(S) server for `handler` with the header size limit. */
export function createHttpServer(handler: http.RequestListener, tls?: TlsOptions): http.Server {
  const common = { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 0, headersTimeout: 60_000 };
  if (!tls) return http.createServer(common, handler);
  const read = (f: string, what: string): Buffer => {
    if (!existsSync(f)) throw new UsageError(`${what} ${f} does not exist`);
    return readFileSync(f);
  };
  if (tls.verify && !tls.cacert) throw new UsageError('--tlsverify needs --tlscacert (the CA that signs client certificates)');
  return https.createServer(
    {
      ...common,
      cert: read(tls.cert, '--tlscert'),
      key: read(tls.key, '--tlskey'),
      ...(tls.cacert ? { ca: read(tls.cacert, '--tlscacert') } : {}),
      requestCert: tls.verify,
      rejectUnauthorized: tls.verify,
      minVersion: 'TLSv1.2',
    },
    handler,
  );
}

/** Listens on `addr`; a unix socket ends up with mode 0660. Rejects with the listen error. */
export async function listenOn(server: http.Server, addr: HostAddress): Promise<void> {
  if (addr.kind === 'unix') {
    await prepareSocketDir(addr.path);
    await clearStaleSocket(addr.path);
    const old = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(addr.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(old);
    }
    await fsp.chmod(addr.path, 0o660);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
