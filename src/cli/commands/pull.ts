/**
 * `mybuild pull [--platform os/arch[/variant]] [--insecure-registry HOST]… [-q] NAME`: pulls an
 * image into the store and names it, printing Docker's lines (`<id>: Pull complete`,
 * `Digest: sha256:…`, `Status: …`, the full name).
 */
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';
import { insecureRegistriesFromEnv } from '../../registry/transport.js';
import type { CliContext, CommandMain } from '../context.js';
import { engineFor } from '../engine.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

/** `--insecure-registry` values plus MYBUILD_INSECURE_REGISTRIES. */
export function insecureList(flags: string[] | undefined, ctx: CliContext): string[] {
  return [...(flags ?? []), ...insecureRegistriesFromEnv(ctx.env)];
}

/** The per-layer lines `pull` prints (Docker's, without the transient ones). */
const PRINTED = ['Already exists', 'Pull complete', 'Retrying'];

export const FLAGS = {
  'insecure-registry': { type: 'string', multiple: true, arg: 'host', description: 'Registry host to reach over plain HTTP or unverified TLS (repeatable; also MYBUILD_INSECURE_REGISTRIES)' },
  platform: { type: 'string', description: 'Set platform if server is multi-platform capable' },
  quiet: { type: 'boolean', short: 'q', description: 'Suppress verbose output' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild pull',
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'Download an image from a registry',
  aliases: ['mybuild image pull'],
  flags: FLAGS,
};

export const main: CommandMain = async (args, ctx) => {
  const parsed = parseCommandArgs('pull', { args, options: FLAGS, allowPositionals: true, strict: true });
  const { values, positionals } = parsed;
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length !== 1) throw new UsageError(`"mybuild pull" requires exactly 1 argument, got ${positionals.length}`, { hint: 'usage: mybuild pull NAME[:TAG|@DIGEST]' });
  const ref = parseReference(positionals[0]);
  // As Docker prints it: the repository path, without the registry.
  if (!values.quiet) ctx.stdout.write(`${ref.tag ? `${ref.tag}: ` : ''}Pulling from ${ref.path}\n`);
  const res = await engineFor(ctx).images.pull(ref, {
    platform: values.platform,
    insecureRegistries: values['insecure-registry'],
    onProgress: values.quiet
      ? undefined
      : (m) => {
          if (m.id && m.status && PRINTED.includes(m.status)) ctx.stdout.write(`${m.id}: ${m.status}\n`);
        },
  });
  if (values.quiet) {
    ctx.stdout.write(`${ref.toString()}\n`);
    return 0;
  }
  ctx.stdout.write(`Digest: ${res.digest}\n`);
  ctx.stdout.write(res.upToDate ? `Status: Image is up to date for ${ref.familiar()}\n` : `Status: Downloaded newer image for ${ref.familiar()}\n`);
  ctx.stdout.write(`${ref.toString()}\n`);
  return 0;
};
