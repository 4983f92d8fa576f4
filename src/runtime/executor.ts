/**
 * Runs a process in a container through an OCI runtime (runc by default; `--runtime PATH` for
 * any other). One `run` = one bundle under `<root>/bundles/<id>`: the rootfs mounts are mounted
 * at `<bundle>/rootfs`, config.json (spec.ts) and the generated /etc files are written beside it,
 * and `runc --root <root>/runc run --bundle <bundle> <id>` runs in the foreground with stdio on
 * pipes. Afterwards — on success, failure or abort — the container is deleted, mount-point stubs
 * runc had to create in the rootfs are removed (so they do not land in the layer; like
 * BuildKit's MountStubsCleaner), the rootfs is unmounted and the bundle deleted.
 * `cleanupStale(root)` removes what a killed mybuild left (containers, mounts, bundles).
 * Unless `tied: false`, the container, its mounts and its bundle are registered with the
 * process's watchdog (watchdog.ts) and `runc` gets PR_SET_PDEATHSIG (setpriv), so a SIGKILL of
 * mybuild leaves no container running and nothing mounted.
 *
 * The network is `sandbox` (own network namespace reaching the outside through slirp4netns,
 * started before runc and stopped in the same cleanup: usernet.ts), `none` (own empty network
 * namespace; runc brings up `lo`) or `host`; nothing here touches the host network.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, lstat, mkdir, readdir, readFile, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { BuildError, InternalError } from '../errors.js';
import { execCapture } from './exec.js';
import { mountAll, unmountAll, type Mount } from './mount.js';
import { secureJoinParent } from './secure-join.js';
import { generateSpec, hostsFile, resolvConf, type ExecSpec, type TerminalSize } from './spec.js';
import { boundingCapabilities, hostDevices } from './devices.js';
import { sandboxResolvConf, startUserNetwork, type UserNetwork } from './usernet.js';
import { EMBEDDED_DNS, startNetnsHolder, type NetnsHolder } from './netns.js';
import type { NetworkAttachment } from './spec.js';
import { inUserNamespace, mappedIdCount } from './userns.js';
import os from 'node:os';
import { storeDir } from '../store/store-dirs.js';
import { runcStateDir } from './runc-state.js';
import { deathSignalPrefix, tieContainer, tieRemoval } from './watchdog.js';

export interface ExitStatus {
  exitCode: number;
  /** Set when the process was killed by the executor (abort). */
  signal?: string;
}

export interface Executor {
  /**
   * Runs `spec` on a rootfs made of `rootfsMounts` (e.g. a snapshot's mounts) and resolves with
   * the exit status (non-zero is not an error). Throws BuildError `RUNTIME` when the runtime is
   * missing or fails to start the container, `CANCELED` when `signal` aborts (the container is
   * killed and removed first). Never leaves mounts or containers behind. `spec.stdout`/`stderr`
   * are written but not ended.
   */
  run(spec: ExecSpec, rootfsMounts: Mount[], signal?: AbortSignal): Promise<ExitStatus>;
}

export interface RuncExecutorOptions {
  /** State directory (e.g. `<store>/runtime`): bundles and runc's `--root` live here. */
  root: string;
  /** Runtime binary: a name looked up in PATH (+ /usr/sbin, /sbin) or a path. Default `runc`. */
  runtime?: string;
  /** Kill and undo the container if this process dies (default true; false for a daemon's containers). */
  tied?: boolean;
}

/**
 * Finds the runtime binary. Throws BuildError `RUNTIME` with hint `install it: apt-get install
 * runc` when it is missing or not executable.
 */
