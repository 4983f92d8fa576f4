/**
 * `mybuild ps [-a] [-q] [--no-trunc]`: lists containers (running ones; all with -a), newest
 * first, with Docker's columns CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS (the
 * published ports of a running container, as `127.0.0.1:8080->80/tcp`), NAMES. A container whose mybuild process died shows as
 * `Exited (255)`.
 */
import { commandText, publishedText } from '../../api/containers.js';
import { engineFor } from '../engine.js';
import { UsageError } from '../../errors.js';
import { createdSince } from '../../store/display.js';
import type { ContainerSummary } from '../../api/containers.js';
import { checkFormat, formatList, type ListFormat } from '../format/formatter.js';
import { asStruct } from '../format/funcs.js';
import { parseFilterFlags } from '../../api/filters.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  all: { type: 'boolean', short: 'a', description: 'Show all containers (default shows just running)' },
  filter: { type: 'string', short: 'f', multiple: true, arg: 'filter', description: "Filter output based on conditions provided (status=STATE, name=REGEXP, id=REGEXP, label=K[=V], ancestor=IMAGE, exited=CODE)" },
  format: { type: 'string', description: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template" },
  'no-trunc': { type: 'boolean', description: "Don't truncate output" },
  quiet: { type: 'boolean', short: 'q', description: 'Only display container IDs' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild ps',
  usage: '[OPTIONS]',
  summary: 'List containers',
  aliases: ['mybuild container ls', 'mybuild container list'],
  flags: FLAGS,
};

/** The usage line of errors' hints: the help's. */
const USAGE = `Usage: ${HELP.name} ${HELP.usage}`;

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('ps', USAGE, {
    args,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (positionals.length > 0) throw new UsageError(`"mybuild ps" accepts no arguments, got "${positionals[0]}"`, { hint: USAGE });
  checkFormat(values.format);
  const list = await engineFor(ctx).containers.list({ all: values.all, filters: parseFilterFlags(values.filter) });
  const trunc = values['no-trunc'] !== true;
  const now = Date.now();
  ctx.stdout.write(formatList(values.format, list.map((c) => containerContext(c, { trunc, now })), CONTAINER_FORMAT, { quiet: values.quiet }));
  return 0;
};

/** Go's time.Time String() of an RFC 3339 time: `2024-01-02 03:04:05 +0000 UTC`. */
function goTime(t: string): string {
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? '' : `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

/** docker's container formatter context (cli/command/formatter/container.go): the fields --format sees. */
export function containerContext(c: ContainerSummary, opts: { trunc: boolean; now: number }): Record<string, unknown> {
  const labels = c.labels ?? {};
  const ellipsis = (s: string, n: number) => ([...s].length > n ? `${[...s].slice(0, n - 1).join('')}…` : s);
  return asStruct({
    Command: commandText(c.command, opts.trunc),
    CreatedAt: goTime(c.created),
    ID: opts.trunc ? c.id.slice(0, 12) : c.id,
    Image: c.image,
    Label: (name: unknown) => labels[String(name)] ?? '',
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    LocalVolumes: '0',
    Mounts: (c.mounts ?? []).map((m) => (opts.trunc ? ellipsis(m, 15) : m)).join(','),
    Names: c.name,
    Networks: (c.networks ?? []).join(','),
    Ports: publishedText(c.ports ?? []),
    RunningFor: createdSince(c.created, opts.now),
    Size: '0B',
    State: c.state,
    Status: c.status,
  });
}

export const CONTAINER_FORMAT: ListFormat = {
  table: '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}',
  headers: {
    Command: 'COMMAND',
    CreatedAt: 'CREATED AT',
    ID: 'CONTAINER ID',
    Image: 'IMAGE',
    Labels: 'LABELS',
    LocalVolumes: 'LOCAL VOLUMES',
    Mounts: 'MOUNTS',
    Names: 'NAMES',
    Networks: 'NETWORKS',
    Ports: 'PORTS',
    RunningFor: 'CREATED',
    Size: 'SIZE',
    State: 'STATE',
    Status: 'STATUS',
  },
};

