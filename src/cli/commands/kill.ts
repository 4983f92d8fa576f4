/**
 * `mybuild kill [-s SIGNAL] CONTAINER…`: sends SIGNAL (default KILL) to running containers,
 * printing each argument. Exit 1 if any failed (unknown, not running, bad signal).
 */
import { normalizeSignal } from '../../containers/manager.js';
import { UsageError, toBuildError } from '../../errors.js';
import type { CliContext, CommandMain } from '../context.js';
import { engineFor } from '../engine.js';
import { parseCommandArgs } from './images.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  signal: { type: 'string', short: 's', description: 'Signal to send to the container (default "KILL")' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild kill',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Kill one or more running containers',
  aliases: ['mybuild container kill'],
  flags: FLAGS,
};

/** The usage line of errors' hints: the help's. */
const USAGE = `Usage: ${HELP.name} ${HELP.usage}`;

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('kill', USAGE, {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length === 0) throw new UsageError('"mybuild kill" requires at least 1 argument', { hint: USAGE });
  const signal = normalizeSignal(values.signal ?? 'KILL');
  const engine = engineFor(ctx);
  let failed = 0;
  for (const ref of positionals) {
    try {
      await engine.containers.kill(ref, signal);
      ctx.stdout.write(`${ref}\n`);
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${toBuildError(err).format()}\n`);
    }
  }
  return failed ? 1 : 0;
};
