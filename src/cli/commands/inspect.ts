/**
 * `mybuild inspect IMAGE…` (also `mybuild image inspect`): prints a JSON array like
 * `docker image inspect`: Id, RepoTags, RepoDigests, Created, Author, Architecture, Os,
 * Config, RootFS, Size, plus Descriptor (what the ref points at), ManifestDigest and, for a
 * multi-platform image, Manifests (its platforms, as Docker API 1.48 lists them). Images not
 * found get an error line on stderr and exit 1, the others are still printed.
 */
import { toBuildError } from '../../errors.js';
import { engineFor } from '../engine.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';

const USAGE = 'Usage: mybuild inspect IMAGE [IMAGE...]';

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('inspect', USAGE, {
    args,
    options: { help: { type: 'boolean', short: 'h' }, type: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nDisplay detailed information on one or more images\n`);
    return 0;
  }
  if (positionals.length === 0) {
    ctx.stdout.write(`${USAGE}\n`);
    return 2;
  }
  const engine = engineFor(ctx);
  const out: Record<string, unknown>[] = [];
  let failed = 0;
  for (const arg of positionals) {
    try {
      out.push(await engine.images.inspect(arg));
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${toBuildError(err).format()}\n`);
    }
  }
  ctx.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
  return failed ? 1 : 0;
};
