/**
 * `startDaemon(options)`: the mybuild daemon, a Docker-Engine-compatible HTTP API on unix
 * sockets and TCP (see listen.ts for the security rules) over one store root.
 *
 * Routing: `/v1.NN/path` and `/path` are the same endpoint; a version above API_VERSION is a
 * 400 as in Docker. Unknown endpoints are 404 `{"message": "page not found: METHOD /path"}`.
 * Handlers throw BuildErrors; the router answers `{"message": …}` with HTTP_STATUS of the code.
 *
 * Lifecycle: `close()` (and SIGTERM/SIGINT when `handleSignals`) stops accepting connections,
 * cancels running builds, kills the containers the daemon runs, waits for their records to be
 * written, then closes the remaining connections. Idempotent.
 */
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { BuildError, NotFoundError, UsageError } from '../errors.js';
import { ImageStore } from '../store/image-store.js';
import { ContainerManager } from '../containers/manager.js';
import { LocalEngine } from '../engine/local.js';
import { errorBody, sendError, sendJson, statusOf } from './http.js';
import { parseHost, type HostAddress } from '../api/host.js';
import { checkTcpSecurity, createHttpServer, listenOn, type TlsOptions } from './listen.js';
import { systemRoutes } from './routes/system.js';
import { buildRoutes } from './routes/build.js';
import { imageRoutes } from './routes/images.js';
import { containerRoutes, ContainerRuntime } from './routes/containers.js';
import { ContextDirs } from './context-dirs.js';
import { EventLog } from './events.js';
import { containerOpRoutes } from './routes/container-ops.js';
import { eventRoutes } from './routes/events.js';
import { execRoutes } from './routes/exec.js';
import { archiveRoutes } from './routes/archive.js';
import { volumeRoutes } from './routes/volumes.js';
import { imageOpRoutes } from './routes/image-ops.js';
import { networkRoutes } from './routes/networks.js';
import { NetworkService } from '../containers/networks/service.js';

import { API_VERSION, MIN_API_VERSION } from '../api/version.js';
import { storeLayout } from '../store/layout.js';

export { API_VERSION, MIN_API_VERSION };

export interface DaemonOptions {
  /** Store root. */
  root: string;
  /** Listen addresses (`unix:///…`, `tcp://…`); at least one. */
  hosts: string[];
  /** TLS for the TCP listeners. */
  tls?: TlsOptions;
  /** Allow a non-loopback TCP listener without `tls.verify` (prints a warning). */
  insecureTcp?: boolean;
  /** Largest build context tar accepted, in bytes (default 8 GiB). */
  maxContextBytes?: number;
  /** Install SIGTERM/SIGINT handlers that close the daemon (the CLI does; tests do not). */
  handleSignals?: boolean;
  /** Where warnings and the request log go (default stderr). */
  log?: (line: string) => void;
  /** OCI runtime binary (default runc). */
  runtime?: string;
}

/** What every route handler gets. */
export interface DaemonState {
  root: string;
  images: ImageStore;
  /** The engine the routes run on (over `images` and `containers`' manager). */
  engine: LocalEngine;
  containers: ContainerRuntime;
  maxContextBytes: number;
  /** Running builds' abort controllers (canceled on shutdown). */
  builds: Set<AbortController>;
  /** Warm build-context directories (see context-dirs.ts). */
  contextDirs: ContextDirs;
  log: (line: string) => void;
  startedAt: Date;
  /** Container and image events (GET /events). */
  events: EventLog;
  /** User-defined networks (src/containers/networks). */
  networks: NetworkService;
}

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** Captured path parts of the route's pattern. */
  params: string[];
  query: URLSearchParams;
  state: DaemonState;
  /** The API version of the request (from the path, else API_VERSION). */
  version: string;
}

export interface Route {
  method: string;
  pattern: RegExp;
  handle: (r: RouteRequest) => Promise<void>;
  /** Hijacking routes (attach) are served from the `upgrade` event too. */
  upgrade?: (r: RouteRequest & { socket: Duplex; head: Buffer }) => Promise<void>;
}

export interface Daemon {
  /** The listen addresses, as parsed. */
  readonly addresses: HostAddress[];
  /** Closes the daemon (see the module comment). Idempotent. */
  close(): Promise<void>;
  /** Resolves once the daemon has closed. */
  readonly closed: Promise<void>;
}

function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

