/**
 * `mybuild ps [-a] [-q] [--no-trunc]`: lists containers (running ones; all with -a), newest
 * first, with Docker's columns CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS (the
 * published ports of a running container, as `127.0.0.1:8080->80/tcp`), NAMES. A container whose mybuild process died shows as
 * `Exited (255)`.
 */
import { commandText, publishedText } from '../../api/containers.js';
import { engineFor } from '../engine.js';
import { UsageError } from '../../errors.js';
import { createdSince, table } from '../../store/display.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';

const USAGE = 'Usage: mybuild ps [-a] [-q] [--no-trunc]';

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('ps', USAGE, {
    args,
    options: { all: { type: 'boolean', short: 'a' }, quiet: { type: 'boolean', short: 'q' }, 'no-trunc': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nList containers\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`"mybuild ps" accepts no arguments, got "${positionals[0]}"`, { hint: USAGE });
  const list = await engineFor(ctx).containers.list({ all: values.all });
  const full = values['no-trunc'] === true;
  if (values.quiet) {
    for (const c of list) ctx.stdout.write(`${full ? c.id : c.id.slice(0, 12)}\n`);
    return 0;
  }
  const now = Date.now();
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const c of list) rows.push([full ? c.id : c.id.slice(0, 12), c.image, commandText(c.command, !full), createdSince(c.created, now), c.status, publishedText(c.ports), c.name]);
  ctx.stdout.write(table(rows));
  return 0;
};
