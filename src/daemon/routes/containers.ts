/**
 * Container endpoints over ContainerManager (src/containers): create, start, wait, attach
 * (hijacked connection; Docker's 8-byte multiplexing header per frame when the container has
 * no TTY), resize (a TTY container's terminal size), logs, stop, kill, list, inspect, delete.
 *
 * The daemon runs containers as its own children: `start` launches `manager.start` in the
 * background and answers once the container runs (or failed to start). Output fans out to the
 * attached connections; they are ended when the container exits. `wait?condition=next-exit`
 * (what `docker run` sends before `start`) waits for the next run to end.
 */
import type { Duplex, Writable } from 'node:stream';
import { PassThrough, Writable as WritableCtor } from 'node:stream';
import { BuildError, toBuildError } from '../../errors.js';
import type { Container, ContainerManager } from '../../containers/manager.js';
import { createOptions } from '../create-request.js';
import type { EndpointRequest } from '../../containers/networks/service.js';
import { EventLog } from '../events.js';
import { ClientTerminal } from '../terminal-size.js';
import { isFrozen, setFrozen } from '../../containers/cgroups.js';
import { normalizeSignal } from '../../containers/manager.js';
import { healthEnabled, HealthMonitor, type HealthState } from '../../containers/health.js';
import { DEFAULT_DETACH_KEYS, detachFilter, parseDetachKeys } from '../detach-keys.js';
import { execCapture } from '../../runtime/exec.js';
import { boolParam, readJson, sendJson, withStatus } from '../http.js';
import type { Route, RouteRequest } from '../server.js';
import { muxFrame } from '../../api/mux.js';
import { containerFilterFacts, containerListEntry, containerSummary, inspectContainer, type ContainerSummary } from '../../api/containers.js';
import { filterContainers, filtersFromQuery } from '../../api/filters.js';

interface Attachment {
  socket: Duplex;
  stdout: boolean;
  stderr: boolean;
  stdin: boolean;
  /** Typed on stdin, it ends this attachment (the container keeps running). */
  detachKeys?: Buffer;
  /** End the container's stdin when this attachment's stdin ends (Config.StdinOnce). */
  stdinOnce?: boolean;
}

interface Run {
  exit: Promise<number>;
}

/** Containers run by this daemon: attachments, runs, exit waiters. */
export class ContainerRuntime {
  private mgrP?: Promise<ContainerManager>;
  private readonly attachments = new Map<string, Set<Attachment>>();
  private readonly runs = new Map<string, Run>();
  private readonly nextExit = new Map<string, ((code: number) => void)[]>();
  private readonly stdins = new Map<string, PassThrough>();
  /** TTY containers' terminal sizes, as their clients set them (resize). */
  private readonly terminals = new Map<string, ClientTerminal>();

  constructor(
    private readonly open: () => Promise<ContainerManager>,
    readonly events: EventLog = new EventLog(),
  ) {}

  /** Healthchecks of the containers this daemon runs (the last state stays after an exit). */
  private readonly health = new Map<string, HealthMonitor>();

  /** A container's `State.Health` (undefined when it has no healthcheck or never ran with one). */
  healthOf(id: string): HealthState | undefined {
    return this.health.get(id)?.state;
  }

  /** Containers stopped or killed through the API: their restart policy does not apply (as dockerd). */
  private readonly manuallyStopped = new Set<string>();
  /** Restarts by policy, per container (inspect's RestartCount). */
  readonly restartCounts = new Map<string, number>();
  private closing = false;

  markStopped(id: string): void {
    this.manuallyStopped.add(id);
  }

