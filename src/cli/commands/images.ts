/**
 * `mybuild images [-q] [--digests] [--no-trunc] [--format table|json] [REPOSITORY[:TAG]]`: lists
 * the tagged images like `docker images`: REPOSITORY TAG [DIGEST] IMAGE ID CREATED SIZE, newest
 * first. IMAGE ID is the config digest (12 digits unless --no-trunc); SIZE sums the layers.
 * `--format json` prints one JSON object per line with Docker's keys.
 */
import type { parseArgs, ParseArgsConfig } from 'node:util';
import { parseCommandArgs as parseFlags } from '../args.js';
import { UsageError } from '../../errors.js';
import type { ImageRow } from '../../engine/engine.js';
import { engineFor } from '../engine.js';
import { createdSince, humanSize, shortId, splitName, table } from '../../store/display.js';
import type { CliContext, CommandMain } from '../context.js';

const USAGE = 'Usage: mybuild images [-q] [--digests] [--no-trunc] [--format table|json] [REPOSITORY[:TAG]]';

/** Parses args with src/cli/args.ts (mybuild's flag errors); `_usage` is what --help prints. */
export function parseCommandArgs<T extends ParseArgsConfig>(cmd: string, _usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  return parseFlags(cmd, config);
}

/** Go's time.Time String() form Docker prints in CreatedAt: `2024-01-02 03:04:05 +0000 UTC`. */
function goTime(created: string | undefined): string {
  const t = created ? new Date(created) : undefined;
  if (!t || Number.isNaN(t.getTime())) return '';
  return `${t.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

/** A row of the listing: a ref, or an untagged image (no name, shown as `<none>`). */
type Row = ImageRow;

function nameOf(s: Row): { repository: string; tag: string } {
  return s.name === undefined ? { repository: '<none>', tag: '<none>' } : splitName(s.name);
}

function matches(filter: string | undefined, s: Row): boolean {
  if (!filter) return true;
  if (s.name === undefined) return false;
  const n = splitName(s.name);
  const colon = filter.lastIndexOf(':');
  const [repo, tag] = colon > filter.lastIndexOf('/') ? [filter.slice(0, colon), filter.slice(colon + 1)] : [filter, undefined];
  const full = splitName(`${repo}:x`).repository; // normalised familiar repository of the filter
  return (n.repository === repo || n.repository === full) && (tag === undefined || n.tag === tag);
}

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('images', USAGE, {
    args,
    options: {
      quiet: { type: 'boolean', short: 'q' },
      digests: { type: 'boolean' },
      'no-trunc': { type: 'boolean' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nList images\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`"mybuild images" takes at most 1 argument, got ${positionals.length}`, { hint: USAGE });
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`images: unknown --format "${format}"`, { hint: 'expected "table" or "json"' });

  const { images, warnings } = await engineFor(ctx).images.list();
  for (const w of warnings) ctx.stderr.write(`warning: ${w}\n`);
  const now = Date.now();
  const rows = images
    .filter((s) => matches(positionals[0], s))
    .sort((a, b) => (Date.parse(b.created ?? '') || 0) - (Date.parse(a.created ?? '') || 0) || ((a.name ?? '') < (b.name ?? '') ? -1 : 1));
  const id = (s: Row) => (values['no-trunc'] ? s.id : shortId(s.id));

  if (values.quiet) {
    for (const s of rows) ctx.stdout.write(`${id(s)}\n`);
    return 0;
  }
  if (format === 'json') {
    for (const s of rows) {
      const n = nameOf(s);
      ctx.stdout.write(
        `${JSON.stringify({
          Containers: 'N/A',
          CreatedAt: goTime(s.created),
          CreatedSince: createdSince(s.created, now),
          Digest: s.digest || '<none>',
          ID: id(s),
          Repository: n.repository,
          SharedSize: 'N/A',
          Size: humanSize(s.size),
          Tag: n.tag,
          UniqueSize: 'N/A',
          VirtualSize: humanSize(s.size),
        })}\n`,
      );
    }
    return 0;
  }
  const header = ['REPOSITORY', 'TAG', ...(values.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
  const body = rows.map((s) => {
    const n = nameOf(s);
    return [n.repository, n.tag, ...(values.digests ? [s.digest || '<none>'] : []), id(s), createdSince(s.created, now), humanSize(s.size)];
  });
  ctx.stdout.write(table([header, ...body]));
  return 0;
};
