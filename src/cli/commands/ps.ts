/**
 * `mybuild ps [-a] [-q] [--no-trunc]`: lists containers (running ones; all with -a), newest
 * first, with Docker's columns CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS (always
 * empty: mybuild publishes no ports), NAMES. A container whose mybuild process died shows as
 * `Exited (255)`.
 */
import { commandText } from '../../api/containers.js';
import { engineFor } from '../engine.js';
import { UsageError } from '../../errors.js';
import { createdSince, table } from '../../store/display.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

const USAGE = 'Usage: mybuild ps [-a] [-q] [--no-trunc]';

export const FLAGS = {
  all: { type: 'boolean', short: 'a', description: 'Show all containers (default shows just running)' },
  'no-trunc': { type: 'boolean', description: "Don't truncate output" },
  quiet: { type: 'boolean', short: 'q', description: 'Only display container IDs' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild ps',
  usage: '[OPTIONS]',
  summary: 'List containers',
  aliases: ['mybuild container ls', 'mybuild container list'],
  flags: FLAGS,
};

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('ps', USAGE, {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length > 0) throw new UsageError(`"mybuild ps" accepts no arguments, got "${positionals[0]}"`, { hint: USAGE });
  const list = await engineFor(ctx).containers.list({ all: values.all });
  const full = values['no-trunc'] === true;
  if (values.quiet) {
    for (const c of list) ctx.stdout.write(`${full ? c.id : c.id.slice(0, 12)}\n`);
    return 0;
  }
  const now = Date.now();
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const c of list) rows.push([full ? c.id : c.id.slice(0, 12), c.image, commandText(c.command, !full), createdSince(c.created, now), c.status, '', c.name]);
  ctx.stdout.write(table(rows));
  return 0;
};
