/**
 * `mybuild images [-q] [--digests] [--no-trunc] [--format table|json] [REPOSITORY[:TAG]]`: lists
 * the tagged images like `docker images`: REPOSITORY TAG [DIGEST] IMAGE ID CREATED SIZE, newest
 * first. IMAGE ID is the config digest (12 digits unless --no-trunc); SIZE sums the layers.
 * `--format json` prints one JSON object per line with Docker's keys. `--tree [-a]` lists a
 * multi-platform image with its platforms under it (./image-tree.ts).
 */
import type { parseArgs, ParseArgsConfig } from 'node:util';
import { parseCommandArgs as parseFlags } from '../args.js';
import { UsageError } from '../../errors.js';
import type { ImageRow } from '../../engine/engine.js';
import { engineFor } from '../engine.js';
import { createdSince, humanSize, shortId, splitName } from '../../store/display.js';
import { checkFormat, formatList, type ListFormat } from '../format/formatter.js';
import { asStruct } from '../format/funcs.js';
import { parseFilterFlags } from '../../api/filters.js';
import type { CliContext, CommandMain } from '../context.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';
import { imageTree } from './image-tree.js';

export const FLAGS = {
  digests: { type: 'boolean', description: 'Show digests' },
  filter: { type: 'string', short: 'f', multiple: true, arg: 'filter', description: "Filter output based on conditions provided (dangling=true|false, label=K[=V], reference=PATTERN, before=IMAGE, since=IMAGE)" },
  format: { type: 'string', description: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template" },
  'no-trunc': { type: 'boolean', description: "Don't truncate output" },
  quiet: { type: 'boolean', short: 'q', description: 'Only show image IDs' },
  tree: { type: 'boolean', description: 'List multi-platform images as a tree (their platforms under them)' },
  all: { type: 'boolean', short: 'a', description: 'Show all images (mybuild keeps no intermediate images to hide); with --tree, also the platforms whose content is not stored' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild images',
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  summary: 'List images',
  aliases: ['mybuild image ls', 'mybuild image list'],
  flags: FLAGS,
};

/** The usage line of errors' hints: the help's. */
const USAGE = `Usage: ${HELP.name} ${HELP.usage}`;

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
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length > 1) throw new UsageError(`"mybuild images" takes at most 1 argument, got ${positionals.length}`, { hint: USAGE });
  checkFormat(values.format);
  const { images, warnings } = await engineFor(ctx).images.list({ filters: parseFilterFlags(values.filter) });
  for (const w of warnings) ctx.stderr.write(`warning: ${w}\n`);
  const now = Date.now();
  const rows = images
    .filter((s) => matches(positionals[0], s))
    .sort((a, b) => (Date.parse(b.created ?? '') || 0) - (Date.parse(a.created ?? '') || 0) || ((a.name ?? '') < (b.name ?? '') ? -1 : 1));
  const trunc = !values['no-trunc'];
  if (values.tree) {
    // As docker's --tree, which has no template, quiet or digest form.
    for (const f of ['format', 'quiet', 'digests'] as const) if (values[f]) throw new UsageError(`--${f} cannot be combined with --tree`, { hint: USAGE });
    ctx.stdout.write(imageTree(rows, { all: values.all === true, trunc }));
    return 0;
  }
  const spec = { ...IMAGE_FORMAT, table: values.digests ? IMAGE_TABLE_DIGESTS : IMAGE_FORMAT.table };
  ctx.stdout.write(formatList(values.format, rows.map((r) => imageContext(r, { trunc, now, digests: values.digests || (values.format ?? '').includes('{{.Digest}}') })), spec, { quiet: values.quiet }));
  return 0;
};

/** docker's image formatter context (cli/command/formatter/image.go): the fields --format sees. */
export function imageContext(s: Row, opts: { trunc: boolean; now: number; digests?: boolean }): Record<string, unknown> {
  const n = nameOf(s);
  return asStruct({
    Containers: 'N/A',
    CreatedAt: goTime(s.created),
    CreatedSince: createdSince(s.created, opts.now),
    // docker fills Digest only with --digests (its imageFormatTaggedAndDigest)
    Digest: (opts.digests && s.digest) || '<none>',
    ID: opts.trunc ? shortId(s.id) : s.id,
    Repository: n.repository,
    SharedSize: 'N/A',
    Size: humanSize(s.size),
    Tag: n.tag,
    UniqueSize: 'N/A',
    VirtualSize: humanSize(s.size, 4),
  });
}

export const IMAGE_FORMAT: ListFormat = {
  table: '{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}',
  headers: {
    Containers: 'CONTAINERS',
    CreatedAt: 'CREATED AT',
    CreatedSince: 'CREATED',
    Digest: 'DIGEST',
    ID: 'IMAGE ID',
    Repository: 'REPOSITORY',
    SharedSize: 'SHARED SIZE',
    Size: 'SIZE',
    Tag: 'TAG',
    UniqueSize: 'UNIQUE SIZE',
    VirtualSize: 'SIZE',
  },
};
const IMAGE_TABLE_DIGESTS = '{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

