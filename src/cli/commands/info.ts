/**
 * `mybuild info`: client facts (version, store root) and, with -H/MYBUILD_HOST, the daemon's
 * `GET /info` (server version, images, containers, root, kernel); both say whether steps run
 * rootless, the snapshotter (Storage Driver) and the default network.
 */
import type { CommandMain } from '../context.js';
import { parseCommandArgs } from '../args.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';
import { engineFor } from '../engine.js';
import { packageVersion } from '../../api/version.js';
import { formatDocument } from '../format/formatter.js';

export const FLAGS = {
  format: { type: 'string', short: 'f', description: "Format output using a custom template: 'json', or a Go template" },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild info',
  usage: '[OPTIONS]',
  summary: 'Display system-wide information (client and daemon with -H)',
  aliases: ['mybuild system info'],
  flags: FLAGS,
};

export const main: CommandMain = async (args, ctx) => {
  const { values } = parseCommandArgs('info', { args, options: FLAGS, allowPositionals: false });
  if (values.help) return printHelp(ctx, HELP);
  const client = { Version: packageVersion(), Context: ctx.host ? ctx.host : 'daemonless', Debug: ctx.debug };
  if (values.format) {
    // docker's info context: the server's fields at the top, the client's under ClientInfo
    const info = await engineFor(ctx).info();
    ctx.stdout.write(formatDocument(values.format, { ...info, ClientInfo: client }));
    return 0;
  }
  ctx.stdout.write(`Client:\n Version:    ${client.Version}\n Context:    ${client.Context}\n\nServer:\n`);
  const info = await engineFor(ctx).info();
  const line = (k: string, v: unknown): void => {
    if (v !== undefined) ctx.stdout.write(` ${`${k}:`.padEnd(20)}${String(v)}\n`);
  };
  line('Server Version', info.ServerVersion);
  line('Containers', info.Containers);
  line(' Running', info.ContainersRunning);
  line(' Stopped', info.ContainersStopped);
  line('Images', info.Images);
  line('Storage Driver', info.Driver);
  line('Rootless', info.Rootless);
  if (!ctx.host) line(' Note', ctx.env.MYBUILD_ROOTLESS_NOTE);
  line('Default Network', info.DefaultNetwork);
  line('Kernel Version', info.KernelVersion);
  line('Operating System', info.OperatingSystem);
  line('Architecture', info.Architecture);
  line('CPUs', info.NCPU);
  line('Root Dir', info.DockerRootDir);
  return 0;
};
