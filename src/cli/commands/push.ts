/**
 * `mybuild push [--insecure-registry HOST]… [-q] NAME[:TAG]`: pushes a stored image to its
 * registry and prints, as Docker does, `<tag>: digest: sha256:… size: N`.
 */
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';
import type { CommandMain } from '../context.js';
import { engineFor } from '../engine.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

/** The per-layer lines `push` prints (Docker's, without the transient ones). */
const PRINTED = ['Layer already exists', 'Mounted from another repository', 'Pushed', 'Retrying'];

export const FLAGS = {
  'insecure-registry': { type: 'string', multiple: true, arg: 'host', description: 'Registry host to reach over plain HTTP or unverified TLS (repeatable; also MYBUILD_INSECURE_REGISTRIES)' },
  quiet: { type: 'boolean', short: 'q', description: 'Suppress verbose output' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild push',
  usage: '[OPTIONS] NAME[:TAG]',
  summary: 'Upload an image to a registry',
  aliases: ['mybuild image push'],
  flags: FLAGS,
};

export const main: CommandMain = async (args, ctx) => {
  const parsed = parseCommandArgs('push', { args, options: FLAGS, allowPositionals: true, strict: true });
  const { values, positionals } = parsed;
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length !== 1) throw new UsageError(`"mybuild push" requires exactly 1 argument, got ${positionals.length}`, { hint: 'usage: mybuild push NAME[:TAG]' });
  const ref = parseReference(positionals[0]);
  const engine = engineFor(ctx);
  const res = await engine.images.push(ref, {
    onStart: () => void (values.quiet || ctx.stdout.write(`The push refers to repository [${ref.name}]\n`)),
    insecureRegistries: values['insecure-registry'],
    onProgress: values.quiet
      ? undefined
      : (m) => {
          if (m.id && m.status && PRINTED.includes(m.status)) ctx.stdout.write(`${m.id}: ${m.status}\n`);
        },
  });
  ctx.stdout.write(`${ref.tag ?? ref.digest}: digest: ${res.digest} size: ${res.size}\n`);
  return 0;
};
