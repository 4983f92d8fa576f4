/**
 * The command table: name → lazily imported module. Each module exports `main: CommandMain`.
 * Lazy imports keep `mybuild parse` from loading the runtime or the registry client.
 *
 * `remote`: the command works with -H/MYBUILD_HOST — it runs on the Engine (src/cli/engine.ts
 * gives the daemon's), or it is client-side by nature (login/logout write the client's docker
 * config, as docker does; parse; daemon). The others act on the local store only and refuse
 * -H (assertClientMode), so a command given -H never silently acts on the local store.
 */
import { UsageError } from '../errors.js';
import type { CommandMain } from './context.js';
import type { CommandHelp } from './help.js';

type Loader = () => Promise<{ main: CommandMain; HELP: CommandHelp }>;

/** The section `mybuild --help` lists a command in, as docker's help does. */
export type CommandSection = 'Common Commands' | 'Commands';

export const COMMANDS: Record<string, { summary: string; load: Loader; remote?: true; section?: CommandSection }> = {
  build: { summary: 'Start a build', load: () => import('./commands/build.js'), remote: true, section: 'Common Commands' },
  parse: { summary: 'Parse a Dockerfile and print its AST or BuildKit dump', load: () => import('./commands/parse.js'), remote: true },
  version: { summary: 'Show the mybuild version information', load: () => import('./commands/version.js'), remote: true, section: 'Common Commands' },
  daemon: { summary: 'Serve the Docker Engine API subset (docker CLI: DOCKER_HOST=unix:///path.sock)', load: () => import('./commands/daemon.js'), remote: true },
  info: { summary: 'Display system-wide information (client and daemon with -H)', load: () => import('./commands/info.js'), remote: true, section: 'Common Commands' },
  load: { summary: 'Load an image from a tar archive or STDIN', load: () => import('./commands/load.js'), remote: true },
  save: { summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)', load: () => import('./commands/save.js'), remote: true },
  import: { summary: 'Import the contents from a tarball to create a filesystem image', load: () => import('./commands/import.js') },
  pull: { summary: 'Download an image from a registry', load: () => import('./commands/pull.js'), remote: true, section: 'Common Commands' },
  push: { summary: 'Upload an image to a registry', load: () => import('./commands/push.js'), remote: true, section: 'Common Commands' },
  login: { summary: 'Log in to a registry (Docker Hub by default)', load: () => import('./commands/login.js'), remote: true, section: 'Common Commands' },
  logout: { summary: 'Log out from a registry (Docker Hub by default)', load: () => import('./commands/logout.js'), remote: true, section: 'Common Commands' },
  images: { summary: 'List images', load: () => import('./commands/images.js'), remote: true, section: 'Common Commands' },
  inspect: { summary: 'Display detailed information on one or more images', load: () => import('./commands/inspect.js'), remote: true },
  tag: { summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', load: () => import('./commands/tag.js'), remote: true },
  rmi: { summary: 'Remove one or more images', load: () => import('./commands/rmi.js'), remote: true },
  prune: { summary: 'Remove untagged images, unused blobs and stale writes (-a: also the build cache)', load: () => import('./commands/prune.js') },
  system: { summary: 'Manage the store: check, df, info, prune', load: () => import('./commands/system.js') },
  cache: { summary: 'Show the build cache (ls) and why an image was built as it was (explain)', load: () => import('./commands/cache.js') },
  run: { summary: 'Create and run a new container from an image', load: () => import('./commands/run.js'), remote: true, section: 'Common Commands' },
  ps: { summary: 'List containers', load: () => import('./commands/ps.js'), remote: true, section: 'Common Commands' },
  rm: { summary: 'Remove one or more containers', load: () => import('./commands/rm.js'), remote: true },
  logs: { summary: 'Fetch the logs of a container', load: () => import('./commands/logs.js'), remote: true },
  stop: { summary: 'Stop one or more running containers', load: () => import('./commands/stop.js'), remote: true },
  completion: { summary: 'Generate the autocompletion script for the specified shell', load: () => import('./commands/completion.js'), remote: true },
  kill: { summary: 'Kill one or more running containers', load: () => import('./commands/kill.js'), remote: true },
};

/** Throws UsageError (exit 2) when `command` cannot run through the daemon at `host`. */
export function assertClientMode(command: string, host: string): void {
  if (COMMANDS[command]?.remote) return;
  const supported = Object.keys(COMMANDS).filter((c) => COMMANDS[c].remote && c !== 'daemon' && c !== 'parse');
  throw new UsageError(`"mybuild ${command}" cannot run through a daemon (-H/MYBUILD_HOST is set to ${host})`, {
    hint: `run it daemonless on the daemon's host (unset MYBUILD_HOST, no -H, --root = the daemon's root); client mode supports: ${supported.join(', ')}`,
  });
}
