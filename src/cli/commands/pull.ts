/**
 * `mybuild pull [--platform os/arch[/variant]] [--insecure-registry HOST]… [-q] NAME`: pulls an
 * image into the store and names it, printing Docker's lines (`<id>: Pull complete`,
 * `Digest: sha256:…`, `Status: …`, the full name).
 */
import path from 'node:path';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';
import { BlobSources } from '../../registry/blob-sources.js';
import { pull, type TransferProgress } from '../../registry/pull.js';
import { insecureRegistriesFromEnv } from '../../registry/transport.js';
import type { CliContext, CommandMain } from '../context.js';
import { ImageStore } from '../../store/image-store.js';

/** The blob-source record kept beside the store (for cross-repository mounts on push). */
export function sourcesFile(ctx: CliContext): string {
  return path.join(ctx.root, 'registry-sources.json');
}

/** `--insecure-registry` values plus MYBUILD_INSECURE_REGISTRIES. */
export function insecureList(flags: string[] | undefined, ctx: CliContext): string[] {
  return [...(flags ?? []), ...insecureRegistriesFromEnv(ctx.env)];
}

const short = (d: string): string => d.slice('sha256:'.length, 'sha256:'.length + 12);

export const main: CommandMain = async (args, ctx) => {
  const parsed = parseCommandArgs('pull', { args, options: { platform: { type: 'string' }, 'insecure-registry': { type: 'string', multiple: true }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  const { values, positionals } = parsed;
  if (values.help) {
    ctx.stdout.write('Usage: mybuild pull [--platform os/arch[/variant]] [--insecure-registry HOST] [-q] NAME[:TAG|@DIGEST]\n\nDownload an image from a registry\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`"mybuild pull" requires exactly 1 argument, got ${positionals.length}`, { hint: 'usage: mybuild pull NAME[:TAG|@DIGEST]' });
  if (ctx.host) return (await import('../../client/commands.js')).remotePull(ctx, positionals[0], { platform: values.platform, quiet: values.quiet, insecure: values['insecure-registry'] });
  const ref = parseReference(positionals[0]);
  const images = await ImageStore.open(ctx.root);
  const before = await images.resolve(ref.toString()).catch(() => null);
  // As Docker prints it: the repository path, without the registry.
  if (!values.quiet) ctx.stdout.write(`${ref.tag ? `${ref.tag}: ` : ''}Pulling from ${ref.path}\n`);
  const onProgress = values.quiet
    ? undefined
    : (e: TransferProgress): void => {
        if (e.kind !== 'layer') return;
        if (e.status === 'exists') ctx.stdout.write(`${short(e.digest)}: Already exists\n`);
        else if (e.status === 'done') ctx.stdout.write(`${short(e.digest)}: Pull complete\n`);
        else if (e.status === 'retrying') ctx.stdout.write(`${short(e.digest)}: Retrying\n`);
      };
  const res = await pull(ref, images.content, images, {
    platform: values.platform,
    onProgress,
    clientOptions: { insecureRegistries: insecureList(values['insecure-registry'], ctx), env: ctx.env },
    sources: new BlobSources(sourcesFile(ctx)),
  });
  const digest = res.index?.digest ?? res.descriptor.digest;
  if (values.quiet) {
    ctx.stdout.write(`${ref.toString()}\n`);
    return 0;
  }
  ctx.stdout.write(`Digest: ${digest}\n`);
  const same = before && before.descriptor.digest === res.descriptor.digest;
  ctx.stdout.write(same ? `Status: Image is up to date for ${ref.familiar()}\n` : `Status: Downloaded newer image for ${ref.familiar()}\n`);
  ctx.stdout.write(`${ref.toString()}\n`);
  return 0;
};
