/**
 * The CLI's client mode: what `build`, `images`, `tag`, `rmi` and `version` do when `-H` /
 * MYBUILD_HOST names a daemon. The command files parse their flags as in daemonless mode and
 * branch here; output matches the daemonless commands' (same columns, same lines).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildOptions } from '../builder/options.js';
import { BuildContext } from '../context/context.js';
import { packContext } from '../context/tar-context.js';
import { BuildError, UsageError } from '../errors.js';
import { createdSince, humanSize, shortId, splitName, table } from '../store/display.js';
import type { CliContext } from '../cli/context.js';
import { DaemonClient } from './client.js';

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
    headers: { 'Content-Type': 'application/x-tar' },
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

interface ApiImage {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
}

/** `images` through the daemon: the daemonless table (REPOSITORY TAG IMAGE ID CREATED SIZE), or IDs with `quiet`. */
export async function remoteImages(ctx: CliContext, opts: { quiet?: boolean; noTrunc?: boolean; filter?: string }): Promise<number> {
  const client = DaemonClient.fromContext(ctx);
  const list = await client.json<ApiImage[]>('GET', '/images/json', { query: opts.filter ? { filters: JSON.stringify({ reference: [opts.filter] }) } : {} });
  const rows: string[][] = [];
  for (const img of list) {
    const id = opts.noTrunc ? img.Id : shortId(img.Id);
    const created = new Date(img.Created * 1000).toISOString();
    for (const t of [...img.RepoTags].sort()) {
      if (opts.quiet) {
        ctx.stdout.write(`${id}\n`);
        continue;
      }
      const n = splitName(t);
      rows.push([n.repository, n.tag, id, createdSince(created), humanSize(img.Size)]);
    }
  }
  if (!opts.quiet) ctx.stdout.write(table([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows]));
  return 0;
}

/** `tag SOURCE TARGET` through the daemon. */
export async function remoteTag(ctx: CliContext, source: string, target: string): Promise<number> {
  const colon = target.lastIndexOf(':');
  const [repo, tag] = colon > target.lastIndexOf('/') ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'latest'];
  await DaemonClient.fromContext(ctx).request('POST', `/images/${encodeURIComponent(source)}/tag`, { query: { repo, tag } });
  return 0;
}

/** `rmi [-f] IMAGE…` through the daemon: prints `Untagged:`/`Deleted:` lines; exit 1 if any failed. */
export async function remoteRmi(ctx: CliContext, names: string[], force: boolean): Promise<number> {
  const client = DaemonClient.fromContext(ctx);
  let failed = 0;
  for (const n of names) {
    try {
      const out = await client.json<Record<string, string>[]>('DELETE', `/images/${encodeURIComponent(n)}`, { query: { force: force ? '1' : undefined } });
      for (const e of out) ctx.stdout.write(e.Untagged ? `Untagged: ${e.Untagged}\n` : `Deleted: ${e.Deleted}\n`);
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${(err as BuildError).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

/** The server half of `version`: GET /version. */
export async function remoteVersion(ctx: CliContext): Promise<string> {
  const v = await DaemonClient.fromContext(ctx).json<{ Version: string; ApiVersion: string; Os: string; Arch: string; GoVersion: string }>('GET', '/version');
  return `Server:\n Version:    ${v.Version}\n API version: ${v.ApiVersion}\n Runtime:    ${v.GoVersion}\n OS/Arch:    ${v.Os}/${v.Arch}\n Address:    ${ctx.host}\n`;
}
