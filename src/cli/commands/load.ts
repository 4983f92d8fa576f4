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

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('load', {
    args,
    options: { input: { type: 'string', short: 'i' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write('Usage: mybuild load [-i FILE|DIR] [-q]\n\nLoad images from a docker save tar, an OCI layout tar or directory, or stdin\n');
    return 0;
  }
  if (positionals.length) throw new UsageError(`"mybuild load" takes no arguments, got "${positionals.join(' ')}"`, { hint: 'use -i FILE to name the archive' });
  if (!values.input && isTTY(ctx.stdin)) {
    throw new UsageError('requested load from stdin, but stdin is empty', { hint: 'use -i FILE, or pipe an archive into "mybuild load"' });
  }
  const input = values.input && values.input !== '-' ? values.input : Readable.from(ctx.stdin as AsyncIterable<Buffer>);
  const lines = await engineFor(ctx).images.load(input);
  if (!values.quiet) for (const l of lines) ctx.stdout.write(`${l}\n`);
  return 0;
};
