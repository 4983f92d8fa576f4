/**
 * `mybuild logs [-f] [-t] [-n N] CONTAINER`: prints a container's output (stdout to stdout,
 * stderr to stderr); -f follows it until the container stops, -t prefixes each line with its
 * RFC 3339 time, -n/--tail shows the last N lines.
 */
import { UsageError } from '../../errors.js';
import type { CliContext, CommandMain } from '../context.js';
import type { Writable } from 'node:stream';
import { engineFor } from '../engine.js';
import { parseCommandArgs } from './images.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  follow: { type: 'boolean', short: 'f', description: 'Follow log output' },
  tail: { type: 'string', short: 'n', description: 'Number of lines to show from the end of the logs (default "all")' },
  timestamps: { type: 'boolean', short: 't', description: 'Show timestamps' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild logs',
  usage: '[OPTIONS] CONTAINER',
  summary: 'Fetch the logs of a container',
  aliases: ['mybuild container logs'],
  flags: FLAGS,
};

/** The usage line of errors' hints: the help's. */
const USAGE = `Usage: ${HELP.name} ${HELP.usage}`;

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('logs', USAGE, {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length !== 1) throw new UsageError(`"mybuild logs" requires exactly 1 argument, got ${positionals.length}`, { hint: USAGE });
  let tail: number | undefined;
  if (values.tail !== undefined && values.tail !== 'all') {
    if (!/^\d+$/.test(values.tail)) throw new UsageError(`logs: invalid --tail "${values.tail}": expected a number or "all"`, { hint: USAGE });
    tail = Number(values.tail);
  }
  await engineFor(ctx).containers.logs(positionals[0], { stdout: ctx.stdout as Writable, stderr: ctx.stderr as Writable, follow: values.follow, timestamps: values.timestamps, tail });
  return 0;
};
