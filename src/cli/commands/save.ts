/**
 * `mybuild save [-o FILE] [--format docker|oci] NAME…`: writes images as a docker save tar
 * (default; `docker load` and `skopeo copy docker-archive:` read it) or an OCI layout tar, to
 * FILE or to stdout when stdout is not a terminal. Tags are written as RepoTags in Docker's
 * short form (`app:1`); image IDs (`sha256:…`, short prefixes) are saved without tags.
 */
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import type { Writable } from 'node:stream';
import type { CommandMain, CliContext } from '../context.js';
import { engineFor } from '../engine.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  format: { type: 'string', description: 'Archive format: docker (docker save tar, the default) or oci (an OCI layout tar)' },
  output: { type: 'string', short: 'o', description: 'Write to a file, instead of STDOUT' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild save',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  aliases: ['mybuild image save'],
  flags: FLAGS,
};

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('save', {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length === 0) throw new UsageError('"mybuild save" requires at least 1 image', { hint: 'mybuild save -o app.tar app:1' });
  const format = values.format ?? 'docker';
  if (format !== 'docker' && format !== 'oci') throw new UsageError(`invalid --format "${format}": expected docker or oci`);
  if (!values.output && (ctx.stdout as { isTTY?: boolean }).isTTY) {
    throw new UsageError('cowardly refusing to save to a terminal', { hint: 'use -o FILE or redirect stdout' });
  }
  await engineFor(ctx).images.save(positionals, { format, dest: values.output ?? (ctx.stdout as unknown as Writable) });
  return 0;
};
