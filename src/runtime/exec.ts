/**
 * Runs the small helper binaries the runtime relies on (`mount`, `umount`, `mknod`, `setfattr`,
 * `getfattr`, `cp`): Node has no mount(2), mknod(2) or xattr calls, and a child process keeps us
 * free of native dependencies.
 */
import { spawn } from 'node:child_process';
import { BuildError } from '../errors.js';

export interface ExecResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs `cmd args` to completion and collects its output. Never throws for a non-zero exit (the
 * caller decides); throws BuildError `RUNTIME` when the binary cannot be started (with an
 * install hint naming `pkg` when given).
 */
export function execCapture(cmd: string, args: string[], opts: { cwd?: string; pkg?: string; input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new BuildError('RUNTIME', `cannot run "${cmd}": ${e.code === 'ENOENT' ? 'not found' : e.message}`, {
          cause: e,
          hint: opts.pkg ? `install it: apt-get install ${opts.pkg}` : undefined,
        }),
      );
    });
    child.on('close', (code, signal) => {
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** `execCapture` that throws BuildError `code` (default `IO`) with the command's stderr when it exits non-zero. */
export async function execChecked(cmd: string, args: string[], opts: { cwd?: string; pkg?: string; input?: string; code?: 'IO' | 'RUNTIME' } = {}): Promise<Buffer> {
  const r = await execCapture(cmd, args, opts);
  if (r.code !== 0) {
    throw new BuildError(opts.code ?? 'IO', `${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}
