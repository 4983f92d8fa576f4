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

const USAGE = 'Usage: mybuild prune [-a] [-f]';

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('prune', USAGE, {
    args,
    options: { all: { type: 'boolean', short: 'a' }, force: { type: 'boolean', short: 'f' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nRemove unused blobs (and with -a all build cache)\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`"mybuild prune" takes no arguments, got "${positionals.join(' ')}"`, { hint: USAGE });
  const store = await ImageStore.open(ctx.root);
  const leftovers = await repairLeftovers(store);
  if (leftovers.length) ctx.stdout.write(`Removed ${leftovers.length} leftover(s) of killed processes (mounts, containers, processes, snapshots, temp files)\n\n`);
  const res = await prune(store, { all: values.all });
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
