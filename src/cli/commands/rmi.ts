/**
 * `mybuild rmi [-f] IMAGE…`: removes tags, printing `Untagged: NAME` per tag and
 * `Deleted: sha256:<id>` when an image lost its last tag (its blobs are reclaimed by
 * `mybuild prune`). A name removes that tag; an ID removes every tag of the image, which needs
 * -f when it has several (as Docker). Failures are printed per argument; exit 1 if any failed.
 */
import { BuildError, UsageError, toBuildError } from '../../errors.js';
import { ImageStore, normalizedName } from '../../store/image-store.js';
import { splitName } from '../../store/display.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';

const USAGE = 'Usage: mybuild rmi [-f] IMAGE [IMAGE...]';

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('rmi', USAGE, {
    args,
    options: { force: { type: 'boolean', short: 'f' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nRemove one or more images\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('"mybuild rmi" requires at least 1 argument', { hint: USAGE });
  if (ctx.host) return (await import('../../client/commands.js')).remoteRmi(ctx, positionals, values.force === true);
  const store = await ImageStore.open(ctx.root);
  let failed = 0;
  for (const arg of positionals) {
    try {
      const image = await store.resolve(arg);
      const refs = await store.listRefs();
      const sameImage = async (d: { digest: string }): Promise<boolean> => {
        if (d.digest === image.descriptor.digest) return true;
        try {
          return (await store.resolveDescriptor(refs.find((r) => r.descriptor.digest === d.digest)!.descriptor)).configDigest === image.configDigest;
        } catch {
          return false;
        }
      };
      const tagsOfImage: string[] = [];
      for (const r of refs) if (await sameImage(r.descriptor)) tagsOfImage.push(r.name);
      const byName = image.name !== undefined && (arg === image.name || normalizedName(arg) === image.name);
      let remove: string[];
      if (byName) remove = [image.name!];
      else if (tagsOfImage.length > 1 && !values.force) {
        throw new BuildError('ALREADY_EXISTS', `conflict: unable to delete ${arg} (must be forced) - image is referenced in multiple repositories`, { hint: 'untag it by name, or use -f to remove every tag' });
      } else remove = tagsOfImage;
      for (const name of remove) {
        if (await store.deleteRef(name)) ctx.stdout.write(`Untagged: ${splitName(name).familiar}\n`);
      }
      const left = tagsOfImage.filter((n) => !remove.includes(n));
      if (left.length === 0) {
        await store.deleteDangling([image.descriptor.digest, image.manifestDescriptor.digest]);
        ctx.stdout.write(`Deleted: ${image.configDigest}\n`);
      }
    } catch (err) {
      failed++;
      ctx.stderr.write(`error: ${toBuildError(err).format()}\n`);
    }
  }
  return failed ? 1 : 0;
};
