/**
 * Advisory file locks held by util-linux's `flock(1)`: a child process takes the kernel lock
 * and holds it until its stdin closes. Node has no flock(2); this way the lock is released by
 * the kernel whenever the holder goes away, our process included (a SIGKILL'd build never
 * leaves a lock behind, which a lock file with a pid in it cannot promise within one daemon
 * process that runs many builds).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BuildError } from '../errors.js';

/** Releases a lock; idempotent, resolves when the holder has exited. */
export type Release = () => Promise<void>;

/**
 * Takes the exclusive lock on `file` (created if missing). With `wait: false`, returns
 * undefined at once when another holder has it; with `wait: true`, waits until it is free or
 * `signal` aborts (then throws CANCELED). The caller must call the returned release.
 */
export async function lockFile(file: string, opts: { wait: boolean; signal?: AbortSignal }): Promise<Release | undefined> {
  const child = spawn('flock', ['--exclusive', ...(opts.wait ? [] : ['--nonblock']), file, '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const release: Release = async () => {
    if (child.exitCode === null && child.signalCode === null) child.stdin.end();
    await exited;
  };
  const onAbort = () => child.kill('SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const locked = new Promise<true>((resolve) => child.stdout.once('data', () => resolve(true)));
    const spawnFailed = once(child, 'error').then(([err]) => {
      throw new BuildError('IO', `cannot lock ${file}: flock: ${(err as Error).message}`, { hint: 'flock is part of util-linux' });
    });
    const got = await Promise.race([locked, exited.then(() => false as const), spawnFailed]);
    if (got) return release;
    if (opts.signal?.aborted) throw new BuildError('CANCELED', `canceled while waiting for the lock ${file}`);
    if (!opts.wait && child.exitCode === 1) return undefined;
    throw new BuildError('IO', `cannot lock ${file}: ${stderr.trim() || `flock exited with ${child.exitCode ?? child.signalCode}`}`);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
