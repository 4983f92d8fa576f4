/**
 * `mybuild import [-c CHANGE]… [-m MESSAGE] [--platform OS/ARCH[/VARIANT]] FILE|- [NAME[:TAG]]`:
 * makes a one-layer image from a root filesystem tarball (tar, .gz, .bz2, .xz, .zst), like
 * `docker import`, tags it when NAME is given and prints its ID (`sha256:…`).
 */
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { hostPlatform } from '../../oci/platform.js';
import { importRootfs } from '../../image/formats/import.js';
import type { Platform } from '../../oci/types.js';
import type { CommandMain, CliContext } from '../context.js';
import { normalizeName, openImages } from './load.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

/** Parses `linux/arm64/v8`. Throws UsageError otherwise. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant, ...rest] = s.split('/');
  if (!os || !architecture || rest.length) throw new UsageError(`invalid --platform "${s}": expected OS/ARCH[/VARIANT], e.g. linux/amd64`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export const FLAGS = {
  change: { type: 'string', short: 'c', multiple: true, description: 'Apply Dockerfile instruction to the created image' },
  message: { type: 'string', short: 'm', description: 'Set commit message for imported image' },
  platform: { type: 'string', description: 'Set platform if server is multi-platform capable' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild import',
  usage: '[OPTIONS] file|- [REPOSITORY[:TAG]]',
  summary: 'Import the contents from a tarball to create a filesystem image',
  aliases: ['mybuild image import'],
  flags: FLAGS,
};

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('import', {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
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
