/**
 * `mybuild load [-i FILE|DIR] [-q]`: loads images from a docker save tar, an OCI layout tar or
 * an OCI layout directory (or stdin) into the store and tags them, printing
 * `Loaded image: NAME` per tag or `Loaded image ID: sha256:…` for an untagged image, as Docker.
 */
import { parseCommandArgs } from '../args.js';
import { Readable } from 'node:stream';
import { UsageError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';
import { ImageStore } from '../../store/image-store.js';
import type { CommandMain, CliContext } from '../context.js';
import { engineFor } from '../engine.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

/** Opens the image store under `root` (content store + refs). */
export async function openImages(root: string): Promise<ImageStore> {
  return ImageStore.open(root);
}

/** The full normalised name (`docker.io/library/app:1`) of a user-given or archived name. */
export function normalizeName(name: string): string {
  return parseReference(name).toString();
}

function isTTY(s: NodeJS.ReadableStream | NodeJS.WritableStream): boolean {
  return (s as { isTTY?: boolean }).isTTY === true;
}

export const FLAGS = {
  input: { type: 'string', short: 'i', description: 'Read from tar archive file (or an OCI layout directory), instead of STDIN' },
  quiet: { type: 'boolean', short: 'q', description: 'Suppress the load output' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild load',
  usage: '[OPTIONS]',
  summary: 'Load an image from a tar archive or STDIN',
  aliases: ['mybuild image load'],
  flags: FLAGS,
};

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('load', {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length) throw new UsageError(`"mybuild load" takes no arguments, got "${positionals.join(' ')}"`, { hint: 'use -i FILE to name the archive' });
  if (!values.input && isTTY(ctx.stdin)) {
    throw new UsageError('requested load from stdin, but stdin is empty', { hint: 'use -i FILE, or pipe an archive into "mybuild load"' });
  }
  const input = values.input && values.input !== '-' ? values.input : Readable.from(ctx.stdin as AsyncIterable<Buffer>);
  const lines = await engineFor(ctx).images.load(input);
  if (!values.quiet) for (const l of lines) ctx.stdout.write(`${l}\n`);
  return 0;
};
