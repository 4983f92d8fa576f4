/**
 * `mybuild inspect IMAGE…` (also `mybuild image inspect`): prints a JSON array like
 * `docker image inspect`: Id, RepoTags, RepoDigests, Created, Author, Architecture, Os,
 * Config, RootFS, Size, plus Descriptor (what the ref points at), ManifestDigest and, for a
 * multi-platform image, Manifests (its platforms, as Docker API 1.48 lists them). Images not
 * found get an error line on stderr and exit 1, the others are still printed.
 */
import { toBuildError, UsageError } from '../../errors.js';
import { formatDocument } from '../format/formatter.js';
import { Template } from '../format/template.js';
import { engineFor } from '../engine.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  format: { type: 'string', short: 'f', description: "Format output using a custom template: 'json', or a Go template" },
  type: { type: 'string', description: 'Only inspect objects of the given type (image or container)' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild inspect',
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  summary: 'Display detailed information on one or more images',
  aliases: ['mybuild image inspect'],
  flags: FLAGS,
};

/** The usage line of errors' hints: the help's. */
const USAGE = `Usage: ${HELP.name} ${HELP.usage}`;

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('inspect', USAGE, {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (values.type !== undefined && values.type !== 'image') {
    throw new UsageError(values.type === 'container' ? 'inspect --type container is not supported by mybuild yet: only images are inspected' : `inspect: "${values.type}" is not a valid value for --type`, {
      hint: values.type === 'container' ? "'mybuild ps -a' lists containers with their status" : 'the supported type is image',
    });
  }
  if (values.format && values.format !== 'json') Template.parse(values.format); // a bad template fails before any lookup
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
  if (values.format === 'json') ctx.stdout.write(`${JSON.stringify(out)}\n`);
  else if (values.format) for (const doc of out) ctx.stdout.write(formatDocument(values.format, doc));
  else ctx.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
  return failed ? 1 : 0;
};
