/**
 * `mybuild push [--insecure-registry HOST]… [-q] NAME[:TAG]`: pushes a stored image to its
 * registry and prints, as Docker does, `<tag>: digest: sha256:… size: N`.
 */
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';
import { BlobSources } from '../../registry/blob-sources.js';
import { push } from '../../registry/push.js';
import type { TransferProgress } from '../../registry/pull.js';
import type { CommandMain } from '../context.js';
import { ImageStore } from '../../store/image-store.js';
import { insecureList, sourcesFile } from './pull.js';

const short = (d: string): string => d.slice('sha256:'.length, 'sha256:'.length + 12);

export const main: CommandMain = async (args, ctx) => {
  const parsed = parseCommandArgs('push', { args, options: { 'insecure-registry': { type: 'string', multiple: true }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  const { values, positionals } = parsed;
  if (values.help) {
    ctx.stdout.write('Usage: mybuild push [--insecure-registry HOST] [-q] NAME[:TAG]\n\nUpload an image to a registry\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`"mybuild push" requires exactly 1 argument, got ${positionals.length}`, { hint: 'usage: mybuild push NAME[:TAG]' });
  if (ctx.host) return (await import('../../client/commands.js')).remotePush(ctx, positionals[0], { quiet: values.quiet, insecure: values['insecure-registry'] });
  const ref = parseReference(positionals[0]);
  const images = await ImageStore.open(ctx.root);
  const image = await images.resolve(ref.toString());
  if (!values.quiet) ctx.stdout.write(`The push refers to repository [${ref.name}]\n`);
  const onProgress = values.quiet
    ? undefined
    : (e: TransferProgress): void => {
        if (e.kind !== 'layer' && e.kind !== 'config') return;
        if (e.kind === 'config' && e.status !== 'retrying') return;
        if (e.status === 'exists') ctx.stdout.write(`${short(e.digest)}: Layer already exists\n`);
        else if (e.status === 'mounted') ctx.stdout.write(`${short(e.digest)}: Mounted from another repository\n`);
        else if (e.status === 'done') ctx.stdout.write(`${short(e.digest)}: Pushed\n`);
        else if (e.status === 'retrying') ctx.stdout.write(`${short(e.digest)}: Retrying\n`);
      };
  const res = await push(ref, images.content, image.descriptor, {
    onProgress,
    clientOptions: { insecureRegistries: insecureList(values['insecure-registry'], ctx), env: ctx.env },
    sources: new BlobSources(sourcesFile(ctx)),
  });
  ctx.stdout.write(`${ref.tag ?? ref.digest}: digest: ${res.digest} size: ${res.size}\n`);
  return 0;
};
