/**
 * `mybuild save [-o FILE] [--format docker|oci] NAME…`: writes images as a docker save tar
 * (default; `docker load` and `skopeo copy docker-archive:` read it) or an OCI layout tar, to
 * FILE or to stdout when stdout is not a terminal. Tags are written as RepoTags in Docker's
 * short form (`app:1`); image IDs (`sha256:…`, short prefixes) are saved without tags.
 */
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { exportDockerArchive } from '../../image/formats/docker-archive.js';
import { exportOciLayout } from '../../image/formats/oci-layout.js';
import type { Writable } from 'node:stream';
import type { Descriptor } from '../../image/types.js';
import type { CommandMain, CliContext } from '../context.js';
import { displayName, openImages } from './load.js';

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
  if (ctx.host) return (await import('../../client/commands.js')).remoteSave(ctx, positionals, { output: values.output, format });
  const images = await openImages(ctx.root);
  const byDigest = new Map<string, { names: string[]; descriptor: Descriptor }>();
  for (const arg of positionals) {
    const r = await images.resolve(arg);
    const entry = byDigest.get(r.descriptor.digest) ?? { names: [], descriptor: r.descriptor };
    // A tag is named by the user; an ID is not a name.
    if (!/^(sha256:)?[0-9a-f]{6,64}$/.test(arg)) entry.names.push(displayName(arg));
    byDigest.set(r.descriptor.digest, entry);
  }
  const list = [...byDigest.values()];
  const dest = values.output ?? (ctx.stdout as unknown as Writable);
  if (format === 'docker') await exportDockerArchive(images.content, list, dest);
  else await exportOciLayout(images.content, list.flatMap((e) => (e.names.length ? e.names.map((n) => ({ name: n, descriptor: e.descriptor })) : [{ descriptor: e.descriptor }])), dest, { tar: true });
  return 0;
};