/** Splits `/v1.43/images/json` into version and path; throws 400 for unsupported versions. */
export function splitVersion(pathname: string): { version: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)?$/.exec(pathname);
  if (!m) return { version: API_VERSION, path: pathname };
  const v = m[1];
  if (compareVersions(v, API_VERSION) > 0) {
    throw new BuildError('INVALID_ARGUMENT', `client version ${v} is too new. Maximum supported API version is ${API_VERSION}`, { hint: 'set DOCKER_API_VERSION or let the client negotiate' });
  }
  if (compareVersions(v, MIN_API_VERSION) < 0) {
    throw new BuildError('INVALID_ARGUMENT', `client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  return { version: v, path: m[2] ?? '/' };
}

/** The store, containers, engine and event log the routes share. */
async function openState(opts: DaemonOptions, log: (line: string) => void): Promise<DaemonState> {
  const images = await ImageStore.open(opts.root);
  const events = new EventLog();
  const networks = await NetworkService.open(images.root, storeLayout(images.root).containers);
  // The daemon's containers outlive it (tied: false); what a killed daemon left is reconciled.
  const containers = new ContainerRuntime(async () => {
    const m = await ContainerManager.open(images.root, { images, runtime: opts.runtime, tied: false });
    m.attachNetworks = (c) => networks.attacher(c);
    await m.reconcile().catch(() => undefined);
    return m;
  }, events);
  return {
    root: images.root,
    images,
    engine: new LocalEngine({ root: images.root, env: process.env, images, manager: () => containers.manager(), runtime: opts.runtime }),
    containers,
    maxContextBytes: opts.maxContextBytes ?? 8 * 1024 ** 3,
    builds: new Set(),
    contextDirs: new ContextDirs(storeLayout(images.root).daemonContexts),
    log,
    startedAt: new Date(),
    events,
    networks,
  };
}

/** The HTTP `request` and `upgrade` handlers: each request is matched to one of `routes` and run on `state`. */
function requestHandlers(routes: Route[], state: DaemonState, log: (line: string) => void) {
  const match = (method: string, p: string): { route: Route; params: string[] } | undefined => {
    let pathMatched = false;
    for (const route of routes) {
      const m = route.pattern.exec(p);
      if (!m) continue;
      pathMatched = true;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params: m.slice(1).map((s) => decodeURIComponent(s)) };
    }
    if (pathMatched) throw Object.assign(new BuildError('INVALID_ARGUMENT', `method ${method} not allowed for ${p}`), {});
    return undefined;
  };

  const prepare = (req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', 'http://daemon');
    const { version, path } = splitVersion(url.pathname);
    const found = match(req.method ?? 'GET', path);
    if (!found) throw new NotFoundError(`page not found: ${req.method} ${url.pathname}`, { hint: 'this endpoint is not part of the Docker Engine API subset mybuild serves' });
    return { found, query: url.searchParams, version };
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Server', `mybuild (linux)`);
    void (async () => {
      try {
        const { found, query, version } = prepare(req);
        await found.route.handle({ req, res, params: found.params, query, state, version });
      } catch (err) {
        if (!(err instanceof BuildError) || err.code === 'INTERNAL') log(`error: ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
        sendError(res, err);
      }
    })();
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void (async () => {
      try {
        const { found, query, version } = prepare(req);
        if (!found.route.upgrade) throw new BuildError('INVALID_ARGUMENT', `${req.method} ${req.url} cannot be upgraded`);
        await found.route.upgrade({ req, res: undefined as unknown as ServerResponse, params: found.params, query, state, version, socket, head });
      } catch (err) {
        const body = JSON.stringify(errorBody(err));
        socket.end(`HTTP/1.1 ${statusOf(err)} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      }
    })();
  };
  return { onRequest, onUpgrade };
}

/** Listens on every address, keeping track of the open connections; on a failure closes what it opened and throws. */
async function listenAll(addresses: HostAddress[], tls: DaemonOptions['tls'], handlers: ReturnType<typeof requestHandlers>): Promise<{ servers: Server[]; sockets: Set<Duplex> }> {
  const servers: Server[] = [];
  const sockets = new Set<Duplex>();
  try {
    for (const a of addresses) {
      const server = createHttpServer(handlers.onRequest, a.kind === 'tcp' ? tls : undefined);
      server.on('upgrade', handlers.onUpgrade);
      server.on(tls && a.kind === 'tcp' ? 'secureConnection' : 'connection', (s: Duplex) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      });
      server.on('tlsClientError', () => undefined);
      await listenOn(server, a);
      servers.push(server);
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw err;
  }
  return { servers, sockets };
}

/**
 * Starts the daemon: opens the store, checks every address (TCP security, stale sockets),
 * then listens on all of them. Throws UsageError for bad or refused addresses and
 * BuildError ALREADY_EXISTS when another daemon holds a socket; nothing is left listening then.
 */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (opts.hosts.length === 0) throw new UsageError('the daemon needs at least one -H address');
  const addresses = opts.hosts.map(parseHost);
  const warnings: string[] = [];
  for (const a of addresses) {
    if (a.kind === 'tcp') {
      warnings.push(...checkTcpSecurity(a, opts.tls, opts.insecureTcp === true));
    }
  }
  const state = await openState(opts, log);
  const routes: Route[] = [...systemRoutes, ...eventRoutes, ...buildRoutes, ...containerOpRoutes, ...archiveRoutes, ...imageRoutes, ...containerRoutes, ...execRoutes, ...volumeRoutes, ...imageOpRoutes, ...networkRoutes];
  const { servers, sockets } = await listenAll(addresses, opts.tls, requestHandlers(routes, state, log));
  for (const w of warnings) log(w);

  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const onSignal = (sig: NodeJS.Signals) => {
    log(`received ${sig}, shutting down`);
    void daemon.close();
  };
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (opts.handleSignals) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      const stopped = Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      for (const b of state.builds) b.abort(new BuildError('CANCELED', 'the daemon is shutting down'));
      await state.containers.shutdown();
      await state.networks.close();
      const deadline = Date.now() + 5000;
      while (state.builds.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const s of servers) s.closeIdleConnections?.();
      setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 1000).unref();
      await stopped;
      resolveClosed();
    })();
    return closing;
  };
  const daemon: Daemon = { addresses, close, closed };
  if (opts.handleSignals) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return daemon;
}

export { sendJson };
