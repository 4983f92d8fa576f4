/**
 * `mybuild ps [-a] [-q] [--no-trunc]`: lists containers (running ones; all with -a), newest
 * first, with Docker's columns CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS (the
 * published ports of a running container, as `127.0.0.1:8080->80/tcp`), NAMES. A container whose mybuild process died shows as
 * `Exited (255)`.
 */
import { ContainerManager, type Container } from '../../containers/manager.js';
import type { PublishedPort } from '../../runtime/usernet.js';

/** Docker's PORTS text: `127.0.0.1:8080->80/tcp, 0.0.0.0:53->53/udp`. */
export function publishedText(ports: PublishedPort[]): string {
  return ports.map((p) => `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}
import { UsageError } from '../../errors.js';
import { createdSince, humanDuration, table } from '../../store/display.js';
import type { CliContext, CommandMain } from '../context.js';
import { parseCommandArgs } from './images.js';

const USAGE = 'Usage: mybuild ps [-a] [-q] [--no-trunc]';

/** Docker's STATUS text: `Created`, `Up 5 seconds`, `Exited (0) 3 minutes ago`. */
export function statusText(c: Container, now = Date.now()): string {
  const s = c.state;
  if (s.status === 'created') return 'Created';
  if (s.status === 'running') return `Up ${humanDuration(Math.max(0, now - Date.parse(s.startedAt ?? c.config.created)))}`;
  return `Exited (${s.exitCode ?? 0}) ${createdSince(s.finishedAt, now)}`;
}

/** Docker's COMMAND column: the command joined by spaces, cut to 20 characters with "…", quoted. */
export function commandText(command: string[], trunc = true): string {
  let s = command.join(' ');
  if (trunc && [...s].length > 20) s = `${[...s].slice(0, 19).join('')}…`;
  return JSON.stringify(s);
}

export const main: CommandMain = async (args: string[], ctx: CliContext) => {
  const { values, positionals } = parseCommandArgs('ps', USAGE, {
    args,
    options: { all: { type: 'boolean', short: 'a' }, quiet: { type: 'boolean', short: 'q' }, 'no-trunc': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout.write(`${USAGE}\n\nList containers\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`"mybuild ps" accepts no arguments, got "${positionals[0]}"`, { hint: USAGE });
  if (ctx.host) return (await import('../../client/commands.js')).remotePs(ctx, { all: values.all, quiet: values.quiet, noTrunc: values['no-trunc'] });
  const mgr = await ContainerManager.open(ctx.root);
  const list = await mgr.list({ all: values.all });
  const full = values['no-trunc'] === true;
  if (values.quiet) {
    for (const c of list) ctx.stdout.write(`${full ? c.id : c.id.slice(0, 12)}\n`);
    return 0;
  }
  const now = Date.now();
  const portsText = (c: Container): string => (c.state.status !== 'running' ? '' : publishedText(c.config.publish ?? []));
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const c of list) {
    rows.push([full ? c.id : c.id.slice(0, 12), c.config.image, commandText(c.config.command, !full), createdSince(c.config.created, now), statusText(c, now), portsText(c), c.name]);
  }
  ctx.stdout.write(table(rows));
  return 0;
};
