/**
 * `mybuild cache ls [--no-trunc] [--format table|json]`: the build cache records (key, created,
 * layer size, created_by), newest first.
 *
 * `mybuild cache explain [--format table|json] IMAGE`: how IMAGE was built: every step of its
 * last build with hit or miss and the reason, from the build record
 * `<root>/builds/<config-hex>.json` that `build()` writes.
 *
 * Read-only; neither takes the store lock.
 */
import { readBuildRecord, type BuildRecordStep } from '../../cache/build-record.js';
import { UsageError } from '../../errors.js';
import { ImageStore } from '../../store/image-store.js';
import { createdSince, humanSize, table } from '../../store/display.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';
import { unknownFlag } from '../args.js';
import { HELP_FLAG, printHelp, type CommandHelp, type FlagSpec, type Flags } from '../help.js';
import { shortKey } from '../progress/format.js';

const USAGE = 'Usage: mybuild cache ls [--no-trunc] [--format table|json]\n       mybuild cache explain [--format table|json] IMAGE';

/** The explanation of one recorded step: `CACHED`, `MISS: reason`, or what kind of step it was. */
export function recordStepStatus(s: BuildRecordStep): string {
  if (s.index === 1 || /^FROM\b/i.test(s.instruction)) return 'base image';
  if (s.cached) return 'CACHED';
  if (s.key) return `MISS: ${s.reason ?? 'no reason recorded'}`;
  return 'config only (no cache lookup)';
}

const FORMAT_FLAG = { type: 'string', description: 'Output format: table (default) or json' } as const satisfies FlagSpec;
const LS_FLAGS = { format: FORMAT_FLAG, 'no-trunc': { type: 'boolean', description: "Don't truncate output" }, help: HELP_FLAG } as const satisfies Flags;
const EXPLAIN_FLAGS = { format: FORMAT_FLAG, help: HELP_FLAG } as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild cache',
  usage: 'COMMAND',
  summary: 'Show the build cache (ls) and why an image was built as it was (explain)',
  flags: { help: HELP_FLAG },
  subcommands: [
    { name: 'mybuild cache ls', usage: '[OPTIONS]', summary: 'List the build cache records, newest first', aliases: ['mybuild cache list'], flags: LS_FLAGS },
    { name: 'mybuild cache explain', usage: '[OPTIONS] IMAGE', summary: "Show every step of IMAGE's last build with hit or miss and the reason", flags: EXPLAIN_FLAGS },
  ],
};

export const main: CommandMain = async (argv: string[], ctx: CliContext) => {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    printHelp(ctx, HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'ls' || sub === 'list') return list(rest, ctx);
  if (sub === 'explain') return explain(rest, ctx);
  if (sub.startsWith('-')) throw unknownFlag('cache', sub, ['--help', '-h']);
  throw new UsageError(`cache: unknown subcommand "${sub}"`, { hint: USAGE });
};

function formatFlag(v: string | undefined): 'table' | 'json' {
  if (v === undefined || v === 'table') return 'table';
  if (v === 'json') return 'json';
  throw new UsageError(`--format must be table or json, got "${v}"`);
}

async function list(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('cache ls', USAGE, {
    args,
    options: LS_FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP.subcommands![0]);
  if (positionals.length) throw new UsageError(`cache ls takes no arguments, got: ${positionals.join(' ')}`, { hint: USAGE });
  const format = formatFlag(values.format);
  const store = await ImageStore.open(ctx.root);
  const records = (await store.cache.list()).sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.key.localeCompare(b.key));
  const createdBy = (r: (typeof records)[number]) => (typeof r.extra?.createdBy === 'string' ? r.extra.createdBy : '');
  if (format === 'json') {
    for (const r of records) {
      ctx.stdout.write(`${JSON.stringify({ key: r.key, createdAt: r.createdAt, size: r.layer?.size ?? 0, layer: r.layer?.digest ?? null, createdBy: createdBy(r) })}\n`);
    }
    return 0;
  }
  const trunc = !values['no-trunc'];
  const rows = [['KEY', 'CREATED', 'SIZE', 'CREATED BY']];
  for (const r of records) {
    const by = createdBy(r).replace(/\s+/g, ' ');
    rows.push([trunc ? shortKey(r.key).slice('sha256:'.length) : r.key, createdSince(r.createdAt), r.layer ? humanSize(r.layer.size) : '0B', trunc && by.length > 60 ? `${by.slice(0, 59)}…` : by]);
  }
  ctx.stdout.write(table(rows));
  return 0;
}

async function explain(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('cache explain', USAGE, {
    args,
    options: EXPLAIN_FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP.subcommands![1]);
  if (positionals.length !== 1) throw new UsageError(`cache explain requires exactly 1 argument (an image), got ${positionals.length}`, { hint: USAGE });
  const format = formatFlag(values.format);
  const store = await ImageStore.open(ctx.root);
  const img = await store.resolve(positionals[0]);
  const rec = await readBuildRecord(ctx.root, img.configDigest);
  if (format === 'json') {
    ctx.stdout.write(`${JSON.stringify(rec)}\n`);
    return 0;
  }
  const steps = [...rec.steps].sort((a, b) => a.step - b.step);
  const hits = steps.filter((s) => s.cached).length;
  const misses = steps.filter((s) => !s.cached && s.key).length;
  const out = [
    `Image ${rec.imageId}${rec.tags?.length ? ` (${rec.tags.join(', ')})` : ''}`,
    `Built ${rec.createdAt ? createdSince(rec.createdAt) : 'at an unknown time'} from ${rec.dockerfile ?? 'Dockerfile'}${rec.contextDir ? ` in ${rec.contextDir}` : ''}: ${steps.length} steps, ${hits} cached, ${misses} rebuilt`,
    '',
  ];
  ctx.stdout.write(`${out.join('\n')}\n`);
  const rows = [['STEP', 'INSTRUCTION', 'CACHE']];
  for (const s of steps) {
    const label = `[${s.stage} ${s.index}] ${s.instruction.replace(/\s+/g, ' ')}`;
    rows.push([`#${s.step}`, label.length > 50 ? `${label.slice(0, 49)}…` : label, recordStepStatus(s)]);
  }
  ctx.stdout.write(table(rows));
  return 0;
}
