/**
 * What every CLI command receives: its own arguments (global options already removed), the
 * store root, and the streams to write to. Commands return the process exit code or throw a
 * BuildError (printed by the top-level catch in src/cli.ts).
 */
import os from 'node:os';
import path from 'node:path';
import type { ClientTlsFlags } from '../client/tls.js';

export interface CliContext {
  /** Store root: `--root`, else MYBUILD_ROOT, else /var/lib/mybuild as root, else $XDG_DATA_HOME/mybuild. */
  root: string;
  /** Daemon address from -H/--host or MYBUILD_HOST; undefined means daemonless. */
  host?: string;
  /** The global --tls, --tlsverify, --tlscacert, --tlscert, --tlskey (for a TCP daemon). */
  tls?: ClientTlsFlags;
  debug: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export type CommandMain = (args: string[], ctx: CliContext) => Promise<number>;

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MYBUILD_ROOT) return path.resolve(env.MYBUILD_ROOT);
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/var/lib/mybuild';
  const data = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'mybuild');
}
