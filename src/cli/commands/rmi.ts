/**
 * `mybuild rmi [-f] IMAGE…`: removes tags, printing `Untagged: NAME` per tag and
 * `Deleted: sha256:<id>` when an image lost its last tag (its blobs are reclaimed by
 * `mybuild prune`). A name removes that tag; an ID removes every tag of the image, which needs
 * -f when it has several (as Docker). Failures are printed per argument; exit 1 if any failed.
 */
import { UsageError, toBuildError } from '../../errors.js';
import { engineFor } from '../engine.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  force: { type: 'boolean', short: 'f', description: 'Force removal of the image' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild rmi',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  summary: 'Remove one or more images',
  aliases: ['mybuild image rm', 'mybuild image remove'],
  flags: FLAGS,
};

/** The usage line of errors' hints: the help's. */
const USAGE = `Usage: ${HELP.name} ${HELP.usage}`;

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('rmi', USAGE, {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length === 0) throw new UsageError('"mybuild rmi" requires at least 1 argument', { hint: USAGE });
  const engine = engineFor(ctx);
  let failed = 0;
  for (const arg of positionals) {
    try {
      for (const e of await engine.images.remove(arg, { force: values.force })) ctx.stdout.write(e.Untagged !== undefined ? `Untagged: ${e.Untagged}\n` : `Deleted: ${e.Deleted}\n`);
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${toBuildError(err).format()}\n`);
    }
  }
  return failed ? 1 : 0;
};
