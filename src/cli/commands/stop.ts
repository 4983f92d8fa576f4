/**
 * `mybuild stop [-t SECONDS] [-s SIGNAL] CONTAINER…`: sends the stop signal (the image's
 * StopSignal, else SIGTERM), then SIGKILL after the timeout (default 10 s); prints each
 * argument once it has stopped. Exit 1 if any failed.
 */
import { UsageError, toBuildError } from '../../errors.js';
import type { CliContext, CommandMain } from '../context.js';
import { engineFor } from '../engine.js';
import { parseCommandArgs } from './images.js';

const USAGE = 'Usage: mybuild stop [-t SECONDS] [-s SIGNAL] CONTAINER [CONTAINER...]';

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('stop', USAGE, {
    args,
    options: { time: { type: 'string', short: 't' }, timeout: { type: 'string' }, signal: { type: 'string', short: 's' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nStop one or more running containers\n`);
    return 0;
  }
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
