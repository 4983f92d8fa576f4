/**
 * `mybuild stop [-t SECONDS] [-s SIGNAL] CONTAINER…`: sends the stop signal (the image's
 * StopSignal, else SIGTERM), then SIGKILL after the timeout (default 10 s); prints each
 * argument once it has stopped. Exit 1 if any failed.
 */
import { UsageError, toBuildError } from '../../errors.js';
import type { CliContext, CommandMain } from '../context.js';
import { engineFor } from '../engine.js';
import { parseCommandArgs } from './images.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  signal: { type: 'string', short: 's', description: 'Signal to send to the container' },
  time: { type: 'string', short: 't', arg: 'int', description: 'Seconds to wait before killing the container' },
  timeout: { type: 'string', arg: 'int', description: 'Seconds to wait before killing the container (the same as --time)' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild stop',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Stop one or more running containers',
  aliases: ['mybuild container stop'],
  flags: FLAGS,
};

/** The usage line of errors' hints: the help's. */
const USAGE = `Usage: ${HELP.name} ${HELP.usage}`;

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('stop', USAGE, {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length === 0) throw new UsageError('"mybuild stop" requires at least 1 argument', { hint: USAGE });
  const t = values.time ?? values.timeout;
  if (t !== undefined && !/^\d+$/.test(t)) throw new UsageError(`stop: invalid timeout "${t}": expected whole seconds`, { hint: USAGE });
  const engine = engineFor(ctx);
  let failed = 0;
  for (const ref of positionals) {
    try {
      await engine.containers.stop(ref, { timeoutSec: t === undefined ? undefined : Number(t), signal: values.signal });
      ctx.stdout.write(`${ref}\n`);
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${toBuildError(err).format()}\n`);
    }
  }
  return failed ? 1 : 0;
};
