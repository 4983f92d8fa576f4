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

const USAGE = 'Usage: mybuild tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]';

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('tag', USAGE, { args, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nCreate a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`"mybuild tag" requires exactly 2 arguments, got ${positionals.length}`, { hint: USAGE });
  const [source, target] = positionals;
  const ref = parseReference(target);
  if (ref.digest) throw new BuildError('INVALID_ARGUMENT', `refusing to create a tag with a digest reference: "${target}"`, { hint: 'give a name with a tag, e.g. app:1' });
  await engineFor(ctx).images.tag(source, ref.toString());
  return 0;
};
