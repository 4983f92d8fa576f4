/**
 * `mybuild system check [--repair]`: verifies every blob, ref and cache record of the store (see
 * src/store/gc.ts `check`) and looks for what killed processes left on the host (mounts, runc
 * containers, processes, snapshots, temp files: src/containers/leftovers.ts); prints one line
 * per problem and exits 1, or a summary and 0. `--repair` removes the leftovers first (and says
 * what it removed); what remains is reported as without it.
 * `mybuild system prune [-a]` is `mybuild prune`; `mybuild system df` shows disk usage.
 */
import { uncompressedImageSize } from '../../store/layer-size.js';
import type { Descriptor } from '../../oci/types.js';
import { UsageError } from '../../errors.js';
import { findLeftovers, repairLeftovers } from '../../containers/leftovers.js';
import { snapshotUsage } from '../../runtime/snapshot-gc.js';
import { check } from '../../store/gc.js';
import { ImageStore } from '../../store/image-store.js';
import { humanSize } from '../../store/display.js';
import { formatList, type ListFormat } from '../format/formatter.js';
import { asStruct } from '../format/funcs.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';
import { unknownFlag } from '../args.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

const USAGE = 'Usage: mybuild system check [--repair] | df | info | prune [-a]';

const CHECK_FLAGS = {
  repair: { type: 'boolean', description: 'Remove the leftovers of killed processes (mounts, containers, processes, snapshots, temp files) first' },
  help: HELP_FLAG,
} as const satisfies Flags;
const DF_FLAGS = {
  format: { type: 'string', description: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template" },
  help: HELP_FLAG,
} as const satisfies Flags;

/** `system df`'s formatter context: Type, TotalCount, Size (mybuild counts no Active/Reclaimable). */
const DF_FORMAT: ListFormat = { table: '{{.Type}}\t{{.TotalCount}}\t{{.Size}}', headers: { Type: 'TYPE', TotalCount: 'TOTAL', Size: 'SIZE' } };

export const HELP: CommandHelp = {
  name: 'mybuild system',
  usage: 'COMMAND',
  summary: 'Manage the store: check, df, info, prune',
  flags: { help: HELP_FLAG },
  subcommands: [
    { name: 'mybuild system check', usage: '[OPTIONS]', summary: 'Verify every blob, ref and build cache record, and find what killed processes left', flags: CHECK_FLAGS },
    { name: 'mybuild system df', usage: '[OPTIONS]', summary: 'Show disk usage (blobs, build cache, extracted layers)', flags: DF_FLAGS },
    { name: 'mybuild system info', usage: '[OPTIONS]', summary: 'Display system-wide information (the same as "mybuild info")', flags: {} },
    { name: 'mybuild system prune', usage: '[OPTIONS]', summary: 'Remove unused data (the same as "mybuild prune")', flags: {} },
  ],
};

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    printHelp(ctx, HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'prune') return (await import('./prune.js')).main(rest, ctx);
  if (sub === 'info') return (await import('./info.js')).main(rest, ctx);
  if (sub === 'check') {
    const { values, positionals } = parseCommandArgs('system check', USAGE, { args: rest, options: CHECK_FLAGS, allowPositionals: true, strict: true });
    if (values.help) return printHelp(ctx, HELP.subcommands![0]);
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
    const { values } = parseCommandArgs('system df', USAGE, { args: rest, options: DF_FLAGS, allowPositionals: false, strict: true });
    if (values.help) return printHelp(ctx, HELP.subcommands![1]);
    const store = await ImageStore.open(ctx.root);
    const { images, dangling } = await store.listImages();
    const ids = new Set([...images, ...dangling].map((i) => i.image.configDigest));
    let total = 0;
    const sizes = new Map<string, number>();
    for await (const d of store.content.list()) {
      const info = await store.content.info(d);
      if (info) sizes.set(d, info.size);
      total += info?.size ?? 0;
    }
    // Layers shared by several images (or tags of one image) count once, as `docker system df`.
    const layers = new Map<string, Descriptor>();
    for (const i of [...images, ...dangling]) for (const l of i.image.manifest.layers) layers.set(l.digest, l);
    const imageBytes = await uncompressedImageSize(store.content, [...layers.values()]);
    const records = await store.cache.list();
    const cacheBytes = records.reduce((n, r) => n + (r.layer ? (sizes.get(r.layer.digest) ?? 0) : 0), 0);
    const snaps = await snapshotUsage(store);
    const rows: Array<[string, number, number]> = [
      ['Images', ids.size, imageBytes],
      ['Build Cache', records.length, cacheBytes],
      ['Blobs', sizes.size, total],
      // Extracted layers (committed) and the rootfs of containers and running steps (all of them on disk).
      ['Snapshots', snaps.total, snaps.bytes],
    ];
    ctx.stdout.write(formatList(values.format, rows.map(([Type, n, size]) => asStruct({ Type, TotalCount: n, Size: humanSize(size) })), DF_FORMAT));
    return 0;
  }
  if (sub.startsWith('-')) throw unknownFlag('system', sub, ['--help', '-h']);
  throw new UsageError(`unknown command "system ${sub}"`, { hint: USAGE });
};
