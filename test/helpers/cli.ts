/** Runs the CLI in-process (src/cli.ts `run`) with in-memory streams; for command tests. */
import { PassThrough, Readable } from 'node:stream';
import { run } from '../../src/cli.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * `mybuild ARGV…` with `stdin` (a string, or a stream), `env` (default: empty, so the host's
 * MYBUILD_* and DOCKER_CONFIG never leak in) and `cwd`. Resolves when the command returns.
 */
export async function runCli(argv: string[], opts: { stdin?: string | NodeJS.ReadableStream; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stdin = typeof opts.stdin === 'string' || opts.stdin === undefined ? Readable.from([Buffer.from(opts.stdin ?? '')]) : opts.stdin;
  const code = await run(argv, { stdout, stderr, stdin, env: opts.env ?? {}, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  return { code, out, err };
}
