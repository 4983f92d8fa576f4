/**
 * `mybuild prune [-a] [-f]`: deletes blobs no ref and no build cache record needs, and stale
 * ingest files; with -a also every build cache record. Prints each deleted blob and
 * `Total reclaimed space: X` as `docker image prune` does. (-f is accepted for Docker
 * compatibility: mybuild never prompts.) First it removes what killed processes left on the
 * host (mounts, runc containers, processes, snapshots, temp files: src/containers/leftovers.ts),
 * as `system check --repair` does. After the blobs, the extracted layers (committed snapshots)
 * no image, cache record or container needs (src/runtime/snapshot-gc.ts).
 */
import { UsageError } from '../../errors.js';
import { repairLeftovers } from '../../containers/leftovers.js';
import { pruneSnapshots } from '../../runtime/snapshot-gc.js';
import { prune } from '../../store/gc.js';
import { ImageStore } from '../../store/image-store.js';
import { humanSize } from '../../store/display.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';
import { parseFilterFlags, pruneFilter } from '../../api/filters.js';
import type { Digest } from '../../oci/digest.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  all: { type: 'boolean', short: 'a', description: 'Also remove every build cache record' },
  'build-cache': { type: 'boolean', description: 'Remove only the build cache and the blobs only it kept, keep untagged images ("mybuild builder prune")' },
  filter: { type: 'string', multiple: true, arg: 'filter', description: 'Provide filter values for the untagged images to remove (until=24h|TIMESTAMP, label=K[=V], label!=K[=V])' },
  force: { type: 'boolean', short: 'f', description: 'Do not prompt for confirmation (mybuild never prompts)' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild prune',
  usage: '[OPTIONS]',
  summary: 'Remove untagged images, unused blobs and stale writes (-a: also the build cache)',
  aliases: ['mybuild system prune', 'mybuild image prune'],
  flags: FLAGS,
};

/** The usage line of errors' hints: the help's. */
const USAGE = `Usage: ${HELP.name} ${HELP.usage}`;

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('prune', USAGE, {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length) throw new UsageError(`"mybuild prune" takes no arguments, got "${positionals.join(' ')}"`, { hint: USAGE });
  const filters = parseFilterFlags(values.filter);
  const filtered = Object.keys(filters).length > 0;
  if (filtered && values['build-cache']) throw new UsageError('prune: --filter selects untagged images; it cannot be combined with --build-cache', { hint: 'mybuild builder prune removes every build cache record' });
  const keep = filtered ? pruneFilter(filters) : undefined; // validated before the store is touched
  const store = await ImageStore.open(ctx.root);
  const leftovers = await repairLeftovers(store);
  if (leftovers.length) ctx.stdout.write(`Removed ${leftovers.length} leftover(s) of killed processes (mounts, containers, processes, snapshots, temp files)\n\n`);
  let picked: Digest[] | undefined;
  if (keep) {
    const { dangling } = await store.listImages();
    picked = dangling.filter((d) => keep({ created: d.image.config.created, labels: d.image.config.config?.Labels })).map((d) => d.image.descriptor.digest);
  }
  const res = await prune(store, values['build-cache'] ? { all: true, keepDangling: true } : { all: values.all, ...(picked ? { danglingDigests: picked } : {}) });
  if (res.blobs.length) {
    ctx.stdout.write('Deleted Images:\n');
    for (const b of res.blobs) ctx.stdout.write(`deleted: ${b.digest}\n`);
    ctx.stdout.write('\n');
  }
  if (res.cacheRecords.length) {
    ctx.stdout.write('Deleted build cache objects:\n');
    for (const k of res.cacheRecords) ctx.stdout.write(`${k}\n`);
    ctx.stdout.write('\n');
  }
  if (res.ingest.length) ctx.stdout.write(`Removed ${res.ingest.length} interrupted write(s)\n\n`);
  const snaps = await pruneSnapshots(store);
  if (snaps.removed.length) ctx.stdout.write(`Deleted ${snaps.removed.length} extracted layer(s) (${humanSize(snaps.bytesFreed)})\n\n`);
  ctx.stdout.write(`Total reclaimed space: ${humanSize(res.bytesFreed + snaps.bytesFreed)}\n`);
  return 0;
};
