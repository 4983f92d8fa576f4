/**
 * `mybuild info`: client facts (version, store root) and, with -H/MYBUILD_HOST, the daemon's
 * `GET /info` (server version, images, containers, root, kernel); both say whether steps run
 * rootless, the snapshotter (Storage Driver) and the default network.
 */
import type { CommandMain } from '../context.js';
import { parseCommandArgs } from '../args.js';
import { engineFor } from '../engine.js';
import { packageVersion } from '../../api/version.js';

export const main: CommandMain = async (args, ctx) => {
  if (parseCommandArgs('info', { args, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values.help) return (ctx.stdout.write('Usage: mybuild info\n\nDisplay system-wide information (client and daemon with -H)\n'), 0);
  ctx.stdout.write(`Client:\n Version:    ${packageVersion()}\n Context:    ${ctx.host ? ctx.host : 'daemonless'}\n\nServer:\n`);
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
