/**
 * `mybuild rm [-f] CONTAINER…`: removes containers (by name, ID or ID prefix), printing each
 * argument as given. A running container needs -f (it is killed). Failures are printed per
 * argument; exit 1 if any failed.
 */
import { UsageError, toBuildError } from '../../errors.js';
import type { CliContext, CommandMain } from '../context.js';
import { engineFor } from '../engine.js';
import { parseCommandArgs } from './images.js';

const USAGE = 'Usage: mybuild rm [-f] CONTAINER [CONTAINER...]';

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('rm', USAGE, {
    args,
    options: { force: { type: 'boolean', short: 'f' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nRemove one or more containers\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('"mybuild rm" requires at least 1 argument', { hint: USAGE });
  const engine = engineFor(ctx);
  let failed = 0;
  for (const ref of positionals) {
    try {
      await engine.containers.remove(ref, { force: values.force });
      ctx.stdout.write(`${ref}\n`);
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${toBuildError(err).format()}\n`);
    }
  }
  return failed ? 1 : 0;
};
