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

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('save', {
    args,
    options: { output: { type: 'string', short: 'o' }, format: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write('Usage: mybuild save [-o FILE] [--format docker|oci] IMAGE…\n\nSave images to a tar archive (stdout by default)\n');
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('"mybuild save" requires at least 1 image', { hint: 'mybuild save -o app.tar app:1' });
  const format = values.format ?? 'docker';
  if (format !== 'docker' && format !== 'oci') throw new UsageError(`invalid --format "${format}": expected docker or oci`);
  if (!values.output && (ctx.stdout as { isTTY?: boolean }).isTTY) {
    throw new UsageError('cowardly refusing to save to a terminal', { hint: 'use -o FILE or redirect stdout' });
  }
  await engineFor(ctx).images.save(positionals, { format, dest: values.output ?? (ctx.stdout as unknown as Writable) });
  return 0;
};
