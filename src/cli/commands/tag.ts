/**
 * `mybuild tag SOURCE TARGET`: names an image. SOURCE is a name, an image ID (full or a short
 * prefix) or a manifest digest; TARGET is normalised (`app:1` → `docker.io/library/app:1`) and
 * must not carry a digest. Prints nothing, as Docker.
 */
import { BuildError, UsageError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';
import { engineFor } from '../engine.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  aliases: ['mybuild image tag'],
  flags: FLAGS,
};

/** The usage line of errors' hints: the help's. */
const USAGE = `Usage: ${HELP.name} ${HELP.usage}`;

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('tag', USAGE, { args, options: FLAGS, allowPositionals: true, strict: true });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length !== 2) throw new UsageError(`"mybuild tag" requires exactly 2 arguments, got ${positionals.length}`, { hint: USAGE });
  const [source, target] = positionals;
  const ref = parseReference(target);
  if (ref.digest) throw new BuildError('INVALID_ARGUMENT', `refusing to create a tag with a digest reference: "${target}"`, { hint: 'give a name with a tag, e.g. app:1' });
  await engineFor(ctx).images.tag(source, ref.toString());
  return 0;
};
