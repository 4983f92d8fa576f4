/**
 * Daemon listeners: `unix:///path.sock`, `tcp://ADDR:PORT` (plain or TLS). The security rules
 * live here, in pure functions the tests call directly:
 *
 * - a unix socket is created with mode 0660 (umask set around `listen`, then chmod), after
 *   refusing to start when another daemon answers on it and removing a stale socket file;
 * - a TCP address that is not loopback is refused unless TLS with client certificate
 *   verification is on (`--tlsverify`, Docker's semantics) or `insecureTcp` is given;
 * - with `tlsverify` the server requires a client certificate signed by `tlscacert`.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { BuildError, UsageError } from '../errors.js';
import { MAX_HEADER_BYTES } from './http.js';

export type HostAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface TlsOptions {
  /** Require and verify client certificates (`--tlsverify`). */
  verify: boolean;
  cacert?: string;
  cert: string;
  key: string;
}

/**
 * The default socket: `/run/mybuild/mybuild.sock` as root, `$XDG_RUNTIME_DIR/mybuild/mybuild.sock`
 * otherwise, rootless mode included (uid 0 of its user namespace: src/cli/rootless.ts passes
 * the user's own uid as MYBUILD_ROOTLESS_UID).
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const rootless = env.MYBUILD_ROOTLESS_CHILD === '1' && env.MYBUILD_ROOTLESS_UID !== undefined;
  if (!rootless && typeof process.getuid === 'function' && process.getuid() === 0) return '/run/mybuild/mybuild.sock';
  const dir = env.XDG_RUNTIME_DIR || path.join(os.tmpdir(), `mybuild-${rootless ? env.MYBUILD_ROOTLESS_UID : (process.getuid?.() ?? 'user')}`);
  return path.join(dir, 'mybuild', 'mybuild.sock');
}

/**
 * Parses `unix:///p.sock`, `tcp://host:port`, `host:port` (tcp) or an absolute path (unix).
 * Throws UsageError for anything else. TCP needs a port (Docker's 2375/2376 are not assumed).
 */
export function parseHost(s: string): HostAddress {
  if (s.startsWith('unix://')) {
    const p = s.slice('unix://'.length);
    if (!p.startsWith('/')) throw new UsageError(`invalid host "${s}": the socket path must be absolute`, { hint: 'e.g. unix:///run/mybuild/mybuild.sock' });
    return { kind: 'unix', path: p };
  }
  if (s.startsWith('/')) return { kind: 'unix', path: s };
  const rest = s.startsWith('tcp://') ? s.slice('tcp://'.length) : /^[^/]+:\d+$/.test(s) ? s : undefined;
  if (rest === undefined) throw new UsageError(`invalid host "${s}": expected unix:///path.sock or tcp://ADDR:PORT`);
  const m = /^(\[[^\]]+\]|[^:/]*):(\d+)\/?$/.exec(rest);
  if (!m) throw new UsageError(`invalid host "${s}": expected tcp://ADDR:PORT`, { hint: 'e.g. tcp://127.0.0.1:2375' });
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`invalid host "${s}": port ${port} is out of range`);
  const host = m[1].replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { kind: 'tcp', host, port };
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/**
 * The refusal rule for TCP listeners: returns a warning text when the listener may start but
 * is insecure, undefined when it is fine; throws UsageError when it must not start (a
 * non-loopback address without `--tlsverify` and without `--insecure-tcp`).
 */
export function checkTcpSecurity(addr: { host: string; port: number }, tls: TlsOptions | undefined, insecureTcp: boolean): string | undefined {
  if (isLoopbackHost(addr.host)) return undefined;
  if (tls?.verify) return undefined;
  const where = `tcp://${addr.host}:${addr.port}`;
  if (!insecureTcp) {
    throw new UsageError(`refusing to listen on ${where}: a non-loopback TCP address needs TLS with client certificate verification`, {
      hint: 'use --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY, or listen on 127.0.0.1 or a unix socket; --insecure-tcp overrides this (anyone who can reach the port gets root on this machine)',
    });
  }
  return `WARNING: listening on ${where} ${tls ? 'with TLS but without client certificate verification' : 'without TLS'} (--insecure-tcp): anyone who can reach this port controls the daemon and can get root on this machine`;
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
  if (!st.isSocket()) throw new BuildError('ALREADY_EXISTS', `refusing to use ${p} as the daemon socket: a file that is not a socket is there`, { hint: 'remove it or give another -H unix:///path' });
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.connect(p);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new BuildError('ALREADY_EXISTS', `another daemon is listening on ${p}`, { hint: 'stop it first, or give another -H unix:///path' });
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
    await fsp.mkdir(path.dirname(addr.path), { recursive: true, mode: 0o755 });
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
