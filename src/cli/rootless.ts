/**
 * Rootless mode of the CLI: a user other than root runs every store command inside a user
 * namespace where it is uid 0 (src/runtime/userns.ts), so RUN steps, snapshots and the store's
 * in-image owners work as for root. The outer process only starts the inner one (same node,
 * same arguments, `MYBUILD_ROOTLESS_CHILD=1`), forwards signals and returns its exit status.
 * The store stays the user's default (`$XDG_DATA_HOME/mybuild`), fixed before the switch since
 * inside the namespace mybuild is uid 0.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rootlessCommand, type RootlessPlan } from '../runtime/userns.js';
import { defaultRoot } from './context.js';

/** Commands that never touch the store or run a step: they run as they are. */
const PLAIN = new Set(['version', 'help', 'login', 'logout', 'parse', 'explain']);

/** Whether `argv` should run in the rootless namespace (non-root, not yet inside, no -H daemon). */
export function wantsRootless(argv: string[], env: NodeJS.ProcessEnv): boolean {
  if (typeof process.getuid !== 'function' || process.getuid() === 0) return false;
  if (env.MYBUILD_ROOTLESS_CHILD === '1' || env.MYBUILD_ROOTLESS === '0') return false;
  if (env.MYBUILD_HOST) return false;
  const cmd = argv.find((a, i) => !a.startsWith('-') && !['--root', '-H', '--host'].includes(argv[i - 1] ?? ''));
  if (argv.some((a) => a === '-H' || a === '--host' || a.startsWith('--host=')) && cmd !== 'daemon') return false;
  if (cmd === undefined || PLAIN.has(cmd) || argv.includes('--help')) return false;
  return true;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];
const TERMINAL_SIGNALS = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT', 'SIGWINCH']);

/** Whether this process' group is its terminal's foreground group (/proc/self/stat pgrp = tpgid). */
function inForegroundGroup(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state ppid pgrp session tty_nr tpgid …
    return f[2] === f[5];
  } catch {
    return false;
  }
}

/** Whether `plan` can make its namespace here (runs it with `true` inside). */
function works(plan: RootlessPlan): boolean {
  const probe = [...plan.argv.slice(0, plan.argv.lastIndexOf('--') + 1), 'true'];
  return spawnSync(probe[0]!, probe.slice(1), { stdio: 'ignore' }).status === 0;
}

/**
 * Runs this same mybuild invocation in the rootless namespace; resolves with its exit status.
 * When the namespace cannot be made with the subordinate range (newuidmap refused it), it maps
 * only uid 0; when no user namespace can be made at all (disabled by the kernel), resolves
 * undefined: the caller runs the command as it is (then steps that need root say so).
 */
export function runRootless(argv: string[], env: NodeJS.ProcessEnv): Promise<number> | undefined {
  const inner = [process.execPath, ...process.execArgv, process.argv[1]!, ...argv];
  let plan = rootlessCommand(inner);
  if (!works(plan)) {
    if (plan.uids === undefined) return undefined;
    plan = rootlessCommand(inner, { subuid: '', subgid: '' });
    plan.note = 'newuidmap/newgidmap refused the subordinate range (check /etc/subuid, /etc/subgid and that newuidmap is setuid): only uid 0 is mapped';
    if (!works(plan)) return undefined;
  }
  const childEnv = { ...env, MYBUILD_ROOTLESS_CHILD: '1', MYBUILD_ROOTLESS_UID: String(process.getuid!()), MYBUILD_ROOT: env.MYBUILD_ROOT || defaultRoot(env), ...(plan.note ? { MYBUILD_ROOTLESS_NOTE: plan.note } : {}) };
  const child = spawn(plan.argv[0]!, plan.argv.slice(1), { stdio: 'inherit', env: childEnv });
  const forward = (sig: NodeJS.Signals): void => {
    // Ctrl-C, Ctrl-backslash and resizes reach the whole foreground process group, the inner mybuild
    // included: forwarding them too would deliver them twice.
    if (TERMINAL_SIGNALS.has(sig) && inForegroundGroup()) return;
    child.kill(sig);
  };
  for (const s of FORWARDED) process.on(s, forward);
  return new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`error: cannot start rootless mode (${plan.argv[0]}): ${err.message}\nhint: install util-linux, or set MYBUILD_ROOTLESS=0 to run without a user namespace\n`);
      resolve(1);
    });
    child.on('exit', (code, sig) => {
      for (const s of FORWARDED) process.off(s, forward);
      resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : sig === 'SIGTERM' ? 15 : sig === 'SIGINT' ? 2 : 1));
    });
  });
}
