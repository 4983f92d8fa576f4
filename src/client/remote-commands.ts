/**
 * Which CLI commands work with `-H`/MYBUILD_HOST. Kept apart from ./commands.ts so that
 * src/cli.ts can check a command before loading anything heavy.
 */
import { UsageError } from '../errors.js';

/** Commands that go through the daemon's API when a host is set, or never touch the local store. */
export const CLIENT_MODE_COMMANDS: ReadonlySet<string> = new Set([
  // through the API
  'build', 'images', 'inspect', 'tag', 'rmi', 'pull', 'push', 'save', 'load', 'run', 'ps', 'rm', 'logs', 'stop', 'kill', 'version', 'info',
  // client-side by nature (login/logout write the client's docker config, as docker does)
  'login', 'logout', 'parse', 'daemon',
]);

/**
 * Throws UsageError (exit 2) when `command` has no client path, so that a command given `-H`
 * never silently acts on the local store instead of the daemon's.
 */
export function assertClientMode(command: string, host: string): void {
  if (CLIENT_MODE_COMMANDS.has(command)) return;
  throw new UsageError(`"mybuild ${command}" cannot run through a daemon (-H/MYBUILD_HOST is set to ${host})`, {
    hint: `run it daemonless on the daemon's host (unset MYBUILD_HOST, no -H, --root = the daemon's root); client mode supports: ${[...CLIENT_MODE_COMMANDS].filter((c) => c !== 'daemon' && c !== 'parse').join(', ')}`,
  });
}
