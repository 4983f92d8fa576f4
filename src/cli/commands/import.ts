/**
 * `mybuild import [-c CHANGE]… [-m MESSAGE] [--platform OS/ARCH[/VARIANT]] FILE|- [NAME[:TAG]]`:
 * makes a one-layer image from a root filesystem tarball (tar, .gz, .bz2, .xz, .zst), like
 * `docker import`, tags it when NAME is given and prints its ID (`sha256:…`).
 */
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { hostPlatform } from '../../image/formats/walk.js';
import { importRootfs } from '../../image/formats/import.js';
import type { Platform } from '../../image/types.js';
import type { CommandMain, CliContext } from '../context.js';
import { normalizeName, openImages } from './load.js';

/** Parses `linux/arm64/v8`. Throws UsageError otherwise. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant, ...rest] = s.split('/');
  if (!os || !architecture || rest.length) throw new UsageError(`invalid --platform "${s}": expected OS/ARCH[/VARIANT], e.g. linux/amd64`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('import', {
    args,
    options: {
      change: { type: 'string', short: 'c', multiple: true },
      message: { type: 'string', short: 'm' },
      platform: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write('Usage: mybuild import [-c CHANGE]… [-m MESSAGE] [--platform OS/ARCH] FILE|- [REPOSITORY[:TAG]]\n\nImport a root filesystem tarball as an image\n');
    return 0;
  }
  if (positionals.length < 1 || positionals.length > 2) {
    throw new UsageError(`"mybuild import" requires 1 or 2 arguments, got ${positionals.length}`, { hint: 'mybuild import rootfs.tar.gz app:1' });
  }
  const [file, name] = positionals;
  const full = name ? normalizeName(name) : undefined;
  const platform = values.platform ? parsePlatform(values.platform) : hostPlatform();
  const epoch = ctx.env.SOURCE_DATE_EPOCH;
  const images = await openImages(ctx.root);
  const img = await importRootfs(
    images.content,
    file,
    { platform, changes: values.change, message: values.message, ...(epoch !== undefined && /^\d+$/.test(epoch) ? { sourceDateEpoch: Number(epoch) } : { created: new Date() }) },
    ctx.stdin,
  );
  if (full) await images.setRef(full, img.manifestDescriptor);
  ctx.stdout.write(`${img.configDescriptor.digest}\n`);
  return 0;
};
