/**
 * The process's watchdog: what this mybuild process has under way on the host — runc
 * containers, mounts, temporary paths and snapshots of its own foreground work — is undone when
 * the process dies, however it dies (SIGKILL included), at once rather than when a later build
 * happens to clean up.
 *
 * The watchdog is one small `awk` child per process, started on the first registration, in a
 * session of its own (a kill of our process group does not reach it). Its stdin is a pipe from
 * us: each registration is a line `+ <key> <phase> <shell command>` and its undo a line
 * `- <key>`. When we die the pipe closes; awk reaches the end of its input and runs the commands
 * still registered, phase by phase (1 containers, 2 mounts, 3 paths), newest first within a
 * phase. A process that ends normally has undone everything itself: the watchdog then runs
 * nothing. Containers meant to outlive the process (the daemon's) are simply not registered.
 *
 * `runc run` itself is started with PR_SET_PDEATHSIG (setpriv(1), executor.ts), so it dies with
 * us instead of going on to create the container after the watchdog looked.
 *
 * Without awk (or if it cannot be started) nothing is registered and the leftovers are found by
 * `mybuild system check` and removed by `--repair` or the next build, as before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type WatchPhase = 1 | 2 | 3;

const PROGRAM = String.raw`
{ op = $1; k = $2 }
op == "+" { cmd = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", cmd); c[k] = cmd; ph[k] = $3; n++; byseq[n] = k; seq[k] = n; next }
op == "-" { if (k in seq) delete byseq[seq[k]]; delete c[k]; delete ph[k]; delete seq[k]; next }
END {
  for (p = 1; p <= 3; p++)
    for (i = n; i >= 1; i--)
      if ((i in byseq) && ph[byseq[i]] == p) system(c[byseq[i]])
}
`;

/** The first line of every watchdog's program (then the owner's pid): how `watchdogsAtWork` finds them. */
const WATCHDOG_MARK = '# mybuild watchdog of pid ';

/**
 * Waits (up to `timeoutMs`) until no watchdog of a dead process is still undoing its work, so
 * a check right after a kill does not see what is being removed. Returns how many were waited for.
 */
export async function watchdogsAtWork(timeoutMs = 10_000): Promise<number> {
  const busy = (): number[] => {
    const out: number[] = [];
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let argv: string[];
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      if (argv.length < 2 || !argv[1].startsWith(WATCHDOG_MARK)) continue;
      const owner = Number(argv[1].slice(WATCHDOG_MARK.length).split('\n')[0]);
      if (!ownerAlive(owner)) out.push(Number(pid));
    }
    return out;
  };
  const first = busy().length;
  const end = Date.now() + timeoutMs;
  while (busy().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return first;
}

function ownerAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let child: ChildProcess | undefined;
let broken = false;
let nextKey = 0;

function watchdog(): ChildProcess | undefined {
  if (child || broken) return child;
  try {
    const c = spawn('awk', [`${WATCHDOG_MARK}${process.pid}\n${PROGRAM}`], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    c.on('error', () => {
      broken = true;
      child = undefined;
    });
    c.on('exit', () => {
      if (child === c) child = undefined;
      broken = true;
    });
    c.stdin!.on('error', () => undefined);
    c.unref();
    // The pipe must not keep the event loop alive either.
    (c.stdin as unknown as { unref?: () => void }).unref?.();
    child = c;
  } catch {
    broken = true;
  }
  return child;
}

/** Single-quotes `s` for sh. */
export function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Registers `command` (one shell command line) to run in `phase` if this process dies before
 * calling the returned function (which unregisters it; idempotent). A command with a newline
 * cannot be registered (no-op).
 */
export function onDeath(phase: WatchPhase, command: string): () => void {
  if (command.includes('\n')) return () => undefined;
  const w = watchdog();
  if (!w?.stdin) return () => undefined;
  const key = `k${nextKey++}`;
  w.stdin.write(`+ ${key} ${phase} ${command}\n`);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (child === w && w.stdin?.writable) w.stdin.write(`- ${key}\n`);
  };
}

/** A runc container (`runtime --root stateDir … id`): killed and deleted if we die. */
export function tieContainer(runtime: string, stateDir: string, id: string): () => void {
  const r = `${sq(runtime)} --root ${sq(stateDir)}`;
  // Twice: `runc run` (killed by its death signal) may still be half-way through creating it.
  const del = `${r} delete -f ${sq(id)} >/dev/null 2>&1`;
  return onDeath(1, `${r} kill ${sq(id)} KILL >/dev/null 2>&1; ${del}; sleep 0.2; ${del}`);
}

const mounts = new Map<string, () => void>();

/** A mount point: unmounted (recursively, lazily as a last resort) if we die. Once per path. */
export function tieMount(target: string): void {
  const p = path.resolve(target);
  if (mounts.has(p)) return;
  mounts.set(p, onDeath(2, `umount -R ${sq(p)} >/dev/null 2>&1 || umount -R -l ${sq(p)} >/dev/null 2>&1`));
}

/** Unregisters every mount point at or below `target` (they were unmounted). */
export function untieMounts(target: string): void {
  const base = path.resolve(target);
  for (const [p, undo] of mounts) {
    if (p === base || p.startsWith(base + '/')) {
      undo();
      mounts.delete(p);
    }
  }
}

/** A path (file or tree, never crossing a mount): removed if we die, after the unmounts. */
export function tieRemoval(p: string): () => void {
  return onDeath(3, `rm -rf --one-file-system ${sq(path.resolve(p))}`);
}

/**
 * A snapshot's metadata file and data directory: the file removed, then the directory unless
 * another metadata file names the same id (`"id":"<id>"`: a commit half-way through).
 */
export function tieSnapshot(metaFile: string, metaDir: string, id: string, dataDir: string): () => void {
  const named = `grep -lqF -- ${sq(`"id":"${id}"`)} ${sq(metaDir)}/*.json 2>/dev/null`;
  return onDeath(3, `rm -f ${sq(metaFile)}; ${named} || rm -rf --one-file-system ${sq(dataDir)}`);
}

let setprivPath: string | null | undefined;

/**
 * `[cmd, args]` run through `setpriv --pdeathsig KILL` (util-linux) when it is installed, so
 * the child is killed the moment this process dies; unchanged otherwise.
 */
export function deathSignalPrefix(cmd: string, args: string[]): [string, string[]] {
  if (setprivPath === undefined) {
    setprivPath = null;
    for (const d of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
      try {
        accessSync(path.join(d, 'setpriv'), fsConstants.X_OK);
        setprivPath = path.join(d, 'setpriv');
        break;
      } catch {
        // next
      }
    }
  }
  return setprivPath ? [setprivPath, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
}
