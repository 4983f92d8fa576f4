/**
 * The CLI's client mode: what `build`, `images`, `inspect`, `tag`, `rmi`, `pull`, `push`,
 * `save`, `load`, `run`, `ps`, `rm`, `logs`, `stop`, `kill` and `version` do when `-H` /
 * MYBUILD_HOST names a daemon (commands without a client path are refused in src/cli.ts, see
 * ./remote-commands.ts). The command files parse their flags as in daemonless mode and
 * branch here; output matches the daemonless commands' (same columns, same lines).
 */
import { writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { BuildOptions } from '../builder/options.js';
import { BuildContext } from '../context/context.js';
import { packContext } from '../context/tar-context.js';
import { BuildError, UsageError } from '../errors.js';
import type { CliContext } from '../cli/context.js';
import { DaemonClient } from './client.js';
import { registryConfigHeader } from '../api/auth.js';

/**
 * Builds through the daemon: packs the context (honouring .dockerignore, client side), sends
 * it to POST /build and prints the streamed output (only the image ID with `quiet`). The
 * Dockerfile must be inside the context. Returns 0, or throws the daemon's BuildError (its
 * code comes back in the stream, so exit codes match daemonless builds).
 */
export async function remoteBuild(o: BuildOptions, quiet: boolean, ctx: CliContext): Promise<number> {
  if (o.dockerfileText !== undefined) throw new UsageError('-f - (Dockerfile from stdin) is not supported with -H', { hint: 'put the Dockerfile in the context' });
  const rel = path.relative(o.contextDir, o.dockerfilePath ?? path.join(o.contextDir, 'Dockerfile'));
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new UsageError(`with -H the Dockerfile must be inside the build context, got ${o.dockerfilePath}`);
  if (o.outputs.length || o.push || o.secrets.length) throw new UsageError('--output, --push and --secret are not supported with -H yet', { hint: 'build daemonless (without -H), or push with "mybuild -H … push"' });
  const client = DaemonClient.fromContext(ctx);
  const bctx = await BuildContext.open(o.contextDir);
  const registryConfig = await registryConfigHeader(ctx.env);
  const res = await client.request('POST', '/build', {
    query: {
      t: o.tags,
      dockerfile: rel.split(path.sep).join('/'),
      buildargs: JSON.stringify(o.buildArgs),
      labels: JSON.stringify(o.labels),
      target: o.target,
      nocache: o.noCache ? '1' : undefined,
      pull: o.pull ? '1' : undefined,
      platform: o.platform,
      q: quiet ? '1' : undefined,
    },
    headers: {
      'Content-Type': 'application/x-tar',
      // Lets the daemon sync into the warm directory this context used last (src/daemon/context-dirs.ts).
      'X-Mybuild-Context': createHash('sha256').update(`${os.hostname()}\0${path.resolve(o.contextDir)}`).digest('hex').slice(0, 32),
      ...(registryConfig ? { 'X-Registry-Config': registryConfig } : {}),
    },
    body: packContext(bctx),
  });
  let id = '';
  await client.stream(res, (m) => {
    if (m.aux && typeof m.aux.ID === 'string') id = m.aux.ID;
    else if (m.stream && !quiet) ctx.stdout.write(m.stream);
  });
  if (!id) throw new BuildError('IO', 'the daemon ended the build stream without an image ID');
  if (quiet) ctx.stdout.write(`${id}\n`);
  if (o.iidfile) await writeFile(o.iidfile, id);
  return 0;
}
