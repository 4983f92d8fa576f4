/**
 * `mybuild kill [-s SIGNAL] CONTAINER…`: sends SIGNAL (default KILL) to running containers,
 * printing each argument. Exit 1 if any failed (unknown, not running, bad signal).
 */
import { normalizeSignal } from '../../containers/manager.js';
import { UsageError, toBuildError } from '../../errors.js';
import type { CliContext, CommandMain } from '../context.js';
import { engineFor } from '../engine.js';
import { parseCommandArgs } from './images.js';

const USAGE = 'Usage: mybuild kill [-s SIGNAL] CONTAINER [CONTAINER...]';

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('kill', USAGE, {
    args,
    options: { signal: { type: 'string', short: 's' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nKill one or more running containers\n`);
    return 0;
  }
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
