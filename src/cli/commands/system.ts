/**
 * `mybuild system check [--repair]`: verifies every blob, ref and cache record of the store (see
 * src/store/gc.ts `check`) and looks for what killed processes left on the host (mounts, runc
 * containers, processes, snapshots, temp files: src/containers/leftovers.ts); prints one line
 * per problem and exits 1, or a summary and 0. `--repair` removes the leftovers first (and says
 * what it removed); what remains is reported as without it.
 * `mybuild system prune [-a]` is `mybuild prune`; `mybuild system df` shows disk usage.
 */
import { UsageError } from '../../errors.js';
import { findLeftovers, repairLeftovers } from '../../containers/leftovers.js';
import { snapshotUsage } from '../../runtime/snapshot-gc.js';
import { check } from '../../store/gc.js';
import { ImageStore } from '../../store/image-store.js';
import { humanSize, table } from '../../store/display.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';
import { unknownFlag } from '../args.js';

const USAGE = 'Usage: mybuild system check [--repair] | df | prune [-a]';

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    ctx.stdout.write(`${USAGE}\n\n  check   verify every blob, ref and build cache record, and find what killed processes left\n          (--repair: remove those leftovers)\n  df      show disk usage (blobs, build cache, extracted layers)\n  prune   remove unused blobs (same as "mybuild prune")\n`);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'prune') return (await import('./prune.js')).main(rest, ctx);
  if (sub === 'check') {
    const { values, positionals } = parseCommandArgs('system check', USAGE, { args: rest, options: { repair: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length) throw new UsageError(`"mybuild system check" takes no arguments, got "${positionals.join(' ')}"`);
    const store = await ImageStore.open(ctx.root);
    if (values.repair) for (const l of await repairLeftovers(store)) ctx.stdout.write(`removed ${l.kind}: ${l.message}\n`);
    const problems: { kind: string; message: string }[] = await check(store);
    problems.push(...(await findLeftovers(store)));
    for (const p of problems) ctx.stdout.write(`${p.kind}: ${p.message}\n`);
    if (problems.length) {
      const hint = problems.some((p) => ['mount', 'container', 'process', 'snapshot', 'temp', 'secret'].includes(p.kind)) && !values.repair ? ' (leftovers: "mybuild system check --repair" removes them)' : '';
      ctx.stderr.write(`${problems.length} problem(s) found in ${ctx.root}${hint}\n`);
      return 1;
    }
    ctx.stdout.write(`No problems found in ${ctx.root}\n`);
    return 0;
  }
  if (sub === 'df') {
    parseCommandArgs('system df', USAGE, { args: rest, options: {}, allowPositionals: false, strict: true });
    const store = await ImageStore.open(ctx.root);
    const { images } = await store.listImages();
    const ids = new Set(images.map((i) => i.image.configDigest));
    let total = 0;
    const sizes = new Map<string, number>();
    for await (const d of store.content.list()) {
      const info = await store.content.info(d);
      if (info) sizes.set(d, info.size);
      total += info?.size ?? 0;
    }
    const records = await store.cache.list();
    const cacheBytes = records.reduce((n, r) => n + (r.layer ? (sizes.get(r.layer.digest) ?? 0) : 0), 0);
    const snaps = await snapshotUsage(store);
    ctx.stdout.write(
      table([
        ['TYPE', 'TOTAL', 'SIZE'],
        ['Images', String(ids.size), humanSize(images.reduce((n, i) => n + i.size, 0))],
        ['Build Cache', String(records.length), humanSize(cacheBytes)],
        ['Blobs', String(sizes.size), humanSize(total)],
        // Extracted layers (committed) and the rootfs of containers and running steps (all of them on disk).
        ['Snapshots', String(snaps.total), humanSize(snaps.bytes)],
      ]),
    );
    return 0;
  }
  if (sub.startsWith('-')) throw unknownFlag('system', sub, ['--help', '-h']);
  throw new UsageError(`unknown command "system ${sub}"`, { hint: USAGE });
};