  /** After an exit: starts the container again when its restart policy says so (dockerd's 100 ms doubling back-off). */
  private async maybeRestart(mgr: ContainerManager, id: string, code: number): Promise<void> {
    try {
      const c = await mgr.inspect(id).catch(() => undefined);
      const rp = c?.config.settings?.restartPolicy;
      if (!c || !rp || this.closing || this.manuallyStopped.has(id)) return;
      const n = this.restartCounts.get(id) ?? 0;
      if (rp.name === 'on-failure' && (code === 0 || (rp.maximumRetryCount > 0 && n >= rp.maximumRetryCount))) return;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** n, 60_000)));
      const again = await mgr.inspect(id).catch(() => undefined);
      if (!again || again.state.status !== 'exited' || this.closing || this.manuallyStopped.has(id) || this.runs.has(id)) return;
      this.restartCounts.set(id, n + 1);
      this.events.container('restart', again);
      await this.start(again).catch(() => undefined);
    } finally {
      this.restarting.delete(id);
    }
  }

  /** Containers waiting to be restarted by their policy (dockerd's `restarting` state). */
  readonly restarting = new Set<string>();

  /** Resolves once this daemon no longer runs container `id` (its run's end is recorded). */
  async settle(id: string): Promise<void> {
    const run = this.runs.get(id);
    if (run) await run.exit;
    for (let i = 0; i < 100 && this.runs.has(id); i++) await new Promise((r) => setTimeout(r, 10));
  }

  manager(): Promise<ContainerManager> {
    this.mgrP ??= this.open();
    return this.mgrP;
  }

  async list(all: boolean): Promise<Container[]> {
    return (await this.manager()).list({ all });
  }

  attach(id: string, a: Attachment): void {
    let set = this.attachments.get(id);
    if (!set) this.attachments.set(id, (set = new Set()));
    set.add(a);
    a.socket.once('close', () => set!.delete(a));
    if (a.stdin) {
      let pt = this.stdins.get(id);
      if (!pt) this.stdins.set(id, (pt = new PassThrough()));
      if (a.detachKeys?.length) {
        const filter = detachFilter(a.detachKeys, () => {
          a.socket.unpipe(filter);
          filter.unpipe(pt);
          set!.delete(a);
          a.socket.end();
        });
        a.socket.pipe(filter).pipe(pt, { end: a.stdinOnce === true });
      } else a.socket.pipe(pt);
    }
  }

  private sink(id: string, tty: boolean, which: 'stdout' | 'stderr'): Writable {
    return new WritableCtor({
      write: (chunk: Buffer, _enc, cb) => {
        for (const a of this.attachments.get(id) ?? []) {
          if (!a[which] || a.socket.destroyed) continue;
          a.socket.write(tty ? chunk : muxFrame(which === 'stdout' ? 1 : 2, chunk));
        }
        cb();
      },
    });
  }

  /** Container `id`'s terminal, first sized by its HostConfig.ConsoleSize ([height, width], what docker's CLI sends at create). */
  private terminalOf(id: string, consoleSize?: [number, number]): ClientTerminal {
    let t = this.terminals.get(id);
    if (!t) this.terminals.set(id, (t = new ClientTerminal()));
    if (!t.size() && consoleSize && consoleSize[0] > 0 && consoleSize[1] > 0) t.set({ rows: consoleSize[0], cols: consoleSize[1] });
    return t;
  }

  /** A client's terminal size for running container `id` (a container without a TTY has none to size). */
  resize(id: string, size: { rows: number; cols: number }): void {
    if (!this.runs.has(id)) throw withStatus(new BuildError('INVALID_ARGUMENT', `Container ${id} is not running`), 409);
    this.terminalOf(id).set(size);
  }

  /** Registers a waiter for the end of the container's next (or current) run. */
  waitNextExit(id: string): Promise<number> {
    const run = this.runs.get(id);
    if (run) return run.exit;
    return new Promise((resolve) => {
      const l = this.nextExit.get(id) ?? [];
      l.push(resolve);
      this.nextExit.set(id, l);
    });
  }

  /** Starts container `id` in the background; resolves once it runs, rejects when it cannot start. */
  async start(c: Container): Promise<void> {
    const mgr = await this.manager();
    if (this.runs.has(c.id)) throw withStatus(new BuildError('INVALID_ARGUMENT', `container ${c.name} is already running`), 304);
    this.manuallyStopped.delete(c.id);
    const stdin = c.config.openStdin ? (this.stdins.get(c.id) ?? new PassThrough()) : undefined;
    if (stdin) this.stdins.set(c.id, stdin);
    const terminal = c.config.tty ? this.terminalOf(c.id, c.config.settings?.consoleSize) : undefined;
    const started = mgr.start(c.id, { stdout: this.sink(c.id, c.config.tty, 'stdout'), stderr: this.sink(c.id, c.config.tty, 'stderr'), stdin, ...(terminal ? { terminal } : {}) });
    const exit = started.then(
      (e) => e.exitCode,
      // Could not start: the recorded code, else Docker's 127 (command not found) or 125, as daemonless `run`.
      async (err: unknown) => (await mgr.inspect(c.id).then((x) => x.state.exitCode, () => undefined)) ?? (/executable file not found|no such file or directory/i.test(toBuildError(err).message) ? 127 : 125),
    );
    this.runs.set(c.id, { exit });
    this.health.get(c.id)?.stop();
    const hc = c.config.settings?.healthcheck;
    if (healthEnabled(hc)) {
      const m = new HealthMonitor(mgr, c.id, hc, (status) => this.events.container(`health_status: ${status}`, c));
      this.health.set(c.id, m);
      m.start();
    } else this.health.delete(c.id);
    void exit.then((code) => {
      this.health.get(c.id)?.stop();
      // Marked before anyone waiting on the exit hears of it: a remove right after sees `restarting`.
      const rp = c.config.settings?.restartPolicy;
      if (rp && !this.closing && !this.manuallyStopped.has(c.id) && !(rp.name === 'on-failure' && code === 0)) this.restarting.add(c.id);
      this.runs.delete(c.id);
      this.events.container('die', c, { exitCode: String(code) });
      void this.maybeRestart(mgr, c.id, code);
      this.stdins.delete(c.id);
      this.terminals.delete(c.id);
      for (const w of this.nextExit.get(c.id) ?? []) w(code);
      this.nextExit.delete(c.id);
      for (const a of this.attachments.get(c.id) ?? []) a.socket.end();
      this.attachments.delete(c.id);
    });
    this.events.container('start', c);
    // Answer once it runs, exited already, or failed to start.
    for (;;) {
      const r = await Promise.race([started.then(() => 'done' as const), new Promise<'poll'>((res) => setTimeout(() => res('poll'), 25))]);
      if (r === 'done') return;
      const st = await mgr.inspect(c.id).then((x) => x.state.status, () => 'exited');
      if (st === 'running') {
        // The record says running before the runtime has made the process: answer once it runs
        // (top, pause, exec and a logs call right after start see it), or once it ended.
        await this.untilProcessRuns(mgr, c.id, started);
        return;
      }
      if (st !== 'created') return;
    }
  }

  private async untilProcessRuns(mgr: ContainerManager, id: string, started: Promise<unknown>): Promise<void> {
    let done = false;
    void started.then(() => (done = true), () => (done = true));
    const deadline = Date.now() + 5000;
    while (!done && Date.now() < deadline) {
      const h = await mgr.runtimeHandle(id).catch(() => undefined);
      if (!h) return;
      const st = await execCapture(h.bin, ['--root', h.stateRoot, 'state', h.runtimeId]);
      if (st.code === 0 && (JSON.parse(st.stdout.toString('utf8')) as { status: string }).status === 'running') return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kills every container this daemon runs and waits for their records (daemon shutdown). */
  async shutdown(): Promise<void> {
    this.closing = true;
    if (!this.mgrP) return;
    const mgr = await this.mgrP;
    const runs = [...this.runs.entries()];
    await Promise.all(runs.map(([id, r]) => mgr.kill(id, 'KILL').catch(() => undefined).then(() => r.exit)));
    // Volume devices (local driver options) the containers had mounted on the host.
    await (await mgr.volumes()).unmountEverything().catch(() => undefined);
  }
}

async function create({ req, res, state, query }: RouteRequest): Promise<void> {
  const body = await readJson<Record<string, unknown>>(req, {});
  const mgr = await state.containers.manager();
  const platform = query.get('platform') || undefined; // Docker's POST /containers/create?platform=
  const opts = await createOptions(body, query.get('name') || undefined);
  // A user-defined network (or bridge) must exist before the container does (networks.ts).
  const endpoints = (((body.NetworkingConfig ?? {}) as Record<string, unknown>).EndpointsConfig ?? {}) as Record<string, EndpointRequest>;
  const net = opts.network === 'bridge' ? await state.networks.resolveMode(opts.networkMode ?? 'bridge', endpoints) : undefined;
  const c = await mgr.create({ ...opts, ...(platform ? { platform } : {}) });
  if (net) {
    await state.networks.createEndpoint(c.id, net, Object.entries(endpoints).find(([k]) => k === net.Name || k === net.Id || net.Id.startsWith(k) || (k === 'default' && net.Name === 'bridge'))?.[1]).catch(async (err: unknown) => {
      await mgr.remove(c.id, { force: true }).catch(() => undefined);
      throw err;
    });
  }
  state.events.container('create', c);
  sendJson(res, 201, { Id: c.id, Warnings: [] });
}

async function start({ res, state, params }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  if (c.state.status === 'running') {
    res.writeHead(304);
    res.end();
    return;
  }
  await state.containers.start(c);
  res.writeHead(204);
  res.end();
}

/** `POST /containers/{id}/resize?h=ROWS&w=COLS`: the client's terminal size for a TTY container (docker's CLI sends it after start and on SIGWINCH). */
async function resize({ res, state, params, query }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  const dim = (k: 'h' | 'w') => {
    const v = Number(query.get(k) ?? '');
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new BuildError('INVALID_ARGUMENT', `resize: ${k}=${query.get(k) ?? ''} is not a terminal dimension`);
    return v;
  };
  const rows = dim('h');
  const cols = dim('w');
  if (c.config.tty && rows > 0 && cols > 0) state.containers.resize(c.id, { rows, cols });
  else if (c.state.status !== 'running') throw withStatus(new BuildError('INVALID_ARGUMENT', `Container ${c.id} is not running`), 409);
  res.writeHead(200, { 'Content-Length': 0 });
  res.end();
}

async function wait({ res, state, params, query }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  const condition = query.get('condition') || 'not-running';
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new BuildError('INVALID_ARGUMENT', `invalid condition: "${condition}"`);
  // Headers first, as Docker does, so the client knows the wait is registered.
  res.writeHead(200, { 'Content-Type': 'application/json' });
  (res as unknown as { flushHeaders(): void }).flushHeaders();
  let code: number;
  if (condition === 'not-running' && c.state.status !== 'running') code = c.state.exitCode ?? 0;
  else if (condition === 'not-running') code = (await mgr.wait(c.id)).exitCode;
  else if (c.state.status === 'exited' && condition === 'removed') code = c.state.exitCode ?? 0;
  else code = await state.containers.waitNextExit(c.id);
  if (condition === 'removed' && c.config.autoRemove) {
    for (let i = 0; i < 200; i++) {
      if (!(await mgr.inspect(c.id).then(() => true, () => false))) break;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  res.end(JSON.stringify({ StatusCode: code, Error: null }));
}

async function attachUpgrade({ socket, state, params, query, head }: RouteRequest & { socket: Duplex; head: Buffer }): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  const detachKeys = parseDetachKeys(query.get('detachKeys') || DEFAULT_DETACH_KEYS);
  const streamType = c.config.tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${streamType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  if (head.length) socket.unshift(head);
  if (boolParam(query, 'logs')) {
    // The output so far (dockerd's attach?logs=1), before the live stream.
    const past = (n: 1 | 2): Writable => new WritableCtor({ write: (chunk: Buffer, _e, cb) => (socket.write(c.config.tty ? chunk : muxFrame(n, chunk)), cb()) });
    await mgr.logs(c.id, { ...(boolParam(query, 'stdout') ? { stdout: past(1) } : {}), ...(boolParam(query, 'stderr') ? { stderr: past(2) } : {}) });
  }
  if (!boolParam(query, 'stream')) {
    socket.end();
    return;
  }
  state.containers.attach(c.id, {
    socket,
    stdout: boolParam(query, 'stdout'),
    stderr: boolParam(query, 'stderr'),
    stdin: boolParam(query, 'stdin') && c.config.openStdin,
    detachKeys,
    stdinOnce: c.config.settings?.stdinOnce === true,
  });
  if (c.state.status === 'exited') socket.end();
}

async function attachPlain(): Promise<void> {
  throw new BuildError('INVALID_ARGUMENT', 'attach needs an HTTP upgrade (Connection: Upgrade, Upgrade: tcp)');
}

async function logs({ res, state, params, query }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  if (c.config.settings?.logConfig?.type === 'none') throw withStatus(new BuildError('INVALID_ARGUMENT', 'configured logging driver does not support reading'), 501);
  const tty = c.config.tty;
  res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
  const sink = (n: 1 | 2): Writable =>
    new WritableCtor({
      write(chunk: Buffer, _e, cb) {
        res.write(tty ? chunk : muxFrame(n, chunk));
        cb();
      },
    });
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const tail = query.get('tail');
  // Unix seconds, possibly fractional ("1700000000.123456789"); 0 means no bound, as dockerd.
  const time = (k: string): number | undefined => {
    const v = query.get(k);
    if (!v || Number(v) === 0) return undefined;
    if (!/^\d+(\.\d+)?$/.test(v)) throw new BuildError('INVALID_ARGUMENT', `invalid ${k}: "${v}": expected a Unix timestamp`);
    return Number(v);
  };
  const since = time('since');
  const until = time('until');
  await mgr.logs(c.id, {
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    stdout: boolParam(query, 'stdout') ? sink(1) : undefined,
    stderr: boolParam(query, 'stderr') ? sink(2) : undefined,
    follow: boolParam(query, 'follow'),
    timestamps: boolParam(query, 'timestamps'),
    ...(tail && tail !== 'all' ? { tail: Number(tail) } : {}),
    signal: abort.signal,
  });
  res.end();
}

async function stop({ res, state, params, query }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  // Also while it waits to be restarted by its policy: a stop is final.
  state.containers.markStopped(c.id);
  if (c.state.status !== 'running') {
    res.writeHead(304);
    res.end();
    return;
  }
  const t = query.get('t');
  if (await isFrozen(c.id)) throw withStatus(new BuildError('INVALID_ARGUMENT', `Container ${c.id} is paused. Unpause the container before stopping or killing`), 409);
  await mgr.stop(c.id, { ...(t ? { timeoutSec: Number(t) } : {}), ...(query.get('signal') ? { signal: query.get('signal')! } : {}) });
  state.events.container('stop', c);
  res.writeHead(204);
  res.end();
}

async function kill({ res, state, params, query }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  try {
    const c = await mgr.inspect(params[0]);
    const signal = query.get('signal') || 'KILL';
    if (await isFrozen(c.id)) {
      if (normalizeSignal(signal) !== 'KILL') throw withStatus(new BuildError('INVALID_ARGUMENT', `Container ${c.id} is paused. Unpause the container before stopping or killing`), 409);
      await setFrozen(c.id, false);
    }
    state.containers.markStopped(c.id);
    await mgr.kill(params[0], signal);
    state.events.container('kill', c, { signal: normalizeSignal(signal) });
    // dockerd answers a SIGKILL once the container is gone.
    if (normalizeSignal(signal) === 'KILL') await mgr.wait(c.id).catch(() => undefined);
  } catch (err) {
    const e = toBuildError(err);
    if (e.code === 'INVALID_ARGUMENT' && /not running/.test(e.message)) throw withStatus(e, 409);
    throw err;
  }
  res.writeHead(204);
  res.end();
}

async function remove({ res, state, params, query }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  try {
    if (state.containers.restarting.has(c.id)) {
      if (!boolParam(query, 'force')) throw withStatus(new BuildError('INVALID_ARGUMENT', `You cannot remove a restarting container ${c.id}. Stop the container before attempting removal or force remove`), 409);
      state.containers.markStopped(c.id);
    }
    if (c.state.status === 'running' && boolParam(query, 'force')) state.containers.markStopped(c.id);
    if (c.state.status === 'running' && boolParam(query, 'force') && (await isFrozen(c.id))) await setFrozen(c.id, false);
    await mgr.remove(params[0], { force: boolParam(query, 'force'), volumes: boolParam(query, 'v') });
    state.events.container('destroy', c);
  } catch (err) {
    const e = toBuildError(err);
    if (e.code === 'INVALID_ARGUMENT' && /running/.test(e.message)) throw withStatus(e, 409);
    throw err;
  }
  res.writeHead(204);
  res.end();
}

/**
 * The containers `filters` (and `all`, `limit`) select, newest first (GET /containers/json, POST
 * /containers/prune), through the filters LocalEngine uses (src/api/filters.ts); a frozen
 * container is `paused` there. `limit` implies all, as dockerd.
 */
export async function selectContainers(state: RouteRequest['state'], query: URLSearchParams, opts: { all?: boolean } = {}): Promise<Container[]> {
  const filters = filtersFromQuery(query.get('filters') ?? undefined);
  const limit = Number(query.get('limit') ?? '-1');
  const all = opts.all || boolParam(query, 'all') || limit > 0;
  const now = Date.now();
  const cs: (Container & { paused?: boolean })[] = await state.containers.list(true);
  for (const c of cs) if (c.state.status === 'running' && (await isFrozen(c.id))) c.paused = true;
  const rows = cs.map((c) => ({ ...containerSummary(c, now), ...containerFilterFacts(c), state: statusOf(c) as ContainerSummary['state'] }));
  const images = filters.ancestor ? (await state.engine.images.list()).images : [];
  const keep = new Set(filterContainers(rows, filters, images, { all }).map((c) => c.id));
  const out = cs.filter((c) => keep.has(c.id));
  return limit > 0 ? out.slice(0, limit) : out;
}

/** The state name dockerd reports (`paused` while frozen). */
function statusOf(c: Container & { paused?: boolean }): string {
  return c.paused ? 'paused' : c.state.status;
}

async function listContainers({ res, state, query }: RouteRequest): Promise<void> {
  const now = Date.now();
  const cs = await selectContainers(state, query);
  const out = [];
  for (const c of cs) {
    const e = containerListEntry(c, now);
    if (c.state.status === 'running' && (await isFrozen(c.id))) Object.assign(e, { State: 'paused', Status: `${e.Status} (Paused)` });
    const health = c.state.status === 'running' ? state.containers.healthOf(c.id) : undefined;
    if (health) e.Status = `${e.Status} (${health.Status === 'starting' ? 'health: starting' : health.Status})`;
    out.push(e);
  }
  sendJson(res, 200, out);
}

async function inspectRoute({ res, state, params }: RouteRequest): Promise<void> {
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  const doc = inspectContainer(c);
  if (c.config.network === 'bridge') doc.NetworkSettings = { ...(doc.NetworkSettings as object), ...(await state.networks.networkSettings(c)) };
  doc.RestartCount = state.containers.restartCounts.get(c.id) ?? 0;
  const health = state.containers.healthOf(c.id);
  if (health) Object.assign(doc.State as object, { Health: health });
  if (state.containers.restarting.has(c.id)) Object.assign(doc.State as object, { Status: 'restarting', Restarting: true });
  if (c.state.status === 'running' && (await isFrozen(c.id))) Object.assign(doc.State as object, { Status: 'paused', Paused: true });
  sendJson(res, 200, doc);
}

const ID = '([^/]+)';
export const containerRoutes: Route[] = [
  { method: 'GET', pattern: /^\/containers\/json$/, handle: listContainers },
  { method: 'POST', pattern: /^\/containers\/create$/, handle: create },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/start$`), handle: start },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/wait$`), handle: wait },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/resize$`), handle: resize },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/attach$`), handle: attachPlain, upgrade: attachUpgrade },
  { method: 'GET', pattern: new RegExp(`^/containers/${ID}/logs$`), handle: logs },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/stop$`), handle: stop },
  { method: 'POST', pattern: new RegExp(`^/containers/${ID}/kill$`), handle: kill },
  { method: 'GET', pattern: new RegExp(`^/containers/${ID}/json$`), handle: inspectRoute },
  { method: 'DELETE', pattern: new RegExp(`^/containers/${ID}$`), handle: remove },
];
