/**
 * The command table: name → lazily imported module. Each module exports `main: CommandMain`.
 * Lazy imports keep `mybuild parse` from loading the runtime or the registry client.
 */
import type { CommandMain } from './context.js';

type Loader = () => Promise<{ main: CommandMain }>;

export const COMMANDS: Record<string, { summary: string; load: Loader }> = {
  build: { summary: 'Build an image from a Dockerfile', load: () => import('./commands/build.js') },
  parse: { summary: 'Parse a Dockerfile and print its AST or BuildKit dump', load: () => import('./commands/parse.js') },
  version: { summary: 'Show version information', load: () => import('./commands/version.js') },
  daemon: { summary: 'Serve the Docker Engine API subset on a unix socket or TCP', load: () => import('./commands/daemon.js') },
  info: { summary: 'Display system-wide information (client and daemon with -H)', load: () => import('./commands/info.js') },
  load: { summary: 'Load images from a docker save tar or an OCI layout (file, directory or stdin)', load: () => import('./commands/load.js') },
  save: { summary: 'Save images to a docker save tar (or --format oci)', load: () => import('./commands/save.js') },
  import: { summary: 'Import a root filesystem tarball as an image', load: () => import('./commands/import.js') },
  pull: { summary: 'Download an image from a registry', load: () => import('./commands/pull.js') },
  push: { summary: 'Upload an image to a registry', load: () => import('./commands/push.js') },
  login: { summary: 'Log in to a registry', load: () => import('./commands/login.js') },
  logout: { summary: 'Log out from a registry', load: () => import('./commands/logout.js') },
  images: { summary: 'List images', load: () => import('./commands/images.js') },
  inspect: { summary: 'Display detailed information on one or more images', load: () => import('./commands/inspect.js') },
  tag: { summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', load: () => import('./commands/tag.js') },
  rmi: { summary: 'Remove one or more images (untag; blobs are reclaimed by prune)', load: () => import('./commands/rmi.js') },
  prune: { summary: 'Remove unused blobs and stale writes (-a: also the build cache)', load: () => import('./commands/prune.js') },
  system: { summary: 'Store maintenance: check, df, prune', load: () => import('./commands/system.js') },
  cache: { summary: 'Show the build cache (ls) and why an image was built as it was (explain)', load: () => import('./commands/cache.js') },
  run: { summary: 'Create and run a new container from an image', load: () => import('./commands/run.js') },
  ps: { summary: 'List containers', load: () => import('./commands/ps.js') },
  rm: { summary: 'Remove one or more containers', load: () => import('./commands/rm.js') },
  logs: { summary: 'Fetch the logs of a container', load: () => import('./commands/logs.js') },
  stop: { summary: 'Stop one or more running containers', load: () => import('./commands/stop.js') },
  kill: { summary: 'Kill one or more running containers', load: () => import('./commands/kill.js') },
};