export async function resolveRuntime(runtime = 'runc'): Promise<string> {
  const candidates = runtime.includes('/')
    ? [path.resolve(runtime)]
    : [...(process.env.PATH ?? '').split(':').filter((d) => d !== ''), '/usr/local/sbin', '/usr/sbin', '/sbin'].map((d) => path.join(d, runtime));
  for (const c of candidates) {
    try {
      await access(c, fsConstants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new BuildError('RUNTIME', `OCI runtime "${runtime}" not found${runtime.includes('/') ? '' : ' in PATH'}`, {
    hint: 'install it: apt-get install runc',
  });
}

/** runc (or compatible) executor; see the module comment. */
export class RuncExecutor implements Executor {
  readonly root: string;
  readonly runtime: string;
  readonly tied: boolean;

  constructor(opts: RuncExecutorOptions) {
    this.root = path.resolve(opts.root);
    this.runtime = opts.runtime ?? 'runc';
    this.tied = opts.tied ?? true;
  }

  private get stateDir(): string {
    return runcStateDir(this.root);
  }

  async run(spec: ExecSpec, rootfsMounts: Mount[], signal?: AbortSignal): Promise<ExitStatus> {
    const runtime = await resolveRuntime(this.runtime);
    if (signal?.aborted) throw canceled();
    const id = `mybuild-${randomBytes(8).toString('hex')}`;
    const bundle = path.join(this.root, 'bundles', id);
    const rootfs = path.join(bundle, 'rootfs');
    const untie = this.tied ? [tieRemoval(bundle)] : [];
    await storeDir(bundle);
    await mkdir(rootfs);
    await storeDir(this.stateDir);
    let stubs: string[] = [];
    let mounted = false;
    let usernet: UserNetwork | undefined;
    let holder: NetnsHolder | undefined;
    let attached: NetworkAttachment | undefined;
    try {
      if (spec.network === 'sandbox') {
        usernet = await startUserNetwork({ ports: spec.publish ?? [] });
      } else if (spec.network === 'bridge') {
        if (!spec.attachNetworks) throw new BuildError('INVALID_ARGUMENT', 'a container on a user-defined network runs only in the daemon (mybuild daemon), which owns its networks');
        holder = await startNetnsHolder();
        attached = await spec.attachNetworks(holder.pid);
      } else if (spec.publish?.length) {
        throw new BuildError('INVALID_ARGUMENT', `published ports need the default network, not --network=${spec.network}`);
      }
      await mountAll(rootfsMounts, rootfs, { tied: this.tied });
      mounted = true;
      const user = spec.resolveUser ? await spec.resolveUser(rootfs) : spec.user;
      if (!user) throw new InternalError('ExecSpec needs user or resolveUser');
      assertMapped(user);
      const etc = { hosts: path.join(bundle, 'hosts'), resolvConf: path.join(bundle, 'resolv.conf'), hostname: path.join(bundle, 'hostname') };
      await writeFile(etc.hosts, hostsFile(spec.hostname, [...(attached?.hosts ?? []), ...(spec.extraHosts ?? [])]));
      const hostResolv = spec.network === 'none' ? '' : await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
      // --dns/--dns-search/--dns-option (a container's) replace the file; else the network's.
      await writeFile(etc.resolvConf, resolvConf(spec.container) ?? (spec.network === 'sandbox' ? sandboxResolvConf(hostResolv) : spec.network === 'bridge' ? sandboxResolvConf(hostResolv, EMBEDDED_DNS) : hostResolv));
      await writeFile(etc.hostname, spec.hostname + '\n');
      const config = generateSpec({ ...spec, user }, rootfs, etc, {
        maxOpenFiles: await hardNofileLimit(),
        ...(usernet ? { netnsPath: usernet.netnsPath } : holder ? { netnsPath: holder.netnsPath } : {}),
        ...(inUserNamespace() ? { mappedIds: mappedIdCount() } : {}),
        ...(spec.privileged ? { hostDevices: hostDevices(), capabilities: boundingCapabilities() } : spec.container ? { capabilities: boundingCapabilities() } : {}),
      });
      stubs = await missingPaths(rootfs, [...config.mounts.map((m) => m.destination), spec.cwd || '/']);
      await writeFile(path.join(bundle, 'config.json'), JSON.stringify(config, null, 2));
      if (this.tied) untie.push(tieContainer(runtime, this.stateDir, id));
      return await this.runContainer(runtime, id, bundle, spec, signal);
    } finally {
      // `runc run` removes its container when it exits; state left behind (runc killed, a
      // failed start) is what needs `delete -f`. Saves a runtime spawn per RUN.
      const left = await lstat(path.join(this.stateDir, id)).then(() => true, () => false);
      if (left) await execCapture(runtime, ['--root', this.stateDir, 'delete', '-f', id]).catch(() => undefined);
      await usernet?.close();
      await attached?.detach();
      await holder?.close();
      if (mounted) await removeStubs(stubs).catch(() => undefined);
      await unmountAll(rootfs);
      await rm(bundle, { recursive: true, force: true });
      for (const u of untie) u();
    }
  }

  private runContainer(runtime: string, id: string, bundle: string, spec: ExecSpec, signal?: AbortSignal): Promise<ExitStatus> {
    const log = path.join(bundle, 'runc.log');
    const runcArgs = ['--root', this.stateDir, '--log', log, '--log-format', 'json', 'run', '--bundle', bundle, id];
    // runc's foreground terminal mode needs a controlling terminal of its own; receiving the pty
    // master over --console-socket needs SCM_RIGHTS, which Node lacks. So in tty mode runc runs
    // under util-linux `script`, which owns a pty and relays it to our pipes (-e: runc's status).
    // With a terminal size, the shell script(1) starts names its pty (ttyFile) and sizes it before
    // exec'ing runc, which copies its terminal's size to the container's console at start and
    // again on SIGWINCH, which the kernel sends it when resizeTerminal sizes that pty.
    // A terminal whose size comes later (a daemon client's first resize) gets its pty named too.
    const ttyFile = path.join(bundle, 'tty');
    const terminal = spec.tty ? spec.terminal : undefined;
    const size = terminal?.size();
    const runcLine = [runtime, ...runcArgs].map(shellQuote).join(' ');
    const line = terminal ? `tty > ${shellQuote(ttyFile)}; ${size ? `stty rows ${size.rows} cols ${size.cols}; ` : ''}exec ${runcLine}` : runcLine;
    const [cmd0, args0] = spec.tty ? ['script', ['-q', '-e', '-c', line, '/dev/null']] : [runtime, runcArgs];
    const [cmd, args] = this.tied ? deathSignalPrefix(cmd0, args0) : [cmd0, args0];
    const child = spawn(cmd, args, {
      stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      ...(spec.tty ? { env: { ...process.env, SHELL: '/bin/sh' } } : {}),
    });
    const unsubscribe = terminal ? terminal.onResize(() => void resizeTerminal(ttyFile, terminal.size(), () => child.exitCode !== null || child.signalCode !== null)) : undefined;
    if (spec.stdin && child.stdin) {
      child.stdin.on('error', () => undefined); // the process may exit before reading it all
      spec.stdin.pipe(child.stdin);
    }
    if (spec.stdout) child.stdout!.pipe(spec.stdout, { end: false });
    else child.stdout!.resume();
    if (spec.stderr) child.stderr!.pipe(spec.stderr, { end: false });
    else child.stderr!.resume();

    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      aborted = true;
      // The container may not exist yet: retry until runc exits.
      const once = (): void => {
        void execCapture(runtime, ['--root', this.stateDir, 'kill', id, 'KILL']).then((r) => {
          if (r.code !== 0 && child.exitCode === null) child.kill('SIGKILL');
        });
      };
      once();
      killTimer = setInterval(once, 250);
    };
    signal?.addEventListener('abort', kill, { once: true });

    return new Promise<ExitStatus>((resolve, reject) => {
      child.on('error', (err) => reject(new BuildError('RUNTIME', `cannot start ${runtime}: ${err.message}`, { cause: err, hint: 'install it: apt-get install runc' })));
      child.on('close', (code, sig) => {
        unsubscribe?.();
        signal?.removeEventListener('abort', kill);
        if (killTimer) clearInterval(killTimer);
        if (spec.stdin && child.stdin) spec.stdin.unpipe(child.stdin);
        if (aborted) {
          reject(canceled());
          return;
        }
        void runtimeError(log).then((msg) => {
          if (msg) {
            reject(new BuildError('RUNTIME', `${path.basename(runtime)} failed to run the container: ${msg}`));
            return;
          }
          resolve({ exitCode: code ?? 128 + (sig ? 9 : 0) });
        });
      });
    });
  }
}

/**
 * Rootless with a one-id mapping (no subordinate range): only uid/gid 0 exist, so a step as
 * another user cannot start. Says what to add instead of runc's "invalid argument".
 */
function assertMapped(user: { uid: number; gid: number; additionalGids?: number[] }): void {
  if (!inUserNamespace()) return;
  const mapped = mappedIdCount();
  const ids = [user.uid, user.gid, ...(user.additionalGids ?? [])];
  const over = ids.find((id) => id >= mapped);
  if (over === undefined) return;
  const who = os.userInfo().username;
  throw new BuildError('RUNTIME', `this step runs as ${user.uid}:${user.gid}, but rootless mode maps only ${mapped === 1 ? 'uid 0' : `ids 0-${mapped - 1}`} (id ${over} is not mapped)`, {
    hint: `give ${who} a subordinate id range: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${who} (lines "${who}:100000:65536" in /etc/subuid and /etc/subgid), and install uidmap`,
  });
}

/** Our own hard RLIMIT_NOFILE (from /proc/self/limits); undefined when unknown or unlimited. */
export async function hardNofileLimit(): Promise<number | undefined> {
  const text = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  const m = /^Max open files\s+\S+\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function canceled(): BuildError {
  return new BuildError('CANCELED', 'canceled');
}

/** The runtime's own error (from its JSON log), if it logged one: container setup failed. */
async function runtimeError(log: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(log, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    try {
      const rec = JSON.parse(line) as { level?: string; msg?: string };
      if (rec.level === 'error' || rec.level === 'fatal') return rec.msg ?? line;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

/** Every path component of `dests` that does not exist in the rootfs yet, outermost first. */
async function missingPaths(rootfs: string, dests: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dests) {
    const parts = d.split('/').filter((p) => p !== '');
    for (let i = 1; i <= parts.length; i++) {
      const abs = secureJoinParent(rootfs, parts.slice(0, i).join('/'));
      try {
        await lstat(abs);
      } catch {
        if (!out.includes(abs)) out.push(abs);
      }
    }
  }
  return out;
}

/** Removes stubs (deepest first) that are still empty files or empty directories. */
async function removeStubs(stubs: string[]): Promise<void> {
  for (const p of [...stubs].sort((a, b) => b.length - a.length)) {
    try {
      const st = await lstat(p);
      if (st.isDirectory()) {
        if ((await readdir(p)).length === 0) await rmdir(p);
      } else if (st.isFile() && st.size === 0) await unlink(p);
    } catch {
      // gone or busy: leave it
    }
  }
}

/**
 * Removes what killed runs left under `root` (an executor root): every container in runc's state
 * dir there (`runc list`, `runc delete -f`), every mount below `root` and below each of
 * `alsoUnmount` (e.g. the snapshotter root), and the bundles. Idempotent; call it at start-up,
 * while no other mybuild process uses `root`. Never throws for a missing runtime.
 */
export async function cleanupStale(root: string, runtime = 'runc', alsoUnmount: string[] = []): Promise<void> {
  const abs = path.resolve(root);
  const state = runcStateDir(abs);
  let bin: string | undefined;
  try {
    bin = await resolveRuntime(runtime);
  } catch {
    bin = undefined;
  }
  // runc keeps one directory per container under its state dir: none there, nothing to list
  // (saves spawning the runtime at the start of every build).
  const containers = await readdir(state).catch(() => [] as string[]);
  if (bin && containers.length > 0) {
    const r = await execCapture(bin, ['--root', state, 'list', '-q']);
    if (r.code === 0) {
      for (const id of r.stdout.toString('utf8').split('\n').map((s) => s.trim()).filter((s) => s !== '')) {
        await execCapture(bin, ['--root', state, 'kill', id, 'KILL']);
        await execCapture(bin, ['--root', state, 'delete', '-f', id]);
      }
    }
  }
  await unmountAll(abs);
  for (const d of alsoUnmount) await unmountAll(d);
  await rm(path.join(abs, 'bundles'), { recursive: true, force: true });
}

/**
 * Sizes the pty named in `ttyFile` (`stty -F`); the kernel then sends SIGWINCH to runc, which
 * resizes the container's console. A resize before script(1) named its pty waits for it (up to
 * 5 s, until `ended`): runc then takes the size at start.
 */
async function resizeTerminal(ttyFile: string, size: TerminalSize | undefined, ended: () => boolean): Promise<void> {
  if (!size) return;
  let pty = '';
  for (let i = 0; i < 100 && !ended(); i++) {
    pty = (await readFile(ttyFile, 'utf8').catch(() => '')).trim();
    if (pty.startsWith('/dev/')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!pty.startsWith('/dev/')) return;
  await execCapture('stty', ['-F', pty, 'rows', String(size.rows), 'cols', String(size.cols)]).catch(() => undefined);
}
