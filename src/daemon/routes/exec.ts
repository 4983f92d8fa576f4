/**
 * Exec: `POST /containers/{id}/exec` (create), `POST /exec/{id}/start` (attached over a
 * hijacked connection — multiplexed frames without a TTY, raw with one — or detached),
 * `GET /exec/{id}/json` (inspect) and `POST /exec/{id}/resize`.
 *
 * The process runs with `runc exec` in the running container: it inherits the container's
 * process settings (capabilities, rlimits, env) from its bundle, gets the exec's Env on top, its
 * User resolved through the container's /etc/passwd (`/proc/<init pid>/root`), WorkingDir, and
 * with a TTY runs under util-linux `script` (as the executor does for `-t` containers).
 * Exec records live in memory while the daemon runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Duplex, Transform } from 'node:stream';
import { BuildError, NotFoundError } from '../../errors.js';
import { execCapture } from '../../runtime/exec.js';
import { resolveUser } from '../../runtime/user.js';
import { ALL_CAPABILITIES } from '../../runtime/spec.js';
import { muxFrame } from '../../api/mux.js';
import { readJson, sendJson, withStatus } from '../http.js';
import type { Route, RouteRequest } from '../server.js';
import { isZero, unsupported } from '../create-request.js';
import { DEFAULT_DETACH_KEYS, detachFilter, parseDetachKeys } from '../detach-keys.js';

interface ExecRecord {
  id: string;
  containerId: string;
  cmd: string[];
  env: string[];
  user: string;
  workdir: string;
  tty: boolean;
  privileged: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  detachKeys: string;
  detachBytes: Buffer;
  running: boolean;
  exitCode: number | null;
  pid: number;
  child?: ChildProcess;
  done?: Promise<void>;
}

const execs = new Map<string, ExecRecord>();

const EXEC_FIELDS = new Set(['Container', 'Detach', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'Cmd', 'Env', 'WorkingDir', 'User', 'Privileged', 'DetachKeys', 'ConsoleSize']);

async function createExec({ req, res, state, params }: RouteRequest): Promise<void> {
  // Keys match case-insensitively, as Go's JSON decoding does (docker-py sends "detachKeys").
  const body = Object.fromEntries(Object.entries(await readJson<Record<string, unknown>>(req, {})).map(([k, v]) => [[...EXEC_FIELDS].find((f) => f.toLowerCase() === k.toLowerCase()) ?? k, v]));
  for (const [k, v] of Object.entries(body)) if (!EXEC_FIELDS.has(k) && !isZero(v)) throw unsupported(`exec: ${k}`);
  const mgr = await state.containers.manager();
  const c = await mgr.inspect(params[0]);
  if (c.state.status !== 'running') throw withStatus(new BuildError('INVALID_ARGUMENT', `Container ${c.id} is not running`), 409);
  const cmd = Array.isArray(body.Cmd) ? body.Cmd.map(String) : typeof body.Cmd === 'string' ? [body.Cmd] : [];
  if (cmd.length === 0) throw new BuildError('INVALID_ARGUMENT', 'No exec command specified');
  const env = Array.isArray(body.Env) ? body.Env.map(String) : [];
  for (const e of env) if (!e.includes('=')) throw new BuildError('INVALID_ARGUMENT', `invalid environment variable: ${e}`);
  const id = randomBytes(32).toString('hex');
  execs.set(id, {
    id,
    containerId: c.id,
    cmd,
    env,
    user: String(body.User ?? ''),
    workdir: String(body.WorkingDir ?? ''),
    tty: body.Tty === true,
    privileged: body.Privileged === true,
    attachStdin: body.AttachStdin === true,
    attachStdout: body.AttachStdout === true,
    attachStderr: body.AttachStderr === true,
    detachKeys: String(body.DetachKeys ?? ''),
    detachBytes: parseDetachKeys(String(body.DetachKeys ?? '') || DEFAULT_DETACH_KEYS),
    running: false,
    exitCode: null,
    pid: 0,
  });
  state.events.container(`exec_create: ${cmd.join(' ')}`, c);
  sendJson(res, 201, { Id: id });
}

function lookup(id: string): ExecRecord {
  const e = execs.get(id);
  if (!e) throw new NotFoundError(`No such exec instance: ${id}`);
  return e;
}

/** Starts the exec's process; output goes to `out(stream, chunk)`, stdin from `stdin` when attached. */
async function launch(state: RouteRequest['state'], e: ExecRecord, out: (fd: 1 | 2, chunk: Buffer) => void, stdin?: Duplex, onDetach?: () => void): Promise<void> {
  if (e.running || e.exitCode !== null) throw withStatus(new BuildError('INVALID_ARGUMENT', `Exec ${e.id} has already run`), 409);
  const mgr = await state.containers.manager();
  const h = await mgr.runtimeHandle(e.containerId).catch(() => {
    throw withStatus(new BuildError('INVALID_ARGUMENT', `Container ${e.containerId} is not running`), 409);
  });
  const st = await execCapture(h.bin, ['--root', h.stateRoot, 'state', h.runtimeId]);
  const initPid = st.code === 0 ? (JSON.parse(st.stdout.toString('utf8')) as { pid: number }).pid : 0;
  const args = ['--root', h.stateRoot, 'exec'];
  const userSpec = e.user || h.container.config.user;
  if (userSpec && initPid) {
    const u = await resolveUser(`/proc/${initPid}/root`, userSpec);
    args.push('--user', `${u.uid}:${u.gid}`);
    for (const g of u.additionalGids) args.push('--additional-gids', String(g));
  }
  if (e.workdir) args.push('--cwd', e.workdir);
  for (const v of e.env) args.push('--env', v);
  if (e.privileged) for (const cap of ALL_CAPABILITIES) args.push('--cap', cap);
  if (e.tty) args.push('--tty');
  args.push(h.runtimeId, ...e.cmd);
  const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const child = e.tty
    ? spawn('script', ['-q', '-e', '-c', [h.bin, ...args].map(quote).join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(h.bin, args, { stdio: [e.attachStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  e.child = child;
  e.running = true;
  e.pid = child.pid ?? 0;
  child.stdout!.on('data', (b: Buffer) => e.attachStdout && out(1, b));
  // runc's own failure to start the process (not found, not executable): dockerd's exit code 126.
  let startFailed = false;
  child.stderr!.on('data', (b: Buffer) => {
    if (/runc exec failed|unable to start container process/.test(b.toString('utf8'))) startFailed = true;
    if (e.attachStderr) out(e.tty ? 1 : 2, b);
  });
  child.stdin?.on('error', () => undefined);
  let filter: Transform | undefined;
  if (stdin && child.stdin && e.attachStdin) {
    // The detach keys end the attachment, not the process.
    const f = (filter = detachFilter(e.detachBytes, () => {
      stdin.unpipe(f);
      f.unpipe(child.stdin!);
      onDetach?.();
    }));
    stdin.pipe(f).pipe(child.stdin);
  }
  e.done = new Promise<void>((resolve) => {
    child.on('error', () => {
      e.running = false;
      e.exitCode = 126;
      resolve();
    });
    child.on('close', (code) => {
      e.running = false;
      e.exitCode = startFailed && code === 255 ? 126 : (code ?? 137);
      if (stdin && filter) stdin.unpipe(filter);
      resolve();
    });
  });
  void e.done.then(async () => {
    const c = await mgr.inspect(e.containerId).catch(() => undefined);
    if (c) state.events.container('exec_die', c, { execID: e.id, exitCode: String(e.exitCode) });
  });
  const c = await mgr.inspect(e.containerId);
  state.events.container(`exec_start: ${e.cmd.join(' ')}`, c, { execID: e.id });
}

async function startPlain({ req, res, state, params }: RouteRequest): Promise<void> {
  const body = await readJson<{ Detach?: boolean; Tty?: boolean }>(req, {});
  const e = lookup(params[0]);
  if (body.Detach) {
    await launch(state, e, () => undefined);
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
    return;
  }
  // The framing follows the start request's Tty (dockerd: raw only when it says Tty), not the exec's.
  const tty = body.Tty === true;
  let headers = false;
  const head = (): void => {
    if (headers) return;
    headers = true;
    res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
  };
  await launch(state, e, (fd, chunk) => {
    head();
    res.write(tty ? chunk : muxFrame(fd, chunk));
  });
  head();
  await e.done;
  res.end();
}

async function startUpgrade({ req, socket, state, params, head }: RouteRequest & { socket: Duplex; head: Buffer }): Promise<void> {
  const chunks: Buffer[] = [];
  if (head.length) chunks.push(head);
  const len = Number(req.headers['content-length'] ?? 0);
  // The JSON body precedes the stream on the hijacked connection.
  let body: { Detach?: boolean; Tty?: boolean } = {};
  if (len > 0) {
    let got = Buffer.concat(chunks);
    while (got.length < len) {
      const next: Buffer | null = socket.read() as Buffer | null;
      if (next) got = Buffer.concat([got, next]);
      else await new Promise((r) => socket.once('readable', r));
    }
    body = JSON.parse(got.subarray(0, len).toString('utf8') || '{}') as { Detach?: boolean; Tty?: boolean };
    if (got.length > len) socket.unshift(got.subarray(len));
  }
  const e = lookup(params[0]);
  // As startPlain: framed unless the start request says Tty.
  const tty = body.Tty === true;
  if (body.Detach) {
    await launch(state, e, () => undefined);
    socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  if (e.running || e.exitCode !== null) throw withStatus(new BuildError('INVALID_ARGUMENT', `Exec ${e.id} has already run`), 409);
  const c = await (await state.containers.manager()).inspect(e.containerId);
  if (c.state.status !== 'running') throw withStatus(new BuildError('INVALID_ARGUMENT', `Container ${c.id} is not running`), 409);
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream'}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  socket.on('error', () => undefined);
  try {
    await launch(state, e, (fd, chunk) => {
      if (!socket.destroyed && !socket.writableEnded) socket.write(tty ? chunk : muxFrame(fd, chunk));
    }, socket, () => socket.end());
  } catch (err) {
    socket.end(tty ? `${(err as Error).message}\r\n` : muxFrame(2, Buffer.from(`${(err as Error).message}\n`)));
    return;
  }
  await e.done;
  socket.end();
}

async function inspectExec({ res, state, params }: RouteRequest): Promise<void> {
  const e = lookup(params[0]);
  void state;
  sendJson(res, 200, {
    ID: e.id,
    Running: e.running,
    ExitCode: e.exitCode,
    ProcessConfig: { tty: e.tty, entrypoint: e.cmd[0], arguments: e.cmd.slice(1), privileged: e.privileged, user: e.user },
    OpenStdin: e.attachStdin,
    OpenStderr: e.attachStderr,
    OpenStdout: e.attachStdout,
    CanRemove: false,
    ContainerID: e.containerId,
    DetachKeys: e.detachKeys,
    Pid: e.running ? e.pid : 0,
  });
}

/** Resize: a TTY exec's terminal is `script`'s pty, which has no resize channel here. */
async function resizeExec({ res, params, query }: RouteRequest): Promise<void> {
  const e = lookup(params[0]);
  if (!e.running) throw withStatus(new BuildError('INVALID_ARGUMENT', `Exec ${e.id} is not running`), 409);
  if (!e.tty) throw new BuildError('INVALID_ARGUMENT', `Exec ${e.id} has no TTY to resize`);
  void query;
  void res;
  throw unsupported('resizing an exec TTY', 'the TTY keeps its initial size');
}

export const execRoutes: Route[] = [
  { method: 'POST', pattern: /^\/containers\/([^/]+)\/exec$/, handle: createExec },
  { method: 'POST', pattern: /^\/exec\/([^/]+)\/start$/, handle: startPlain, upgrade: startUpgrade },
  { method: 'GET', pattern: /^\/exec\/([^/]+)\/json$/, handle: inspectExec },
  { method: 'POST', pattern: /^\/exec\/([^/]+)\/resize$/, handle: resizeExec },
];
